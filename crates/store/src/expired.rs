//! Master passwords LastPass reports expired (`expiredmasterpwlist`): a list read in full at
//! each sync and replaced whole, so it always says what LastPass said at its last read.

use chrono::{DateTime, NaiveDateTime, Utc};

/// One user whose master password has expired under the account's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredPassword {
    /// LastPass user id.
    pub lastpass_id: String,
    /// Email (lowercase).
    pub email: String,
    /// When the master password was last changed, as LastPass printed it (account zone).
    pub last_pw_change_local: Option<NaiveDateTime>,
    /// The same instant in UTC.
    pub last_pw_change_at: Option<DateTime<Utc>>,
}
