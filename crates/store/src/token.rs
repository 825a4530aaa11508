//! API tokens: who may call the REST API, with which scope, over which account. The store
//! keeps only a keyed hash of each token (the caller computes it), never the token.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::account::AccountId;

/// What a token may do. `Read < Write < Admin`; `Scim` is separate (SCIM endpoints only), so
/// an identity provider's token cannot read the unified API and an admin's cannot be pasted
/// into one by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// GET endpoints.
    Read,
    /// Reads plus plans and other writes.
    Write,
    /// Everything, including account management.
    Admin,
    /// The SCIM server only.
    Scim,
}

impl TokenScope {
    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
            TokenScope::Admin => "admin",
            TokenScope::Scim => "scim",
        }
    }

    /// Parses a name; `None` for anything else, so callers can name the bad value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            "admin" => Some(TokenScope::Admin),
            "scim" => Some(TokenScope::Scim),
            _ => None,
        }
    }

    /// Whether a token of this scope may do what `needed` requires: the ladder
    /// read < write < admin, and scim only for scim.
    pub fn allows(self, needed: TokenScope) -> bool {
        fn rank(s: TokenScope) -> Option<u8> {
            match s {
                TokenScope::Read => Some(0),
                TokenScope::Write => Some(1),
                TokenScope::Admin => Some(2),
                TokenScope::Scim => None,
            }
        }
        match (rank(self), rank(needed)) {
            (Some(have), Some(need)) => have >= need,
            _ => self == needed,
        }
    }
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Unique name among tokens not revoked (`ci`, `msp-client-42`).
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// When set, the token sees only this account (by name; must exist).
    pub account: Option<String>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// The keyed hash of the token (hex); the token itself never reaches the store.
    pub hash: String,
    /// When it was created.
    pub now: DateTime<Utc>,
}

/// A token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRow {
    /// Store id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Scope.
    pub scope: TokenScope,
    /// The account it is limited to, by id (`None`: every account).
    #[serde(skip)]
    pub account_id: Option<AccountId>,
    /// That account's name; `None` with an `account_id` means the account was removed, and
    /// the token then sees nothing.
    pub account: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful use (updated at most about once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    /// Whether the token may be used at `now`: not revoked, not expired, and its account (if
    /// any) still exists.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|e| e > now)
            && (self.account_id.is_none() || self.account.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenScope::*;

    #[test]
    fn scope_ladder() {
        assert!(Admin.allows(Read) && Admin.allows(Write) && Admin.allows(Admin));
        assert!(Write.allows(Read) && !Write.allows(Admin));
        assert!(!Read.allows(Write));
        assert!(!Scim.allows(Read) && !Admin.allows(Scim) && Scim.allows(Scim));
    }
}
