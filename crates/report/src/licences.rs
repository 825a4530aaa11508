//! `licences`: seats in use (active + staged users) against seats purchased (configured per
//! account in `[reports.seats]`), and seats that could be reclaimed.

use chrono::Duration;
use serde_json::{Value, json};

use crate::model::{Report, Section, figure, parameter, percent};
use crate::{Input, Settings, at, blank, days_since, role};

/// Builds the report; `accounts` are the accounts in scope, so accounts without users show.
pub(crate) fn report(input: &Input, settings: &Settings, accounts: &[String]) -> Report {
    let mut r = blank(
        "Licence use",
        "Seats in use (active plus staged users: an invitation holds a seat) against seats \
         purchased, per account.",
    );
    let mut s = Section::new(
        "accounts",
        "Seats per account",
        "Used = active + staged. Suspended users are shown apart and not counted as used.",
        &[
            ("account", "Account"),
            ("purchased", "Purchased"),
            ("active", "Active"),
            ("staged", "Staged"),
            ("used", "Used"),
            ("available", "Available"),
            ("utilisation_pct", "Utilisation %"),
            ("suspended", "Suspended"),
            ("state", "State"),
        ],
    );
    let (mut purchased_total, mut used_total, mut over) = (0u64, 0u64, 0usize);
    let mut unconfigured = Vec::new();
    for account in accounts {
        let count = |status: &str| {
            input
                .users
                .iter()
                .filter(|u| &u.account == account && u.status == status)
                .count() as u64
        };
        let (active, staged, suspended) = (count("active"), count("staged"), count("suspended"));
        let used = active + staged;
        used_total += used;
        let purchased = settings.seats.get(account).copied();
        let (available, pct, state) = match purchased {
            Some(p) => {
                purchased_total += p;
                let state = if used > p {
                    over += 1;
                    "over"
                } else {
                    "within"
                };
                (
                    json!(p as i64 - used as i64),
                    percent(used as usize, p as usize),
                    state,
                )
            }
            None => {
                unconfigured.push(account.clone());
                (Value::Null, Value::Null, "not configured")
            }
        };
        s.push(vec![
            json!(account),
            json!(purchased),
            json!(active),
            json!(staged),
            json!(used),
            available,
            pct,
            json!(suspended),
            json!(state),
        ]);
    }
    let cutoff = input.now - Duration::days(i64::from(settings.inactive_days));
    r.parameters
        .push(parameter("inactive_days", settings.inactive_days));
    let mut reclaim = Section::new(
        "reclaimable",
        "Seats that could be reclaimed",
        "Active users with no login and staged users never activated, for longer than the \
         inactive threshold.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("status", "Status"),
            ("since", "Last login or invited"),
            ("days", "Days"),
        ],
    );
    let mut idle: Vec<_> = input
        .users
        .iter()
        .filter_map(|u| {
            let since = match u.status.as_str() {
                "active" => u.last_login_at,
                "staged" => u.created_at.or(u.first_seen),
                _ => return None,
            };
            since.is_none_or(|t| t < cutoff).then_some((since, u))
        })
        .collect();
    idle.sort_by(|(a, ua), (b, ub)| (a, &ua.account, &ua.email).cmp(&(b, &ub.account, &ub.email)));
    for (since, u) in idle {
        reclaim.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(role(u.admin)),
            json!(u.status),
            at(since),
            days_since(since, input.now),
        ]);
    }
    r.summary = vec![
        figure("used", "Seats used", used_total),
        figure(
            "purchased",
            "Seats purchased",
            if unconfigured.len() == accounts.len() && !accounts.is_empty() {
                Value::Null
            } else {
                json!(purchased_total)
            },
        ),
        figure("accounts_over", "Accounts over their seats", over),
        figure(
            "reclaimable",
            "Seats that could be reclaimed",
            reclaim.rows.len(),
        ),
    ];
    if !unconfigured.is_empty() {
        r.notes.push(format!(
            "No purchased seats configured for {}: set them in lpgate.toml under [reports.seats] \
             (e.g. {} = 500).",
            unconfigured.join(", "),
            unconfigured[0]
        ));
    }
    r.sections = vec![s, reclaim];
    r
}
