//! The client against real HTTP on loopback: the emulator for behaviour, a canned server for
//! the recorded fixtures. One test binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod errors;
mod faults;
mod fixtures;
mod helpers;
mod paging;
mod reads;
mod secrets;
mod writes;
