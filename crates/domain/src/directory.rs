//! The normalized directory of one account: users (with their groups), shared folders.
//!
//! Records hold what LastPass said, typed, with LastPass's wall-clock times as sent (the
//! store adds UTC using the account's zone). Users are keyed by lowercase email, the key of
//! every LastPass write command and of group membership; the numeric LastPass id is kept as an
//! attribute (pending invitations have none).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;
use crate::status::AccountStatus;

/// One user as of one sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Lowercase email: the key.
    pub email: String,
    /// LastPass's numeric id; `None` for a pending invitation without an account.
    pub lastpass_id: Option<String>,
    /// Full name ("" when not set).
    pub fullname: String,
    /// Derived status (never Deprovisioned in a fresh snapshot).
    pub status: AccountStatus,
    /// Admin of the business account.
    pub admin: bool,
    /// Deactivated.
    pub disabled: bool,
    /// Never logged in.
    pub never_logged_in: bool,
    /// Only known from the `invited` list.
    pub invited_only: bool,
    /// Master password strength 0..100.
    pub mp_strength: Option<i64>,
    /// Security score.
    pub total_score: Option<f64>,
    /// Account creation (account-local wall time, as LastPass sent it).
    pub created: Option<NaiveDateTime>,
    /// Last master password change (local).
    pub last_pw_change: Option<NaiveDateTime>,
    /// Last login (local); `None` = never.
    pub last_login: Option<NaiveDateTime>,
    /// Duo username.
    pub duo_username: Option<String>,
    /// Multifactor method; `None` = no MFA.
    pub multifactor: Option<String>,
    /// Linked personal account.
    pub linked: Option<String>,
    /// Must change master password at next login.
    pub password_reset_required: bool,
    /// Vault item counts (`None` until first login).
    pub sites: Option<i64>,
    /// Secure notes.
    pub notes: Option<i64>,
    /// Form fills.
    pub formfills: Option<i64>,
    /// Applications.
    pub applications: Option<i64>,
    /// Attachments.
    pub attachments: Option<i64>,
    /// Group names, sorted, each once.
    pub groups: Vec<String>,
}

fn opt_time(t: Option<NaiveDateTime>) -> Option<i64> {
    t.map(|t| t.and_utc().timestamp())
}

impl UserRecord {
    /// A stable fingerprint of every field, for cheap change detection between syncs.
    pub fn fingerprint(&self) -> i64 {
        let mut f = Fingerprint::default();
        f.str(&self.email)
            .opt_str(self.lastpass_id.as_deref())
            .str(&self.fullname)
            .str(self.status.as_str())
            .bool(self.admin)
            .bool(self.disabled)
            .bool(self.never_logged_in)
            .bool(self.invited_only)
            .opt_i64(self.mp_strength)
            .opt_i64(self.total_score.map(|s| s.to_bits() as i64))
            .opt_i64(opt_time(self.created))
            .opt_i64(opt_time(self.last_pw_change))
            .opt_i64(opt_time(self.last_login))
            .opt_str(self.duo_username.as_deref())
            .opt_str(self.multifactor.as_deref())
            .opt_str(self.linked.as_deref())
            .bool(self.password_reset_required)
            .opt_i64(self.sites)
            .opt_i64(self.notes)
            .opt_i64(self.formfills)
            .opt_i64(self.applications)
            .opt_i64(self.attachments)
            .u64(self.groups.len() as u64);
        for g in &self.groups {
            f.str(g);
        }
        f.finish()
    }

    /// True when the user has a multifactor method configured.
    pub fn has_mfa(&self) -> bool {
        self.multifactor.is_some()
    }
}

/// One member of a shared folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderMemberRecord {
    /// Lowercase email.
    pub email: String,
    /// Read only.
    pub readonly: bool,
    /// May see passwords.
    pub give: bool,
    /// May manage the folder.
    pub can_administer: bool,
    /// Listed as a super admin.
    pub superadmin: bool,
}

/// One shared folder as of one sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderRecord {
    /// LastPass's folder id.
    pub id: String,
    /// Folder name.
    pub name: String,
    /// In the trash.
    pub deleted: bool,
    /// Security score.
    pub score: Option<f64>,
    /// Members, sorted by email, each once.
    pub members: Vec<FolderMemberRecord>,
}

impl FolderRecord {
    /// A stable fingerprint of the folder and its members.
    pub fn fingerprint(&self) -> i64 {
        let mut f = Fingerprint::default();
        f.str(&self.id)
            .str(&self.name)
            .bool(self.deleted)
            .opt_i64(self.score.map(|s| s.to_bits() as i64))
            .u64(self.members.len() as u64);
        for m in &self.members {
            f.str(&m.email)
                .bool(m.readonly)
                .bool(m.give)
                .bool(m.can_administer)
                .bool(m.superadmin);
        }
        f.finish()
    }
}

/// Lowercases and trims an email the way LastPass compares them.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A plausible email address: one `@`, something before it, a dot in the domain, no spaces.
/// Input files are checked with it so a typo is reported instead of stored.
pub fn looks_like_email(email: &str) -> bool {
    let mut parts = email.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

#[cfg(test)]
mod email_tests {
    use super::looks_like_email;

    #[test]
    fn plausible_addresses() {
        assert!(looks_like_email("ann.lee@example.com"));
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "a@b@c.com",
            "a b@c.com",
            "a@com",
            "a@c.",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
