//! Sync against the emulator over real HTTP into a real store: every test runs against
//! SQLite and PostgreSQL (see `lpgate_store_testkit::both!`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod act;
mod changes;
mod differential;
mod failures;
mod helpers;
mod history;
mod lifecycle;
mod reads;
mod watch;
