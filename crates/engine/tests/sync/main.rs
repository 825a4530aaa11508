//! Sync against the emulator over real HTTP into a real SQLite file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod act;
mod changes;
mod failures;
mod helpers;
mod history;
mod lifecycle;
mod reads;
mod watch;
