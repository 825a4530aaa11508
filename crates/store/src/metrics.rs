//! What `GET /metrics` reports about the store: counts the monitoring system scrapes.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Upper bounds (seconds) of the sync duration histogram's buckets; `+Inf` is implied.
pub const SYNC_DURATION_BUCKETS: &[f64] = &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// One labelled count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelledCount {
    /// Account name (empty for installation-wide counts).
    pub account: String,
    /// The label's value (an outcome, a status, a severity, a state).
    pub label: String,
    /// How many.
    pub count: i64,
}

/// The newest finished sync run of an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastSync {
    /// Account name.
    pub account: String,
    /// Its outcome.
    pub outcome: String,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
}

/// Durations of an account's successful syncs, bucketed by [`SYNC_DURATION_BUCKETS`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncHistogram {
    /// Account name.
    pub account: String,
    /// Cumulative counts, one per bound of [`SYNC_DURATION_BUCKETS`].
    pub buckets: Vec<u64>,
    /// Number of runs.
    pub count: u64,
    /// Sum of their durations, in seconds.
    pub sum: f64,
}

/// Everything the store contributes to `/metrics`, read in one call.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// Sync runs by account and outcome.
    pub runs: Vec<LabelledCount>,
    /// The newest finished run per account.
    pub last_sync: Vec<LastSync>,
    /// Current users by account and status.
    pub users: Vec<LabelledCount>,
    /// Open findings by account and severity.
    pub open_findings: Vec<LabelledCount>,
    /// Notifications in the outbox by state (installation-wide: `account` is empty).
    pub outbox: Vec<LabelledCount>,
    /// Successful sync durations per account.
    pub sync_durations: Vec<SyncHistogram>,
}
