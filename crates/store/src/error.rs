//! The store's error type: small on purpose (not found, conflict, everything else).

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{what} {name:?} not found")]
    NotFound {
        /// What kind of thing ("account", "sync run").
        what: &'static str,
        /// Its name or id.
        name: String,
    },
    /// A uniqueness rule was broken ("an account named X exists").
    #[error("{0}")]
    Conflict(String),
    /// Another process holds what was asked for.
    #[error("{0}")]
    Busy(String),
    /// A read-only query was refused (it tried to write, attach, read an internal table…)
    /// or is not valid SQL; the message says which.
    #[error("query refused: {0}")]
    QueryRefused(String),
    /// A read-only query ran past its time limit and was cancelled.
    #[error(
        "query cancelled: it ran longer than the {secs:.1} s limit (set query.timeout_secs to allow more)"
    )]
    QueryTimeout {
        /// The limit, in seconds.
        secs: f64,
    },
    /// The database itself failed; the message names the operation.
    #[error("store: {context}: {message}")]
    Backend {
        /// The operation that failed.
        context: &'static str,
        /// The backend's message.
        message: String,
    },
}

/// Result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;
