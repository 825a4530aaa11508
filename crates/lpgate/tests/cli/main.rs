//! The `lpgate` binary as scripts and people use it: real processes, a real data directory,
//! the emulator on loopback.

mod accounts;
mod crash;
mod helpers;
mod listing;
