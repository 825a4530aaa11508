//! Changes: the differences between two consecutive snapshots of an account, one row each.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::directory::{FolderMemberRecord, FolderRecord, UserRecord};

macro_rules! kinds {
    ($($variant:ident => $name:literal : $doc:literal),* $(,)?) => {
        /// What kind of difference a change records. The names are stable: rules, webhooks
        /// and `lpgate changes --kind` use them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ChangeKind {
            $(#[doc = $doc] $variant,)*
        }

        impl ChangeKind {
            /// Every kind, in a stable order.
            pub const ALL: &'static [ChangeKind] = &[$(ChangeKind::$variant),*];

            /// The stable dotted name, e.g. `user.admin_granted`.
            pub fn as_str(self) -> &'static str {
                match self { $(ChangeKind::$variant => $name,)* }
            }

            /// Parses a dotted name.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(ChangeKind::$variant),)* _ => None }
            }
        }
    };
}

kinds! {
    UserCreated => "user.created": "A user appeared in LastPass.",
    UserDeprovisioned => "user.deprovisioned": "A user is absent from a complete poll.",
    UserRestored => "user.restored": "A deprovisioned user appeared again.",
    UserDisabled => "user.disabled": "A user was deactivated.",
    UserEnabled => "user.enabled": "A deactivated user was re-enabled.",
    UserAdminGranted => "user.admin_granted": "A user became an admin.",
    UserAdminRevoked => "user.admin_revoked": "A user stopped being an admin.",
    UserLoggedInFirstTime => "user.logged_in_first_time": "A staged user logged in for the first time.",
    UserMfaChanged => "user.mfa_changed": "The multifactor method changed (set, removed or switched).",
    UserRenamed => "user.renamed": "The full name changed.",
    UserPasswordChanged => "user.password_changed": "The master password was changed.",
    UserPasswordResetRequired => "user.password_reset_required": "A master password change became required.",
    UserUpdated => "user.updated": "Another attribute changed (Duo username, linked account).",
    GroupCreated => "group.created": "A group appeared.",
    GroupDeleted => "group.deleted": "A group disappeared.",
    GroupMemberAdded => "group.member_added": "A user joined a group.",
    GroupMemberRemoved => "group.member_removed": "A user left a group.",
    FolderCreated => "folder.created": "A shared folder appeared.",
    FolderDeleted => "folder.deleted": "A shared folder disappeared or was moved to the trash.",
    FolderRenamed => "folder.renamed": "A shared folder was renamed.",
    FolderShared => "folder.shared": "A user got access to a shared folder.",
    FolderUnshared => "folder.unshared": "A user lost access to a shared folder.",
    FolderPermissionChanged => "folder.permission_changed": "A member's folder permissions changed.",
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One difference between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// The user email, group name or folder id concerned.
    pub subject: String,
    /// The other party: the group of a membership change, the user of a folder change.
    pub related: Option<String>,
    /// The value before, when there is one worth showing.
    pub before: Option<String>,
    /// The value after.
    pub after: Option<String>,
}

impl Change {
    fn new(kind: ChangeKind, subject: &str) -> Self {
        Change {
            kind,
            subject: subject.to_string(),
            related: None,
            before: None,
            after: None,
        }
    }

    fn related(mut self, related: &str) -> Self {
        self.related = Some(related.to_string());
        self
    }

