//! The `lpgate` binary as scripts and people use it: real processes, a real data directory,
//! the emulator on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod act;
mod config;
mod crash;
mod dashboard;
mod dashboard_browser;
mod demo;
mod helpers;
mod hostile;
mod invariants;
mod listing;
mod notifications;
mod openapi;
mod report;
mod schedule;
mod scim;
mod scim_quirks;
mod secrets;
mod serve;
mod serve_metrics;
mod serve_reads;
mod serve_write;
mod soak;
mod store;
mod tokens;
mod watch;
