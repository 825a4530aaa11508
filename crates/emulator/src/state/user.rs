//! One LastPass user account as the company sees it.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

/// Vault item counts; LastPass reports them only once the user has logged in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VaultCounts {
    pub(crate) sites: u32,
    pub(crate) notes: u32,
    pub(crate) formfills: u32,
    pub(crate) applications: u32,
    pub(crate) attachments: u32,
}

/// A user account with every field getuserdata reports, plus what the emulator tracks for
/// tests (emails sent, SecurID name, free-form attributes).
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u64,
    /// Lowercase email; the key of every write command.
    pub(crate) username: String,
    pub(crate) fullname: String,
    pub(crate) mpstrength: u8,
    pub(crate) created: NaiveDateTime,
    pub(crate) last_pw_change: NaiveDateTime,
    /// `None` means the user never logged in.
    pub(crate) last_login: Option<NaiveDateTime>,
    pub(crate) disabled: bool,
    pub(crate) admin: bool,
    /// Security score; `None` (null on the wire) until the first login.
    pub(crate) totalscore: Option<u8>,
    pub(crate) duousername: Option<String>,
    pub(crate) securidusername: Option<String>,
    /// `None` (nulls on the wire) until the first login.
    pub(crate) counts: Option<VaultCounts>,
    pub(crate) password_reset_required: bool,
    /// Group names in the order the user joined them.
    pub(crate) groups: Vec<String>,
    /// MFA method; empty means none.
    pub(crate) multifactor: String,
    pub(crate) attribs: BTreeMap<String, serde_json::Value>,
    pub(crate) reset_emails_sent: u32,
    pub(crate) invitations_sent: u32,
}

impl User {
    /// A freshly provisioned account that has not logged in yet (what batchadd creates).
    pub(crate) fn invited(
        id: u64,
        email: &str,
        fullname: &str,
        now: NaiveDateTime,
        password_reset_required: bool,
    ) -> Self {
        Self {
            id,
            username: email.to_lowercase(),
            fullname: fullname.to_owned(),
            mpstrength: 0,
            created: now,
            last_pw_change: now,
            last_login: None,
            disabled: false,
            admin: false,
            totalscore: None,
            duousername: None,
            securidusername: None,
            counts: None,
            password_reset_required,
            groups: Vec::new(),
            multifactor: String::new(),
            attribs: BTreeMap::new(),
            reset_emails_sent: 0,
            invitations_sent: 1,
        }
    }

    /// True until the first login.
    pub(crate) fn never_logged_in(&self) -> bool {
        self.last_login.is_none()
    }
}

/// The address a user's own events come from: a stable private IPv4 derived from the id.
pub(crate) fn user_ip(id: u64) -> u32 {
    let [_, _, _, _, _, b, c, d] = id.to_be_bytes();
    u32::from_be_bytes([10, b, c, d.max(1)])
}
