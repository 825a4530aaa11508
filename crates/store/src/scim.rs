//! What the SCIM server reads and keeps: users and groups as SCIM resources (LastPass's state
//! plus what only lpgate keeps: `externalId`, the attributes an identity provider sent, times,
//! groups that have no members yet), and a user filter each backend compiles into its own
//! query language.
//!
//! The SCIM wire format stays in the server; these are plain rows.

use chrono::{DateTime, Utc};

use crate::account::AccountId;

/// A filter over an account's current users, in terms the store can index. The SCIM server
/// compiles what it can of a SCIM `filter=` into this (the rest it checks itself), so
/// `userName eq "x"` is one index lookup rather than a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFilter {
    /// Every user.
    All,
    /// All of these.
    And(Vec<UserFilter>),
    /// Any of these.
    Or(Vec<UserFilter>),
    /// Not this.
    Not(Box<UserFilter>),
    /// The email (compared lowercase: give the value lowercase).
    Email(TextOp, String),
    /// The `externalId` an identity provider gave (compared exactly).
    ExternalId(TextOp, String),
    /// Users with an `externalId`.
    HasExternalId,
    /// One user by row id.
    Id(i64),
    /// Not suspended (`true`) or suspended (`false`).
    Active(bool),
}

/// How a text attribute is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// Equal.
    Eq,
    /// Not equal (a user without the attribute matches).
    Ne,
    /// Contains.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
    /// Greater than (text order).
    Gt,
    /// Greater or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less or equal.
    Le,
}

/// The orders the store can sort SCIM users in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    /// By row id (the SCIM `id`): stable, the default.
    #[default]
    Id,
    /// By email (`userName`).
    Email,
}

/// One request for SCIM users of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserQuery {
    /// The account.
    pub account: AccountId,
    /// Which users.
    pub filter: UserFilter,
    /// In what order.
    pub sort: UserSort,
    /// Reversed.
    pub descending: bool,
    /// Skip this many (SCIM `startIndex` - 1).
    pub offset: usize,
    /// At most this many; `None` for all.
    pub limit: Option<usize>,
}

/// A page of SCIM users and how many matched in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserPage {
    /// Users matching the filter, before paging.
    pub total: usize,
    /// This page.
    pub users: Vec<ScimUserRow>,
}

/// A current (not deprovisioned) user with what SCIM shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserRow {
    /// Row id: the SCIM `id`.
    pub id: i64,
    /// Email: the SCIM `userName`.
    pub email: String,
    /// Full name.
    pub fullname: String,
    /// Derived status (`active`, `staged`, `suspended`).
    pub status: String,
    /// Company admin.
    pub admin: bool,
    /// Suspended in LastPass.
    pub disabled: bool,
    /// Duo username.
    pub duo_username: Option<String>,
    /// Last login (UTC).
    pub last_login: Option<DateTime<Utc>>,
    /// When lpgate first saw the user.
    pub first_seen: DateTime<Utc>,
    /// When the current version of the user began (their last change seen).
    pub valid_from: DateTime<Utc>,
    /// Groups: (group id, name), by name.
    pub groups: Vec<(String, String)>,
    /// What lpgate keeps for SCIM, once the user was created or linked through SCIM.
    pub state: Option<ScimUserState>,
}

/// What lpgate keeps about a user for SCIM (LastPass has no place for it).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUserState {
    /// Row id of the user.
    pub user_id: i64,
    /// The identity provider's id.
    pub external_id: Option<String>,
    /// The attributes last written by the identity provider (a JSON object), so what LastPass
    /// cannot hold (title, phone numbers, enterprise attributes…) reads back as written.
    pub document: String,
    /// Created or linked through SCIM.
    pub created: DateTime<Utc>,
    /// Last written through SCIM.
    pub last_modified: DateTime<Utc>,
}

/// A group as SCIM shows it: a LastPass group, or one created through SCIM that has no
/// member yet (LastPass has no group without members).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroupRow {
    /// Stable id derived from account and name.
    pub id: String,
    /// Name: the SCIM `displayName`.
    pub name: String,
    /// The identity provider's id.
    pub external_id: Option<String>,
    /// First seen, or created through SCIM.
    pub created: DateTime<Utc>,
    /// Last written through SCIM, or `created`.
    pub last_modified: DateTime<Utc>,
    /// Members (user row id, email), by email; `None` when not asked for.
    pub members: Option<Vec<(i64, String)>>,
    /// Whether LastPass has it (it has members there).
    pub in_lastpass: bool,
}

/// A group's SCIM record to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScimGroup {
    /// The account.
    pub account: AccountId,
    /// Name.
    pub name: String,
    /// The identity provider's id.
    pub external_id: Option<String>,
    /// Now.
    pub now: DateTime<Utc>,
}
