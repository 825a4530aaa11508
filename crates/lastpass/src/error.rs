//! What can go wrong talking to LastPass, each case saying which command failed and what the
//! admin can do about it. No variant ever carries the provisioning hash or a request body.

use std::time::Duration;

/// Errors of the Enterprise API client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// LastPass answered `<lastpass rc="Authorization Error"/>`.
    #[error(
        "{command}: the CID or provisioning hash was rejected (LastPass answered \"Authorization Error\"); \
         check the account number and, if the hash was reset in the Admin Console (Advanced → Enterprise API), \
         store the new one"
    )]
    Unauthorized {
        /// The command that was refused.
        command: String,
    },
    /// LastPass answered with an XML `rc` other than an authorization error.
    #[error("{command}: LastPass answered with the error \"{rc}\"")]
    ApiCode {
        /// The command that failed.
        command: String,
        /// The `rc` attribute, shown as LastPass sent it.
        rc: String,
    },
    /// LastPass processed the request and refused it (`FAIL`, or errors without a status).
    #[error("{command}: LastPass refused the request: {}", errors.join("; "))]
    Rejected {
        /// The command that was refused.
        command: String,
        /// The messages LastPass gave, one per problem (often one per user).
        errors: Vec<String>,
    },
    /// The reply was neither the expected JSON nor a LastPass XML error.
    #[error("{command}: could not read LastPass's reply ({reason}); it began: {snippet:?}")]
    Decode {
        /// The command whose reply was unreadable.
        command: String,
        /// What the parser said.
        reason: String,
        /// The first 200 bytes of the body (with the provisioning hash masked should it appear).
        snippet: String,
    },
    /// An HTTP status other than 200 after all retries.
    #[error(
        "{command}: LastPass answered HTTP {status} (after {attempts} attempt(s)); try again later"
    )]
    Http {
        /// The command that failed.
        command: String,
        /// The last HTTP status seen.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// HTTP 429 after all retries, or a `Retry-After` longer than the client will wait.
    #[error(
        "{command}: LastPass is rate limiting this account (HTTP 429 after {attempts} attempt(s){}); wait before polling again",
        retry_after.map(|d| format!(", asked to wait {}s", d.as_secs())).unwrap_or_default()
    )]
    RateLimited {
        /// The command that was throttled.
        command: String,
        /// Attempts made.
        attempts: u32,
        /// What LastPass asked for, if it said.
        retry_after: Option<Duration>,
    },
    /// No complete reply within the request timeout, after all retries.
    #[error("{command}: no reply from LastPass within {}s (after {attempts} attempt(s))", timeout.as_secs_f32())]
    Timeout {
        /// The command that timed out.
        command: String,
        /// Attempts made.
        attempts: u32,
        /// The per-request timeout in force.
        timeout: Duration,
    },
    /// The connection failed or broke (refused, reset, cut mid-body).
    #[error(
        "{command}: could not talk to LastPass at {endpoint} (after {attempts} attempt(s)): {reason}"
    )]
    Transport {
        /// The command that failed.
        command: String,
        /// The endpoint URL (it never contains credentials: they travel in the body).
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The underlying cause, as text.
        reason: String,
    },
    /// A paged listing could not be completed; returning fewer users would look like departures.
    #[error(
        "{command}: the listing is incomplete ({got} of {expected} users after paging); \
         nothing was returned so that no one is mistaken for a departure — try again"
    )]
    Incomplete {
        /// The paged command.
        command: String,
        /// The total LastPass reported.
        expected: u64,
        /// Distinct users actually received.
        got: u64,
    },
    /// A value given to the client is unusable; nothing was sent.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidInput {
        /// The field at fault.
        field: &'static str,
        /// The value given (`***` for secrets).
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("could not set up the HTTP client: {0}")]
    Setup(String),
}

impl Error {
    /// The command this error concerns, when there is one.
    pub fn command(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { command }
            | Error::ApiCode { command, .. }
            | Error::Rejected { command, .. }
            | Error::Decode { command, .. }
            | Error::Http { command, .. }
            | Error::RateLimited { command, .. }
            | Error::Timeout { command, .. }
            | Error::Transport { command, .. }
            | Error::Incomplete { command, .. } => Some(command),
            Error::InvalidInput { .. } | Error::Setup(_) => None,
        }
    }

    /// The same error with the secret masked in every text LastPass or the network supplied
    /// (an echoing proxy must not make the hash reach a log through an error).
    pub(crate) fn masked(self, secret: &str) -> Self {
        use crate::transport::mask;
        match self {
            Error::ApiCode { command, rc } => Error::ApiCode {
                command,
                rc: mask(&rc, secret),
            },
            Error::Rejected { command, errors } => Error::Rejected {
                command,
                errors: errors.iter().map(|e| mask(e, secret)).collect(),
            },
            Error::Decode {
                command,
                reason,
                snippet,
            } => Error::Decode {
                command,
                reason: mask(&reason, secret),
                snippet: mask(&snippet, secret),
            },
            Error::Transport {
                command,
                endpoint,
                attempts,
                reason,
            } => Error::Transport {
                command,
                endpoint,
                attempts,
                reason: mask(&reason, secret),
            },
            other => other,
        }
    }

    /// True when the same call may succeed later without any change by the admin.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Http { .. }
                | Error::RateLimited { .. }
                | Error::Timeout { .. }
                | Error::Transport { .. }
                | Error::Incomplete { .. }
                | Error::Decode { .. }
        )
    }
}
