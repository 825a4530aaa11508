//! `admins`: the access review. Every admin who is not deprovisioned, with what a reviewer
//! needs to decide (last login, MFA, status, master password) and empty sign-off columns to
//! fill in (keep or revoke, reviewer, date).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::data::FolderAdmin;

use crate::model::{Report, Section, figure, parameter};
use crate::{Input, Settings, at, blank, days_since};

/// Builds the report. `grants` says when users were made admin (from recorded changes);
/// `folders` are the shared-folder members who can administer a folder.
pub(crate) fn report(
    input: &Input,
    settings: &Settings,
    grants: &[(String, String, Option<DateTime<Utc>>)],
    folders: &[FolderAdmin],
) -> Report {
    let mut r = blank(
        "Admin access review",
        "Every LastPass admin (deprovisioned accounts excepted), with last login, MFA and \
         master-password facts, for a reviewer to confirm or revoke and sign.",
    );
    let cutoff = input.now - Duration::days(i64::from(settings.inactive_days));
    r.parameters
        .push(parameter("inactive_days", settings.inactive_days));
    r.parameters
        .push(parameter("weak_mp_strength", settings.weak_mp_strength));
    let admins: Vec<_> = input
        .users
        .iter()
        .filter(|u| u.admin && u.status != "deprovisioned")
        .collect();
    let mut s = Section::new(
        "admins",
        "Admins",
        "By account and email. Concerns are what a reviewer should look at first; the last \
         four columns are for the reviewer.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("status", "Status"),
            ("admin_since", "Admin since"),
            ("mfa", "MFA"),
            ("last_login_at", "Last login"),
            ("days_since_login", "Days since login"),
            ("mp_strength", "Master password strength"),
            ("groups", "Groups"),
            ("concerns", "Concerns"),
            ("decision", "Decision (keep / revoke)"),
            ("reviewer", "Reviewer"),
            ("reviewed_on", "Date"),
            ("comment", "Comment"),
        ],
    );
    let granted: HashMap<(&str, &str), Option<DateTime<Utc>>> = grants
        .iter()
        .map(|(a, e, t)| ((a.as_str(), e.as_str()), *t))
        .collect();
    let mut counts = [0usize; 4];
    for u in &admins {
        let mut concerns = Vec::new();
        if u.status == "active" && !u.mfa() {
            concerns.push("no MFA".to_string());
            counts[0] += 1;
        }
        match u.last_login_at {
            None => {
                concerns.push("never logged in".into());
                counts[1] += 1;
            }
            Some(t) if t < cutoff => {
                concerns.push(format!("no login for {}+ days", settings.inactive_days));
                counts[2] += 1;
            }
            Some(_) => {}
        }
        if u.status == "suspended" {
            concerns.push("suspended but still an admin".into());
        }
        if u.mp_strength.is_some_and(|s| s < settings.weak_mp_strength) {
            concerns.push("weak master password".into());
            counts[3] += 1;
        }
        if u.password_reset_required {
            concerns.push("master password change pending".into());
        }
        s.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(u.status),
            // Granted while lpgate watched, else admin since lpgate first saw the user.
            at(granted
                .get(&(u.account.as_str(), u.email.as_str()))
                .copied()
                .flatten()
                .or(u.first_seen)),
            json!(if u.mfa() {
                u.multifactor.as_str()
            } else {
                "none"
            }),
            at(u.last_login_at),
            days_since(u.last_login_at, input.now),
            json!(u.mp_strength),
            json!(u.groups),
            json!(concerns.join("; ")),
            json!(""),
            json!(""),
            json!(""),
            json!(""),
        ]);
    }
    r.summary = vec![
        figure("admins", "Admins", admins.len()),
        figure(
            "active_admins",
            "Active admins",
            admins.iter().filter(|u| u.status == "active").count(),
        ),
        figure("admins_without_mfa", "Active admins without MFA", counts[0]),
        figure("never_logged_in", "Never logged in", counts[1]),
        figure("inactive", "Inactive", counts[2]),
        figure("weak_master_password", "Weak master password", counts[3]),
    ];
    let users: HashMap<(&str, &str), &crate::data::UserFacts> = input
        .users
        .iter()
        .map(|u| ((u.account.as_str(), u.email.as_str()), u))
        .collect();
    let mut f = Section::new(
        "folder_admins",
        "Shared-folder administrators",
        "Members who can administer a shared folder (change its members and permissions), \
         by account, folder and email; folders in the trash are left out.",
        &[
            ("account", "Account"),
            ("folder", "Shared folder"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("status", "Status"),
            ("role", "Role"),
            ("mfa", "MFA"),
            ("decision", "Decision (keep / revoke)"),
            ("reviewer", "Reviewer"),
            ("reviewed_on", "Date"),
        ],
    );
    for a in folders {
        let u = users.get(&(a.account.as_str(), a.email.as_str()));
        if u.is_some_and(|u| u.status == "deprovisioned") {
            continue;
        }
        f.push(vec![
            json!(a.account),
            json!(a.folder),
            json!(a.email),
            json!(u.map(|u| u.fullname.clone())),
            json!(u.map(|u| u.status.clone())),
            json!(u.map(|u| crate::role(u.admin))),
            json!(u.map(|u| if u.mfa() {
                u.multifactor.clone()
            } else {
                "none".into()
            })),
            json!(""),
            json!(""),
            json!(""),
        ]);
    }
    r.summary.push(crate::model::figure(
        "folder_admins",
        "Shared-folder administrators",
        f.rows.len(),
    ));
    r.notes.push(
        "Admin since: when a sync saw the user become an admin; for admins who already were \
         at the account's first sync, when lpgate first saw them."
            .into(),
    );
    r.sections = vec![s, f];
    r
}
