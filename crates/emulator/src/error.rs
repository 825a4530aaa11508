//! The crate's error type: what a control call or the server start-up can refuse.

use std::net::SocketAddr;

/// Why a control-surface call or the server start-up failed.
///
/// Wire-protocol failures are never errors here: the emulator answers them the way LastPass
/// does (HTTP 200 with a `FAIL` body or the XML auth error), because that is what clients must
/// learn to handle.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The email is not a member of the company (nor, where that counts, a pending invitation).
    #[error("no user {0} in the company")]
    UnknownUser(String),
    /// No shared folder has this name or id.
    #[error("no shared folder named {0}")]
    UnknownFolder(String),
    /// The user is not in the shared folder's member list.
    #[error("{email} is not a member of shared folder {folder}")]
    NotAFolderMember {
        /// The folder's name or id as given.
        folder: String,
        /// The user's email.
        email: String,
    },
    /// A disabled user cannot log in.
    #[error("user {0} is disabled")]
    UserDisabled(String),
    /// The address is already a company member, so it cannot be invited.
    #[error("{0} is already a member of the company")]
    AlreadyMember(String),
    /// The text is not an email address LastPass would accept.
    #[error("{0} is not a valid email address")]
    InvalidEmail(String),
    /// Master password strength is a percentage.
    #[error("master password strength {0} is out of range 0..=100")]
    InvalidStrength(u8),
    /// The listening socket could not be bound.
    #[error("cannot bind the emulator to {addr}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}
