//! From LastPass's wire types to the domain's records: emails lowercased, groups sorted,
//! status derived (spec §7), pending invitations without an account made Staged users.

use lpgate_domain::{
    AccountStatus, FolderMemberRecord, FolderRecord, LastPassFacts, UserRecord, normalize_email,
};
use lpgate_lastpass::{SharedFolder, User};

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
