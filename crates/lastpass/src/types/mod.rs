//! Request and reply types, one module per family of commands, shaped exactly like the wire.

pub mod events;
pub mod folders;
pub mod misc;
pub mod reply;
pub mod users;
pub mod writes;
