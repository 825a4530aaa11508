//! `admins`: the access review. Every admin who is not deprovisioned, with what a reviewer
//! needs to decide (last login, MFA, status, master password) and empty sign-off columns to
//! fill in (keep or revoke, reviewer, date).

use chrono::Duration;
use serde_json::json;

use crate::model::{Report, Section, figure, parameter};
use crate::{Input, Settings, at, blank, days_since};

/// Builds the report.
pub(crate) fn report(input: &Input, settings: &Settings) -> Report {
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
    r.sections = vec![s];
    r
}
