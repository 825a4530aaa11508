//! `passwords`: master-password hygiene — weak master passwords (by LastPass's strength
//! score), required changes still pending, and master passwords LastPass reports expired.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::model::{Report, Section, figure, parameter, percent};
use crate::{Input, Settings, at, blank, days_since, role};

/// Builds the report. `reset_since` gives, per `(account, email)`, since when a required
/// master-password change has been pending.
pub(crate) fn report(
    input: &Input,
    settings: &Settings,
    reset_since: &[(String, String, Option<DateTime<Utc>>)],
    (expired, reads): &crate::data::ExpiredLists,
) -> Report {
    let mut r = blank(
        "Master passwords",
        "Weak master passwords (LastPass strength score below the threshold), required \
         master-password changes still pending, and expired master passwords.",
    );
    r.parameters
        .push(parameter("weak_mp_strength", settings.weak_mp_strength));
    r.parameters
        .push(parameter("reset_pending_days", settings.reset_pending_days));
    let active: Vec<_> = input
        .users
        .iter()
        .filter(|u| u.status == "active")
        .collect();
    let mut weak: Vec<_> = active
        .iter()
        .filter(|u| u.mp_strength.is_some_and(|s| s < settings.weak_mp_strength))
        .collect();
    weak.sort_by(|a, b| {
        (a.mp_strength, &a.account, &a.email).cmp(&(b.mp_strength, &b.account, &b.email))
    });
    let mut weak_s = Section::new(
        "weak",
        "Weak master passwords",
        "Active users, weakest first.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("mp_strength", "Strength"),
            ("last_pw_change_at", "Last changed"),
            ("password_reset_required", "Change required"),
        ],
    );
    for u in &weak {
        weak_s.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(role(u.admin)),
            json!(u.mp_strength),
            at(u.last_pw_change_at),
            json!(u.password_reset_required),
        ]);
    }
    let since: HashMap<(&str, &str), Option<DateTime<Utc>>> = reset_since
        .iter()
        .map(|(a, e, t)| ((a.as_str(), e.as_str()), *t))
        .collect();
    let overdue_after = input.now - Duration::days(i64::from(settings.reset_pending_days));
    let mut pending: Vec<_> = input
        .users
        .iter()
        .filter(|u| u.password_reset_required && u.status != "deprovisioned")
        .map(|u| {
            let t = since
                .get(&(u.account.as_str(), u.email.as_str()))
                .copied()
                .flatten();
            (u, t)
        })
        .collect();
    pending.sort_by(|(a, ta), (b, tb)| (ta, &a.account, &a.email).cmp(&(tb, &b.account, &b.email)));
    let mut pending_s = Section::new(
        "resets_pending",
        "Master-password changes pending",
        "Users required to change their master password who have not yet, longest pending \
         first. Overdue = pending longer than the threshold.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("status", "Status"),
            ("required_since", "Required since"),
            ("days_pending", "Days pending"),
            ("overdue", "Overdue"),
        ],
    );
    let mut overdue = 0;
    for (u, t) in &pending {
        let late = t.is_some_and(|t| t < overdue_after);
        overdue += usize::from(late);
        pending_s.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(role(u.admin)),
            json!(u.status),
            at(*t),
            days_since(*t, input.now),
            json!(late),
        ]);
    }
    let mut expired_s = Section::new(
        "expired",
        "Expired master passwords",
        "Users LastPass lists as having an expired master password (expiredmasterpwlist), \
         as of each account's last read of that list.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("status", "Status"),
            ("last_pw_change_at", "Last changed"),
            ("days_since_change", "Days since change"),
        ],
    );
    let users: HashMap<(&str, &str), &crate::data::UserFacts> = input
        .users
        .iter()
        .map(|u| ((u.account.as_str(), u.email.as_str()), u))
        .collect();
    for x in expired {
        let u = users.get(&(x.account.as_str(), x.email.as_str()));
        expired_s.push(vec![
            json!(x.account),
            json!(x.email),
            json!(u.map(|u| u.fullname.clone())),
            json!(u.map(|u| role(u.admin))),
            json!(u.map(|u| u.status.clone())),
            at(x.last_pw_change_at),
            days_since(x.last_pw_change_at, input.now),
        ]);
    }
    for (account, read) in reads {
        r.parameters.push(parameter(
            &format!("expired_list_read_at.{account}"),
            read.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_else(|| "never".into()),
        ));
    }
    let unread: Vec<&str> = reads
        .iter()
        .filter(|(_, t)| t.is_none())
        .map(|(a, _)| a.as_str())
        .collect();
    if !unread.is_empty() {
        r.notes.push(format!(
            "LastPass's list of expired master passwords has never been read for {}: it is \
             read at each sync (a failure to read it is logged and keeps the previous list).",
            unread.join(", ")
        ));
    }
    let expired_figure = if reads.iter().any(|(_, t)| t.is_some()) {
        json!(expired_s.rows.len())
    } else {
        Value::Null
    };
    r.summary = vec![
        figure("active_users", "Active users", active.len()),
        figure("weak", "Weak master passwords", weak.len()),
        figure("weak_pct", "Weak %", percent(weak.len(), active.len())),
        figure("resets_pending", "Changes pending", pending.len()),
        figure("resets_overdue", "Changes overdue", overdue),
        figure("expired", "Expired master passwords", expired_figure),
    ];
    r.sections = vec![weak_s, pending_s, expired_s];
    r
}
