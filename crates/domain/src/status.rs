//! Account status and role, derived exactly as in section 7 of the API spec.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The normalized lifecycle state of a LastPass user.
///
/// LastPass has no status field; it is derived from `disabled`, `neverloggedin`, the
/// `invited` list and whether a complete poll still returns the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountStatus {
    /// Not disabled and has logged in at least once.
    Active,
    /// Disabled (deactivated): login blocked, vault kept.
    Suspended,
    /// Created or invited but never logged in.
    Staged,
    /// Seen before and absent from a complete, successful poll.
    Deprovisioned,
}

/// The LastPass facts status derivation needs about one user in one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LastPassFacts {
    /// `disabled` from getuserdata.
    pub disabled: bool,
    /// `neverloggedin` from getuserdata.
    pub never_logged_in: bool,
    /// Listed in `invited` without (or besides) a user record.
    pub invited_only: bool,
    /// Returned by the poll at all.
    pub present: bool,
}

impl AccountStatus {
    /// Derives the status. Call this only for complete, successful polls: a poll that failed
    /// or was cut short must not mark anyone Deprovisioned, so callers keep the previous state.
    pub fn derive(facts: LastPassFacts) -> Self {
        if !facts.present {
            AccountStatus::Deprovisioned
        } else if facts.disabled {
            AccountStatus::Suspended
        } else if facts.never_logged_in || facts.invited_only {
            AccountStatus::Staged
        } else {
            AccountStatus::Active
        }
    }

    /// The stable lowercase name used in the store, the API and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Staged => "staged",
            AccountStatus::Deprovisioned => "deprovisioned",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountStatus::Active => "Active",
            AccountStatus::Suspended => "Suspended",
            AccountStatus::Staged => "Staged",
            AccountStatus::Deprovisioned => "Deprovisioned",
        })
    }
}

/// A status name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid status {0:?}: expected active, suspended, staged or deprovisioned")]
pub struct UnknownStatus(pub String);

impl FromStr for AccountStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(AccountStatus::Active),
            "suspended" => Ok(AccountStatus::Suspended),
            "staged" => Ok(AccountStatus::Staged),
            "deprovisioned" => Ok(AccountStatus::Deprovisioned),
            _ => Err(UnknownStatus(s.to_string())),
        }
    }
}

/// Whether the user administers the business account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// `admin` true.
    Admin,
    /// Everyone else.
    User,
}

impl Role {
    /// From LastPass's `admin` flag.
    pub fn from_admin_flag(admin: bool) -> Self {
        if admin { Role::Admin } else { Role::User }
    }

    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(disabled: bool, never: bool, invited: bool, present: bool) -> LastPassFacts {
        LastPassFacts {
            disabled,
            never_logged_in: never,
            invited_only: invited,
            present,
        }
    }

    #[test]
    fn status_table_of_the_spec() {
        use AccountStatus::*;
        assert_eq!(
            AccountStatus::derive(facts(true, true, false, true)),
            Suspended
        );
        assert_eq!(
            AccountStatus::derive(facts(true, false, false, true)),
            Suspended
        );
        assert_eq!(
            AccountStatus::derive(facts(false, true, false, true)),
            Staged
        );
        assert_eq!(
            AccountStatus::derive(facts(false, false, true, true)),
            Staged
        );
        assert_eq!(
            AccountStatus::derive(facts(false, false, false, true)),
            Active
        );
        assert_eq!(
            AccountStatus::derive(facts(true, false, false, false)),
            Deprovisioned
        );
    }

    #[test]
    fn names_round_trip() {
        for s in [
            AccountStatus::Active,
            AccountStatus::Suspended,
            AccountStatus::Staged,
            AccountStatus::Deprovisioned,
        ] {
            assert_eq!(s.as_str().parse::<AccountStatus>().unwrap(), s);
        }
        let err = "gone".parse::<AccountStatus>().unwrap_err().to_string();
        assert!(err.contains("gone"));
        assert_eq!(Role::from_admin_flag(true).as_str(), "admin");
    }
}
