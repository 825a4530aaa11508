//! From LastPass's wire types to the domain's records: emails lowercased, groups sorted,
//! status derived (spec §7), pending invitations without an account made Staged users.

use std::collections::{BTreeSet, HashMap};

use lpgate_domain::{
    AccountStatus, FolderMemberRecord, FolderRecord, LastPassFacts, UserRecord, normalize_email,
};
use lpgate_lastpass::{Directory, SharedFolder, User};

fn count(v: Option<u32>) -> Option<i64> {
    v.map(i64::from)
}

/// One LastPass user as a record.
pub fn user(u: &User) -> UserRecord {
    let mut groups: Vec<String> = u.groups.clone();
    groups.sort();
    groups.dedup();
    UserRecord {
        email: normalize_email(&u.username),
        lastpass_id: (!u.id.is_empty()).then(|| u.id.clone()),
        fullname: u.fullname.clone(),
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
        duo_username: u.duo_username.clone(),
        multifactor: u.multifactor.clone(),
        linked: u.linked.clone(),
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

/// The normalized users (keyed by email) and the group names of one complete listing.
pub struct NormalizedDirectory {
    /// Users by lowercase email.
    pub users: HashMap<String, UserRecord>,
    /// Every group name, from the Groups map and from users' lists.
    pub groups: BTreeSet<String>,
    /// Emails LastPass listed twice (the first was kept).
    pub duplicates: Vec<String>,
}

/// Normalizes a whole directory.
pub fn directory(dir: &Directory) -> NormalizedDirectory {
    let mut users = HashMap::with_capacity(dir.users.len() + dir.invited.len());
    let mut duplicates = Vec::new();
    let mut groups: BTreeSet<String> = dir.groups.keys().cloned().collect();
    for u in &dir.users {
        let rec = user(u);
        groups.extend(rec.groups.iter().cloned());
        if users.contains_key(&rec.email) {
            duplicates.push(rec.email.clone());
            continue;
        }
        users.insert(rec.email.clone(), rec);
    }
    // Members listed in the Groups map but missing from their user's own list.
    for (name, members) in &dir.groups {
        for m in members {
            if let Some(u) = users.get_mut(&normalize_email(m))
                && u.groups.binary_search(name).is_err()
            {
                let at = u.groups.binary_search(name).unwrap_or_else(|i| i);
                u.groups.insert(at, name.clone());
            }
        }
    }
    for email in &dir.invited {
        let rec = invitation(email);
        users.entry(rec.email.clone()).or_insert(rec);
    }
    NormalizedDirectory {
        users,
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
