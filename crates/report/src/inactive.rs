//! `inactive --days N`: active users with no login for N days, and invitations never accepted
//! for as long.

use chrono::Duration;
use serde_json::json;

use crate::model::{Report, Section, figure, parameter, percent};
use crate::{Input, at, blank, days_since, role};

/// Builds the report; `days` is already checked to be in range.
pub(crate) fn report(input: &Input, days: u32) -> Report {
    let mut r = blank(
        "Inactive accounts",
        "Active LastPass users who have not logged in for the given number of days, and \
         accounts that were never activated for as long: candidates for removal and for \
         reclaiming seats.",
    );
    let cutoff = input.now - Duration::days(i64::from(days));
    r.parameters.push(parameter("days", days));
    r.parameters.push(parameter(
        "cutoff",
        cutoff.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    ));
    let active: Vec<_> = input
        .users
        .iter()
        .filter(|u| u.status == "active")
        .collect();
    let mut stale: Vec<_> = active
        .iter()
        .filter(|u| u.last_login_at.is_none_or(|t| t < cutoff))
        .collect();
    stale.sort_by(|a, b| {
        (a.last_login_at, &a.account, &a.email).cmp(&(b.last_login_at, &b.account, &b.email))
    });
    let mut inactive = Section::new(
        "inactive",
        format!("No login for {days} days or more").as_str(),
        "Active users, longest unused first.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("last_login_at", "Last login"),
            ("days_since_login", "Days since login"),
            ("mfa", "MFA"),
            ("groups", "Groups"),
        ],
    );
    for u in &stale {
        inactive.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(role(u.admin)),
            at(u.last_login_at),
            days_since(u.last_login_at, input.now),
            json!(if u.mfa() {
                u.multifactor.as_str()
            } else {
                "none"
            }),
            json!(u.groups),
        ]);
    }
    let mut never: Vec<_> = input
        .users
        .iter()
        .filter(|u| u.status == "staged")
        .filter(|u| u.created_at.or(u.first_seen).is_some_and(|t| t < cutoff))
        .collect();
    never.sort_by(|a, b| {
        (a.created_at.or(a.first_seen), &a.account, &a.email).cmp(&(
            b.created_at.or(b.first_seen),
            &b.account,
            &b.email,
        ))
    });
    let mut staged = Section::new(
        "never_activated",
        format!("Never activated, invited {days} days ago or more").as_str(),
        "Staged users (invited or created, never logged in), oldest first.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("invited_at", "Created or invited"),
            ("days_waiting", "Days waiting"),
        ],
    );
    for u in &never {
        let since = u.created_at.or(u.first_seen);
        staged.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(role(u.admin)),
            at(since),
            days_since(since, input.now),
        ]);
    }
    r.summary = vec![
        figure("active_users", "Active users", active.len()),
        figure("inactive", "Inactive", stale.len()),
        figure(
            "inactive_pct",
            "Inactive %",
            percent(stale.len(), active.len()),
        ),
        figure(
            "inactive_admins",
            "Inactive admins",
            stale.iter().filter(|u| u.admin).count(),
        ),
        figure("never_activated", "Never activated", never.len()),
    ];
    r.sections = vec![inactive, staged];
    r
}
