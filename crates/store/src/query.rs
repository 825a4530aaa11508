//! What listing commands read.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

/// A filter for listing users.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Only this account (by name).
    pub account: Option<String>,
    /// Only this status (`active`, `suspended`, `staged`, `deprovisioned`).
    pub status: Option<String>,
    /// Only admins.
    pub admin_only: bool,
    /// Only members of this group.
    pub group: Option<String>,
    /// The directory as it was at this instant (from history) instead of now.
    pub as_of: Option<DateTime<Utc>>,
}

/// One page of users for the API: a filter, an optional text match, and the keyset position
/// to continue after. Keyset (not offset) paging, so rows a sync adds or removes between two
/// pages never shift the rest: a row present throughout is returned exactly once.
#[derive(Debug, Clone, Default)]
pub struct UserPageQuery {
    /// Only this account (by name).
    pub account: Option<String>,
    /// Only this status (`active`, `suspended`, `staged`, `deprovisioned`).
    pub status: Option<String>,
    /// Only admins (`Some(true)`) or only non-admins (`Some(false)`).
    pub admin: Option<bool>,
    /// Only members of this group.
    pub group: Option<String>,
    /// Only users whose email or full name contains this text (case-insensitive): exact, but
    /// a scan of the account's users when few match.
    pub text: Option<String>,
    /// Only users with, for every word of this text, a word of their full name or address
    /// (before the `@`) starting with it — the free-text index, so it answers in milliseconds
    /// at any size (search-as-you-type); a text without letters or digits matches no one.
    pub words: Option<String>,
    /// Only users whose current version began (their last change) at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Continue after this `(account name, email)` key, exclusive (the default order only).
    pub after: Option<(String, String)>,
    /// Another order than (account name, email), and descending when `true`: the matching
    /// users are sorted (ties by account and email) and `offset` of them skipped — for people
    /// browsing a table; programs page by the keyset, whose pages never shift.
    pub sort: Option<(UserOrder, bool)>,
    /// With `sort`: rows skipped.
    pub offset: usize,
    /// At most this many rows.
    pub limit: usize,
}

/// What a user list can be sorted by, besides its (account, email) key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    /// Email alone, across accounts.
    Email,
    /// Full name, ignoring case.
    Name,
    /// Last login; never logged in sorts first.
    LastLogin,
    /// Status name.
    Status,
    /// Admins first when ascending.
    Role,
}

impl UserOrder {
    /// The stable lowercase name, as query strings carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            UserOrder::Email => "email",
            UserOrder::Name => "name",
            UserOrder::LastLogin => "last_login",
            UserOrder::Status => "status",
            UserOrder::Role => "role",
        }
    }

    /// Every order, for forms and validation messages.
    pub const ALL: [UserOrder; 5] = [
        UserOrder::Email,
        UserOrder::Name,
        UserOrder::LastLogin,
        UserOrder::Status,
        UserOrder::Role,
    ];

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A user's place in the (account name, email) order of keyset pages: enough to page without
/// reading the whole user, whose full row a caller may already hold (see
/// [`crate::Store::data_version`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKey {
    /// The store's row id of the user.
    pub id: i64,
    /// Account name.
    pub account: String,
    /// Email.
    pub email: String,
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRow {
    /// The store's row id of the user: stable for as long as the account is linked.
    pub id: i64,
    /// Account name.
    pub account: String,
    /// Email.
    pub email: String,
    /// LastPass id.
    pub lastpass_id: Option<String>,
    /// Full name.
    pub fullname: String,
    /// Status name.
    pub status: String,
    /// `admin` or `user`.
    pub role: String,
    /// Last login (UTC).
    pub last_login: Option<DateTime<Utc>>,
    /// MFA method.
    pub multifactor: Option<String>,
    /// Master password strength.
    pub mp_strength: Option<i64>,
    /// Security score.
    pub total_score: Option<f64>,
    /// Password change required.
    pub password_reset_required: bool,
    /// Groups, comma separated.
    pub groups: Vec<String>,
    /// First seen by lpgate.
    pub first_seen: DateTime<Utc>,
    /// Last seen present by a successful sync.
    pub last_seen: DateTime<Utc>,
}

/// A group as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupRow {
    /// Account name.
    pub account: String,
    /// Stable id derived from account and name.
    pub id: String,
    /// Name.
    pub name: String,
    /// Current members.
    pub members: i64,
}

/// A shared folder as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FolderRow {
    /// Account name.
    pub account: String,
    /// LastPass folder id.
    pub id: String,
    /// Name.
    pub name: String,
    /// In the trash.
    pub deleted: bool,
    /// Score.
    pub score: Option<f64>,
    /// Members.
    pub members: i64,
    /// Members who can administer it.
    pub administrators: i64,
}

/// A change as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeRow {
    /// Store id: newer changes have larger ids (the position a page continues from).
    pub id: i64,
    /// Account name.
    pub account: String,
    /// When the sync that saw it finished.
    pub at: DateTime<Utc>,
    /// The run.
    pub run_id: i64,
    /// Kind name.
    pub kind: String,
    /// User, group or folder.
    pub subject: String,
    /// Other party.
    pub related: Option<String>,
    /// Before.
    pub before: Option<String>,
    /// After.
    pub after: Option<String>,
}

/// An event as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRow {
    /// Store id (with `time`, the position a page continues from).
    pub id: i64,
    /// Account name.
    pub account: String,
    /// UTC time.
    pub time: DateTime<Utc>,
    /// Wall time as LastPass sent it.
    pub time_local: NaiveDateTime,
    /// Actor.
    pub username: String,
    /// IP.
    pub ip_address: String,
    /// Action.
    pub action: String,
    /// Detail.
    pub data: String,
}
