//! What "see and watch" reads and writes: read-only queries over the documented views,
//! free-text search, findings, the notification outbox and the HR list.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::account::AccountId;

/// Bounds of one read-only query: a runaway query is stopped, a huge result is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// The query is cancelled when it runs longer.
    pub timeout: Duration,
    /// At most this many rows are returned; `QueryResult::truncated` says when more existed.
    pub max_rows: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            timeout: Duration::from_secs(10),
            max_rows: 10_000,
        }
    }
}

/// One read-only SQL statement over the documented views.
#[derive(Debug, Clone, Default)]
pub struct QueryRequest {
    /// The SQL (one statement).
    pub sql: String,
    /// Named parameters (`:name` in the SQL) and their values; parameters the SQL does not
    /// use are ignored, so rules can share one set.
    pub params: Vec<(String, serde_json::Value)>,
    /// When set, every view shows only this account's rows (rules, account-scoped tokens).
    pub account: Option<AccountId>,
    /// Time and row limits.
    pub limits: QueryLimits,
}

/// A query's answer: column names and rows of JSON values (integers, reals, text, null).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// More rows existed than the row limit allowed.
    pub truncated: bool,
}

/// One free-text search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// Account name.
    pub account: String,
    /// `user`, `group` or `folder`.
    pub kind: String,
    /// The thing's key: email, group name or folder id.
    pub key: String,
    /// Full name, group name or folder name.
    pub title: String,
    /// A user's status; a folder's or group's member count.
    pub detail: String,
    /// Relevance, lower is better, for callers that merge results: bm25 on SQLite, minus the
    /// tier on PostgreSQL (docs/postgres.md, *Search*).
    pub rank: f64,
}

/// A finding as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingRow {
    /// Store id.
    pub id: i64,
    /// Account name.
    pub account: String,
    /// Rule name.
    pub rule: String,
    /// Severity (`critical`, `high`, `medium`, `low`, `info`).
    pub severity: String,
    /// The row's identity within the rule (e.g. an email).
    pub key: String,
    /// The rule's row, column name → value.
    pub row: serde_json::Value,
    /// When the rule first matched the row.
    pub opened_at: DateTime<Utc>,
    /// The last evaluation that still matched it.
    pub last_seen_at: DateTime<Utc>,
    /// When it stopped matching; `None` while open.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A filter for listing findings.
#[derive(Debug, Clone, Default)]
pub struct FindingQuery {
    /// Only this account (by name).
    pub account: Option<String>,
    /// Only this rule.
    pub rule: Option<String>,
    /// Only open findings.
    pub open_only: bool,
    /// Only findings older than the one with this id (the next page).
    pub before: Option<i64>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// A finding to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    /// Rule name.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// The row's identity within the rule.
    pub key: String,
    /// The row.
    pub row: serde_json::Value,
}

/// The outcome of evaluating rules on one account, written in one transaction with the
/// notifications it causes.
#[derive(Debug, Clone)]
pub struct FindingsWrite {
    /// The account evaluated.
    pub account: AccountId,
    /// When.
    pub now: DateTime<Utc>,
    /// Rows that match for the first time.
    pub open: Vec<NewFinding>,
    /// Open findings that still match (id, the row as it is now).
    pub still_open: Vec<(i64, serde_json::Value)>,
    /// Open findings that no longer match.
    pub resolve: Vec<i64>,
    /// Notifications about the above.
    pub notifications: Vec<NewNotification>,
}

/// A notification to deliver through a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// A unique id the receiver sees, to drop duplicates (deliveries are at least once).
    pub delivery_id: String,
    /// The configured channel's name.
    pub channel: String,
    /// What it announces (`finding.opened`, `user.admin_granted`…).
    pub event: String,
    /// The account it is about.
    pub account: Option<AccountId>,
    /// The JSON body's `data`.
    pub payload: serde_json::Value,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver accepted it.
    Delivered,
    /// Every attempt failed; kept until retried by hand.
    Dead,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "dead" => Some(DeliveryState::Dead),
            _ => None,
        }
    }
}

/// A notification in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Store id (what `notifications retry` takes).
    pub id: i64,
    /// The id the receiver sees.
    pub delivery_id: String,
    /// Channel name.
    pub channel: String,
    /// What it announces.
    pub event: String,
    /// Account name, if about one.
    pub account: Option<String>,
    /// The body's `data`.
    pub payload: serde_json::Value,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (pending) or was last due.
    pub next_attempt_at: DateTime<Utc>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed; try again at `retry_at`, or give up (dead) when `None`.
    Failed {
        /// What went wrong.
        error: String,
        /// The next attempt, if any.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// A person from an HR export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HrPerson {
    /// Work email (lowercase).
    pub email: String,
    /// Name, if given.
    pub name: Option<String>,
    /// `active` or `terminated`.
    pub status: String,
    /// Department, if given.
    pub department: Option<String>,
}
