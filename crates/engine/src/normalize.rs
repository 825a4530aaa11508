//! From LastPass's wire types to the domain's records: emails lowercased, groups sorted,
//! status derived (spec §7), pending invitations without an account made Staged users.

use std::collections::{BTreeSet, HashSet};

use lpgate_domain::{
    AccountStatus, FolderMemberRecord, FolderRecord, LastPassFacts, UserRecord, normalize_email,
};
use lpgate_lastpass::{Directory, SharedFolder, User};

fn count(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

/// Lowercases an email in place when it is ASCII (the common case), without a new allocation.
fn lower(mut email: String) -> String {
    let trimmed = email.trim();
    if trimmed.len() != email.len() {
        return normalize_email(&email);
    }
    if email.is_ascii() {
        email.make_ascii_lowercase();
        email
    } else {
        normalize_email(&email)
    }
}

/// One LastPass user as a record, taking its strings over.
pub fn user(u: User) -> UserRecord {
    let mut groups = u.groups;
    if !groups.is_sorted() {
        groups.sort();
    }
    groups.dedup();
    UserRecord {
        email: lower(u.username),
        lastpass_id: (!u.id.is_empty()).then_some(u.id),
        fullname: u.fullname,
        status: AccountStatus::derive(LastPassFacts {
            disabled: u.disabled,
            never_logged_in: u.never_logged_in,
            invited_only: false,
            present: true,
        }),
        admin: u.admin,
        disabled: u.disabled,
        never_logged_in: u.never_logged_in,
        invited_only: false,
        mp_strength: u.mpstrength.map(i64::from),
        total_score: u.total_score,
        created: u.created,
        last_pw_change: u.last_pw_change,
        last_login: u.last_login,
        duo_username: u.duo_username,
        multifactor: u.multifactor,
        linked: u.linked,
        password_reset_required: u.password_reset_required,
        sites: count(u.sites),
        notes: count(u.notes),
        formfills: count(u.formfills),
        applications: count(u.applications),
        attachments: count(u.attachments),
        groups,
    }
}

/// A pending invitation with no account yet: a Staged user known by email only.
pub fn invitation(email: &str) -> UserRecord {
    UserRecord {
        email: normalize_email(email),
        lastpass_id: None,
        fullname: String::new(),
        status: AccountStatus::derive(LastPassFacts {
            disabled: false,
            never_logged_in: true,
            invited_only: true,
            present: true,
        }),
        admin: false,
        disabled: false,
        never_logged_in: true,
        invited_only: true,
        mp_strength: None,
        total_score: None,
        created: None,
        last_pw_change: None,
        last_login: None,
        duo_username: None,
        multifactor: None,
        linked: None,
        password_reset_required: false,
        sites: None,
        notes: None,
        formfills: None,
        applications: None,
        attachments: None,
        groups: Vec::new(),
    }
}

/// The normalized users and the group names of one complete listing.
pub struct NormalizedDirectory {
    /// Users in LastPass's order, each email once.
    pub users: Vec<UserRecord>,
    /// The set of listed emails, for "who is gone" without a search per stored user.
    pub emails: HashSet<String>,
    /// Every group name.
    pub groups: BTreeSet<String>,
    /// Emails LastPass listed twice (the first was kept).
    pub duplicates: Vec<String>,
}

/// Normalizes a whole directory, taking it over (no string is copied but the email set).
///
/// Group membership is read from each user's own `groups` list, which LastPass sends on every
/// page; the `Groups` map adds only names (it is rebuilt from the same lists on paged replies).
pub fn directory(dir: Directory) -> NormalizedDirectory {
    let mut groups: BTreeSet<String> = dir.groups.into_keys().collect();
    let mut extra_groups: Vec<String> = Vec::new();
    let mut users: Vec<UserRecord> = Vec::with_capacity(dir.users.len() + dir.invited.len());
    let mut emails: HashSet<String> = HashSet::with_capacity(dir.users.len() + dir.invited.len());
    let mut duplicates = Vec::new();
    {
        let known: HashSet<&str> = groups.iter().map(String::as_str).collect();
        for u in dir.users {
            let rec = user(u);
            for g in &rec.groups {
                if !known.contains(g.as_str()) {
                    extra_groups.push(g.clone());
                }
            }
            if !emails.insert(rec.email.clone()) {
                duplicates.push(rec.email);
                continue;
            }
            users.push(rec);
        }
    }
    groups.extend(extra_groups);
    for email in &dir.invited {
        let rec = invitation(email);
        if emails.insert(rec.email.clone()) {
            users.push(rec);
        }
    }
    NormalizedDirectory {
        users,
        emails,
        groups,
        duplicates,
    }
}

/// One shared folder as a record.
pub fn folder(f: &SharedFolder) -> FolderRecord {
    let mut members: Vec<FolderMemberRecord> = f
        .users
        .iter()
        .map(|m| FolderMemberRecord {
            email: normalize_email(&m.username),
            readonly: m.readonly,
            give: m.give,
            can_administer: m.can_administer,
            superadmin: m.superadmin,
        })
        .collect();
    members.sort_by(|a, b| a.email.cmp(&b.email));
    members.dedup_by(|a, b| a.email == b.email);
    FolderRecord {
        id: f.id.clone(),
        name: f.name.clone(),
        deleted: f.deleted,
        score: f.score,
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(id: &str, email: &str, groups: &[&str]) -> User {
        let mut v: User = serde_json::from_str(&format!(
            r#"{{"username":"{email}","neverloggedin":false,"disabled":false,"admin":false}}"#
        ))
        .unwrap();
        v.id = id.into();
        v.groups = groups.iter().map(|g| g.to_string()).collect();
        v
    }

    #[test]
    fn duplicates_invitations_and_groups() {
        let mut groups = std::collections::BTreeMap::new();
        groups.insert("Sales".to_string(), vec!["ann@x.io".to_string()]);
        let dir = Directory {
            total: 3,
            users: vec![
                u("1", "Ann@X.io", &["Sales", "Ops"]),
                u("2", "ann@x.io", &[]),
                u("3", "bo@x.io", &["Ops", "Ops"]),
            ],
            groups,
            invited: vec!["cy@x.io".into(), "bo@x.io".into()],
        };
        let n = directory(dir);
        assert_eq!(n.duplicates, vec!["ann@x.io"]);
        let emails: Vec<&str> = n.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(emails, vec!["ann@x.io", "bo@x.io", "cy@x.io"]);
        assert_eq!(
            n.users[0].lastpass_id.as_deref(),
            Some("1"),
            "the first listing wins"
        );
        assert_eq!(n.users[0].groups, vec!["Ops", "Sales"]);
        assert_eq!(n.users[1].groups, vec!["Ops"]);
        let cy = &n.users[2];
        assert!(cy.invited_only && cy.lastpass_id.is_none());
        assert_eq!(cy.status, AccountStatus::Staged);
        assert!(
            !n.users[1].invited_only,
            "an invited email with an account is that account"
        );
        assert_eq!(n.groups.iter().collect::<Vec<_>>(), vec!["Ops", "Sales"]);
    }
}
