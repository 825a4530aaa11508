//! Sync against the emulator over real HTTP into a real SQLite file.

mod changes;
mod failures;
mod helpers;
mod history;
mod lifecycle;