    fn values(mut self, before: Option<String>, after: Option<String>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// The changes between the old and new state of one user (`None` = absent).
pub fn diff_user(old: Option<&UserRecord>, new: Option<&UserRecord>) -> Vec<Change> {
    use ChangeKind::*;
    let mut out = Vec::new();
    match (old, new) {
        (None, None) => {}
        (None, Some(n)) => {
            out.push(
                Change::new(UserCreated, &n.email).values(None, Some(n.status.as_str().into())),
            );
            if n.admin {
                out.push(Change::new(UserAdminGranted, &n.email));
            }
            for g in &n.groups {
                out.push(Change::new(GroupMemberAdded, g).related(&n.email));
            }
        }
        (Some(o), None) => {
            out.push(
                Change::new(UserDeprovisioned, &o.email)
                    .values(Some(o.status.as_str().into()), None),
            );
            for g in &o.groups {
                out.push(Change::new(GroupMemberRemoved, g).related(&o.email));
            }
        }
        (Some(o), Some(n)) => diff_present(o, n, &mut out),
    }
    out
}

fn diff_present(o: &UserRecord, n: &UserRecord, out: &mut Vec<Change>) {
    use ChangeKind::*;
    let e = &n.email;
    let flag = |kind_on: ChangeKind,
                kind_off: ChangeKind,
                before: bool,
                after: bool,
                out: &mut Vec<Change>| {
        if before != after {
            out.push(Change::new(if after { kind_on } else { kind_off }, e));
        }
    };
    flag(UserDisabled, UserEnabled, o.disabled, n.disabled, out);
    flag(UserAdminGranted, UserAdminRevoked, o.admin, n.admin, out);
    if o.never_logged_in && !n.never_logged_in {
        out.push(
            Change::new(UserLoggedInFirstTime, e).values(None, n.last_login.map(|t| t.to_string())),
        );
    }
    if o.multifactor != n.multifactor {
        out.push(
            Change::new(UserMfaChanged, e).values(o.multifactor.clone(), n.multifactor.clone()),
        );
    }
    if o.fullname != n.fullname {
        out.push(
            Change::new(UserRenamed, e).values(Some(o.fullname.clone()), Some(n.fullname.clone())),
        );
    }
    if o.last_pw_change != n.last_pw_change
        && o.last_pw_change.is_some()
        && n.last_pw_change.is_some()
    {
        out.push(Change::new(UserPasswordChanged, e).values(
            o.last_pw_change.map(|t| t.to_string()),
            n.last_pw_change.map(|t| t.to_string()),
        ));
    }
    if !o.password_reset_required && n.password_reset_required {
        out.push(Change::new(UserPasswordResetRequired, e));
    }
    if o.duo_username != n.duo_username {
        out.push(
            Change::new(UserUpdated, e)
                .related("duo_username")
                .values(o.duo_username.clone(), n.duo_username.clone()),
        );
    }
    if o.linked != n.linked {
        out.push(
            Change::new(UserUpdated, e)
                .related("linked")
                .values(o.linked.clone(), n.linked.clone()),
        );
    }
    if o.groups != n.groups {
        for g in n
            .groups
            .iter()
            .filter(|g| o.groups.binary_search(g).is_err())
        {
            out.push(Change::new(GroupMemberAdded, g).related(e));
        }
        for g in o
            .groups
            .iter()
            .filter(|g| n.groups.binary_search(g).is_err())
        {
            out.push(Change::new(GroupMemberRemoved, g).related(e));
        }
    }
}

/// The changes between the old and new state of one shared folder.
pub fn diff_folder(old: Option<&FolderRecord>, new: Option<&FolderRecord>) -> Vec<Change> {
    use ChangeKind::*;
    let mut out = Vec::new();
    let empty: Vec<FolderMemberRecord> = Vec::new();
    let (old_members, new_members) = (
        old.map_or(&empty, |f| &f.members),
        new.map_or(&empty, |f| &f.members),
    );
    match (old, new) {
        (None, None) => return out,
        (None, Some(n)) => {
            out.push(Change::new(FolderCreated, &n.id).values(None, Some(n.name.clone())))
        }
        (Some(o), None) => {
            out.push(Change::new(FolderDeleted, &o.id).values(Some(o.name.clone()), None))
        }
        (Some(o), Some(n)) => {
            if o.name != n.name {
                out.push(
                    Change::new(FolderRenamed, &n.id)
                        .values(Some(o.name.clone()), Some(n.name.clone())),
                );
            }
            if !o.deleted && n.deleted {
                out.push(Change::new(FolderDeleted, &n.id).values(Some(o.name.clone()), None));
            }
        }
    }
    let id = new.or(old).map(|f| f.id.as_str()).unwrap_or_default();
    let before: BTreeMap<&str, &FolderMemberRecord> =
        old_members.iter().map(|m| (m.email.as_str(), m)).collect();
    let after: BTreeMap<&str, &FolderMemberRecord> =
        new_members.iter().map(|m| (m.email.as_str(), m)).collect();
    for (email, m) in &after {
        match before.get(email) {
            None => out.push(
                Change::new(FolderShared, id)
                    .related(email)
                    .values(None, Some(perms(m))),
            ),
            Some(b) if b != m => out.push(
                Change::new(FolderPermissionChanged, id)
                    .related(email)
                    .values(Some(perms(b)), Some(perms(m))),
            ),
            Some(_) => {}
        }
    }
    for (email, b) in &before {
        if !after.contains_key(email) {
            out.push(
                Change::new(FolderUnshared, id)
                    .related(email)
                    .values(Some(perms(b)), None),
            );
        }
    }
    out
}

/// A short, stable description of folder permissions, e.g. `readonly,admin`.
pub fn perms(m: &FolderMemberRecord) -> String {
    let mut p = Vec::new();
    p.push(if m.readonly { "readonly" } else { "write" });
    if m.give {
        p.push("see_passwords");
    }
    if m.can_administer {
        p.push("admin");
    }
    if m.superadmin {
        p.push("superadmin");
    }
    p.join(",")
}

/// Group appearances and disappearances between two sets of group names.
pub fn diff_groups<'a>(
    old: impl IntoIterator<Item = &'a String>,
    new: impl IntoIterator<Item = &'a String>,
) -> Vec<Change> {
    let old: std::collections::BTreeSet<&String> = old.into_iter().collect();
    let new: std::collections::BTreeSet<&String> = new.into_iter().collect();
    let mut out: Vec<Change> = new
        .difference(&old)
        .map(|g| Change::new(ChangeKind::GroupCreated, g))
        .collect();
    out.extend(
        old.difference(&new)
            .map(|g| Change::new(ChangeKind::GroupDeleted, g)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::AccountStatus;

    fn user(email: &str) -> UserRecord {
        UserRecord {
            email: email.into(),
            lastpass_id: Some("1".into()),
            fullname: "Ann".into(),
            status: AccountStatus::Active,
            admin: false,
            disabled: false,
            never_logged_in: false,
            invited_only: false,
            mp_strength: Some(80),
            total_score: Some(70.0),
            created: None,
            last_pw_change: None,
            last_login: None,
            duo_username: None,
            multifactor: Some("duo".into()),
            linked: None,
            password_reset_required: false,
            sites: Some(1),
            notes: Some(0),
            formfills: Some(0),
            applications: Some(0),
            attachments: Some(0),
            groups: vec!["A".into(), "B".into()],
        }
    }

    fn kinds(changes: &[Change]) -> Vec<&'static str> {
        changes.iter().map(|c| c.kind.as_str()).collect()
    }

    #[test]
    fn no_change_no_rows() {
        let u = user("a@x.io");
        assert!(diff_user(Some(&u), Some(&u)).is_empty());
        assert_eq!(u.fingerprint(), u.clone().fingerprint());
    }

    #[test]
    fn each_user_kind() {
        let o = user("a@x.io");
        let mut n = o.clone();
        n.disabled = true;
        n.admin = true;
        n.multifactor = None;
        n.fullname = "Ann B".into();
        n.groups = vec!["B".into(), "C".into()];
        n.linked = Some("ann@home.io".into());
        n.password_reset_required = true;
        let c = diff_user(Some(&o), Some(&n));
        assert_eq!(
            kinds(&c),
            vec![
                "user.disabled",
                "user.admin_granted",
                "user.mfa_changed",
                "user.renamed",
                "user.password_reset_required",
                "user.updated",
                "group.member_added",
                "group.member_removed"
            ]
        );
        assert_eq!(c[6].subject, "C");
        assert_eq!(c[6].related.as_deref(), Some("a@x.io"));
        assert_ne!(o.fingerprint(), n.fingerprint());
        assert_eq!(
            kinds(&diff_user(Some(&n), Some(&o)))[..2],
            ["user.enabled", "user.admin_revoked"]
        );
    }

    #[test]
    fn first_login_and_lifecycle() {
        let mut o = user("a@x.io");
        o.never_logged_in = true;
        let mut n = o.clone();
        n.never_logged_in = false;
        assert_eq!(
            kinds(&diff_user(Some(&o), Some(&n))),
            vec!["user.logged_in_first_time"]
        );
        assert_eq!(
            kinds(&diff_user(None, Some(&n))),
            vec!["user.created", "group.member_added", "group.member_added"]
        );
        assert_eq!(
            kinds(&diff_user(Some(&n), None)),
            vec![
                "user.deprovisioned",
                "group.member_removed",
                "group.member_removed"
            ]
        );
    }

    #[test]
    fn folders_and_groups() {
        let m = |e: &str, admin: bool| FolderMemberRecord {
            email: e.into(),
            readonly: !admin,
            give: admin,
            can_administer: admin,
            superadmin: false,
        };
        let o = FolderRecord {
            id: "101".into(),
            name: "Finance".into(),
            deleted: false,
            score: Some(90.0),
            members: vec![m("a@x.io", true), m("b@x.io", false)],
        };
        let mut n = o.clone();
        n.name = "Finance EU".into();
        n.members = vec![m("a@x.io", false), m("c@x.io", false)];
        let c = diff_folder(Some(&o), Some(&n));
        assert_eq!(
            kinds(&c),
            vec![
                "folder.renamed",
                "folder.permission_changed",
                "folder.shared",
                "folder.unshared"
            ]
        );
        assert_eq!(c[1].before.as_deref(), Some("write,see_passwords,admin"));
        assert_eq!(c[1].after.as_deref(), Some("readonly"));
        assert!(diff_folder(Some(&o), Some(&o)).is_empty());
        let (a, b) = (
            vec!["X".to_string(), "Y".to_string()],
            vec!["Y".to_string(), "Z".to_string()],
        );
        assert_eq!(
            kinds(&diff_groups(&a, &b)),
            vec!["group.created", "group.deleted"]
        );
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(k.as_str()), Some(*k));
        }
    }
}
