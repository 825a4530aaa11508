//! A typed, serializable dump of the whole company, for tests and the `/_emulator/state`
//! route. It is a copy: changing it changes nothing in the emulator.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::{Company, FolderPerms, User};

/// Everything the emulated LastPass account holds, as tests want to inspect it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyView {
    /// The email domain generated users have.
    pub domain: String,
    /// Company members (active and disabled), ordered by id.
    pub users: Vec<UserView>,
    /// Group name → member emails (ordered by user id). Empty groups do not exist.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Shared folders, ordered by id.
    pub folders: Vec<FolderView>,
    /// Pending invitations (emails).
    pub invited: Vec<String>,
    /// Accounts removed from the company with `deluser` 1 (now free accounts). Adding the
    /// same email again links the account back with its id and history.
    pub former_users: Vec<UserView>,
    /// How many reporting events the log holds.
    pub event_count: usize,
    /// Every `pushsitestousers` call, oldest first.
    pub pushed_sites: Vec<PushedSiteView>,
}

/// One user with every field the emulator keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    /// Numeric LastPass user id (the key of `Users` in getuserdata).
    pub id: u64,
    /// Email, lowercase.
    pub username: String,
    /// Full name, may be empty.
    pub fullname: String,
    /// Master password strength 0..=100.
    pub mpstrength: u8,
    /// Account creation time (US/Eastern).
    pub created: NaiveDateTime,
    /// Last master password change (US/Eastern).
    pub last_pw_change: NaiveDateTime,
    /// Last login (US/Eastern); `None` = never logged in.
    pub last_login: Option<NaiveDateTime>,
    /// True until the first login.
    pub neverloggedin: bool,
    /// Login blocked (deluser 0 / disableuser).
    pub disabled: bool,
    /// Company admin.
    pub admin: bool,
    /// Security score; `None` until the first login.
    pub totalscore: Option<u8>,
    /// Duo username, if any.
    pub duousername: Option<String>,
    /// RSA SecurID username, if any (not shown by getuserdata).
    pub securidusername: Option<String>,
    /// MFA method; empty = none.
    pub multifactor: String,
    /// Vault site count; `None` until the first login.
    pub sites: Option<u32>,
    /// Secure note count; `None` until the first login.
    pub notes: Option<u32>,
    /// Form fill count; `None` until the first login.
    pub formfills: Option<u32>,
    /// Application count; `None` until the first login.
    pub applications: Option<u32>,
    /// Attachment count; `None` until the first login.
    pub attachments: Option<u32>,
    /// Must change the master password at next login.
    pub password_reset_required: bool,
    /// Group names in joining order.
    pub groups: Vec<String>,
    /// Free-form attributes given to batchadd (`attribs`).
    pub attribs: BTreeMap<String, serde_json::Value>,
    /// Password-reset emails sent (resetpassword).
    pub reset_emails_sent: u32,
    /// Invitation emails sent (creation plus reinviteuser).
    pub invitations_sent: u32,
}

/// One shared folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderView {
    /// Numeric folder id (the key in getsfdata).
    pub id: u64,
    /// `sharedfoldername`.
    pub name: String,
    /// Folder is in the trash.
    pub deleted: bool,
    /// Security score.
    pub score: f64,
    /// Members with their permissions, in folder order.
    pub members: Vec<FolderMemberView>,
    /// Domains of the sites in the folder.
    pub sites: Vec<String>,
}

/// A member of a shared folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderMemberView {
    /// The member's email.
    pub username: String,
    /// What the member may do.
    pub perms: FolderPerms,
}

/// One recorded `pushsitestousers` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedSiteView {
    /// The `psid` the reply carried.
    pub psid: u64,
    /// The call's `data` exactly as received.
    pub data: serde_json::Value,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        let c = u.counts;
        Self {
            id: u.id,
            username: u.username.clone(),
            fullname: u.fullname.clone(),
            mpstrength: u.mpstrength,
            created: u.created,
            last_pw_change: u.last_pw_change,
            last_login: u.last_login,
            neverloggedin: u.never_logged_in(),
            disabled: u.disabled,
            admin: u.admin,
            totalscore: u.totalscore,
            duousername: u.duousername.clone(),
            securidusername: u.securidusername.clone(),
            multifactor: u.multifactor.clone(),
            sites: c.map(|c| c.sites),
            notes: c.map(|c| c.notes),
            formfills: c.map(|c| c.formfills),
            applications: c.map(|c| c.applications),
            attachments: c.map(|c| c.attachments),
            password_reset_required: u.password_reset_required,
            groups: u.groups.clone(),
            attribs: u.attribs.clone(),
            reset_emails_sent: u.reset_emails_sent,
            invitations_sent: u.invitations_sent,
        }
    }
}

impl From<&Company> for CompanyView {
    fn from(c: &Company) -> Self {
        let email = |id: &u64| c.email_of(*id).unwrap_or_default().to_owned();
        Self {
            domain: c.domain.clone(),
            users: c.users.iter().map(UserView::from).collect(),
            groups: c
                .groups
                .iter()
                .map(|(name, ids)| (name.clone(), ids.iter().map(email).collect()))
                .collect(),
            folders: c
                .folders
                .values()
                .map(|f| FolderView {
                    id: f.id,
                    name: f.name.clone(),
                    deleted: f.deleted,
                    score: f64::from(f.score_tenths) / 10.0,
                    members: f
                        .members
                        .iter()
                        .map(|m| FolderMemberView {
                            username: email(&m.user_id),
                            perms: m.perms,
                        })
                        .collect(),
                    sites: f.sites.clone(),
                })
                .collect(),
            invited: c.invited.clone(),
            former_users: c.former.iter().map(UserView::from).collect(),
            event_count: c.events.len(),
            pushed_sites: c
                .pushed
                .iter()
                .map(|p| PushedSiteView {
                    psid: p.psid,
                    data: p.data.clone(),
                })
                .collect(),
        }
    }
}
