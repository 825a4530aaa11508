//! Notification delivery from the SQLite outbox to real HTTP receivers on loopback: signed
//! webhooks, Slack messages, retries over (driven) time, dead letters, restarts and
//! duplicate delivery ids.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod failures;
mod helpers;
mod restart;
mod routing;
mod webhook;
