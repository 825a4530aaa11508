//! Accounts: the LastPass business accounts lpgate knows.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The store's id of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AccountId(pub i64);

/// Where an account's Enterprise API lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AccountEndpoint {
    /// `us` or `eu`.
    Region(String),
    /// Any base URL (the emulator, a proxy).
    Url(String),
}

/// An account to add.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Unique, human name (`acme`, `client-42`).
    pub name: String,
    /// Company ID.
    pub cid: u64,
    /// Region or URL.
    pub endpoint: AccountEndpoint,
    /// The provisioning hash, sealed (encrypted) by the caller; the store never sees it clear.
    pub provhash_sealed: Vec<u8>,
    /// IANA zone LastPass times are read in.
    pub time_zone: String,
    /// Seconds between scheduled syncs.
    pub sync_interval_secs: i64,
    /// When it was added.
    pub now: DateTime<Utc>,
}

/// An account as stored.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountRow {
    /// Store id.
    // The API shows an account's name as its id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: AccountId,
    /// Unique name.
    pub name: String,
    /// Company ID.
    pub cid: u64,
    /// Region or URL.
    pub endpoint: AccountEndpoint,
    /// Sealed provisioning hash (never serialized).
    #[serde(skip)]
    pub provhash_sealed: Vec<u8>,
    /// Whether scheduled and `--all` syncs include it.
    pub enabled: bool,
    /// IANA zone.
    pub time_zone: String,
    /// Seconds between scheduled syncs.
    pub sync_interval_secs: i64,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When the last successful sync finished.
    pub last_synced_at: Option<DateTime<Utc>>,
}
