//! lpgate's engine: the work between LastPass and the store.
//!
//! - [`sync`]: one sync run of one account — fetch everything, normalize, compare with the
//!   stored snapshot by fingerprint, write the new snapshot, history and change rows in one
//!   transaction. A failed or partial poll writes nothing but a failed run.
//! - [`act`]: plans decided against the store, held over safety limits, applied in
//!   batches with every outcome and audit entry recorded; [`refresh`] re-reads the users.
//! - [`rules`]: SQL rules over the documented views; findings that open and resolve.
//! - [`notify`]: which channels hear about which changes and findings.
//! - [`deliver`]: delivering queued notifications (signed webhooks, Slack) from the outbox,
//!   at least once, with retries over hours and a dead-letter state.
//! - [`secret`]: sealing provisioning hashes with the installation's master key.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod act;
pub mod automate;
pub mod deliver;
pub mod import;
pub mod normalize;
pub mod notify;
pub mod refresh;
pub mod rules;
pub mod secret;
pub mod sync;
pub mod token;

pub use secret::{MasterKey, SecretError};
pub use sync::{SyncError, SyncOptions, SyncReport, SyncStage, sync_account};
pub use token::{TokenKey, generate_token};
