//! lpgate's normalized model of LastPass business accounts.
//!
//! Pure: no I/O, no async, no clock reads — time is passed in. Everything that decides what
//! a LastPass user *is* (status, role) and what changed between two polls lives here, so the
//! sync engine, the REST API, SCIM and the reports all agree.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod audit;
pub mod change;
pub mod directory;
pub mod error;
pub mod fingerprint;
pub mod plan;
pub mod status;
pub mod zone;

pub use change::{Change, ChangeKind, diff_folder, diff_groups, diff_user};
pub use directory::{FolderMemberRecord, FolderRecord, UserRecord, normalize_email};
pub use error::DomainError;
pub use plan::{Action, ActionKind, ActionParams, Current, Decision, SafetyLimits, decide};
pub use status::{AccountStatus, LastPassFacts, Role};
pub use zone::AccountZone;
