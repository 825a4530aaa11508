//! `coverage`: the HR headcount against LastPass — employees with no vault, vaults with no
//! employee (orphaned), terminated employees still able to log in, invitations never
//! accepted, and the HR rows that could not be read (listed, never skipped silently).
//!
//! People and users are matched by email, case-insensitively, across every account in scope.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::data::UserFacts;
use crate::model::{Report, Section, figure, parameter, percent};
use crate::{HrInput, Input, at, blank, days_since, role};

/// Builds the report from the users in scope and the HR list.
pub(crate) fn report(input: &Input, hr: HrInput) -> Report {
    let mut r = blank(
        "Password manager coverage",
        "HR headcount against LastPass accounts: employees with no vault, vaults with no \
         employee (orphaned), terminated employees still active, and invitations never \
         accepted.",
    );
    r.parameters.push(parameter("hr_source", &hr.source));
    let mut by_email: BTreeMap<String, Vec<&UserFacts>> = BTreeMap::new();
    for u in &input.users {
        by_email.entry(u.email.to_lowercase()).or_default().push(u);
    }
    let people: HashMap<&str, &crate::HrPerson> =
        hr.people.iter().map(|p| (p.email.as_str(), p)).collect();
    let describe = |users: Option<&Vec<&UserFacts>>| -> String {
        match users {
            None => "none".into(),
            Some(us) => us
                .iter()
                .map(|u| format!("{} in {}", u.status, u.account))
                .collect::<Vec<_>>()
                .join("; "),
        }
    };

    let mut no_vault = Section::new(
        "no_vault",
        "Employees with no vault",
        "Active employees with no active or invited LastPass user in any account.",
        &[
            ("email", "Email"),
            ("name", "Name"),
            ("department", "Department"),
            ("lastpass", "LastPass"),
        ],
    );
    let mut terminated = Section::new(
        "terminated_active",
        "Terminated employees still active",
        "People HR lists as terminated whose LastPass user is active or invited (not \
         suspended or removed).",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("name", "Name"),
            ("department", "Department"),
            ("status", "LastPass status"),
            ("role", "Role"),
            ("last_login_at", "Last login"),
        ],
    );
    let (mut employees, mut covered, mut pending) = (0usize, 0usize, 0usize);
    let mut leavers = 0usize;
    for p in &hr.people {
        let users = by_email.get(&p.email);
        let present: Vec<&&UserFacts> = users
            .map(|us| us.iter().filter(|u| u.present()).collect())
            .unwrap_or_default();
        if p.active {
            employees += 1;
            if present.iter().any(|u| u.status == "active") {
                covered += 1;
            } else if !present.is_empty() {
                pending += 1;
            } else {
                no_vault.push(vec![
                    json!(p.email),
                    json!(p.name),
                    json!(p.department),
                    json!(describe(users)),
                ]);
            }
        } else {
            leavers += 1;
            for u in present {
                terminated.push(vec![
                    json!(u.account),
                    json!(u.email),
                    json!(p.name.clone().unwrap_or_else(|| u.fullname.clone())),
                    json!(p.department),
                    json!(u.status),
                    json!(role(u.admin)),
                    at(u.last_login_at),
                ]);
            }
        }
    }

    let mut orphaned = Section::new(
        "orphaned",
        "Vaults with no employee (orphaned)",
        "Active or invited LastPass users with no row in the HR list.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("status", "Status"),
            ("last_login_at", "Last login"),
        ],
    );
    let mut never = Section::new(
        "never_activated",
        "Invitations never accepted",
        "Staged users (invited or created, never logged in), oldest first, with what HR says.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("hr_status", "HR status"),
            ("invited_at", "Created or invited"),
            ("days_waiting", "Days waiting"),
        ],
    );
    let mut staged: Vec<&UserFacts> = Vec::new();
    for u in input.users.iter().filter(|u| u.present()) {
        if !people.contains_key(u.email.to_lowercase().as_str()) {
            orphaned.push(vec![
                json!(u.account),
                json!(u.email),
                json!(u.fullname),
                json!(role(u.admin)),
                json!(u.status),
                at(u.last_login_at),
            ]);
        }
        if u.status == "staged" {
            staged.push(u);
        }
    }
    staged.sort_by_key(|u| {
        (
            u.created_at.or(u.first_seen),
            u.account.clone(),
            u.email.clone(),
        )
    });
    for u in staged {
        let hr_status = match people.get(u.email.to_lowercase().as_str()) {
            None => "not in HR",
            Some(p) if p.active => "employee",
            Some(_) => "terminated",
        };
        let since = u.created_at.or(u.first_seen);
        never.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(hr_status),
            at(since),
            days_since(since, input.now),
        ]);
    }

    let mut bad = Section::new(
        "bad_rows",
        "HR rows that could not be read",
        "These rows were left out of every figure above; correct them in the HR export.",
        &[("line", "Line"), ("problem", "Problem")],
    );
    for msg in &hr.bad_rows {
        let (line, problem) = split_line(msg);
        bad.push(vec![line, json!(problem)]);
    }
    if !hr.bad_rows.is_empty() {
        r.notes.push(format!(
            "{} row(s) of the HR list could not be read and are not counted; they are listed \
             under \"HR rows that could not be read\".",
            hr.bad_rows.len()
        ));
    }
    r.summary = vec![
        figure("employees", "Employees (active in HR)", employees),
        figure("with_vault", "Employees with an active vault", covered),
        figure("invited", "Employees invited, not yet active", pending),
        figure("no_vault", "Employees with no vault", no_vault.rows.len()),
        figure("coverage_pct", "Coverage %", percent(covered, employees)),
        figure("terminated_in_hr", "Terminated in HR", leavers),
        figure(
            "terminated_active",
            "Terminated but still active",
            terminated.rows.len(),
        ),
        figure("orphaned", "Orphaned vaults", orphaned.rows.len()),
        figure(
            "never_activated",
            "Invitations never accepted",
            never.rows.len(),
        ),
        figure("bad_rows", "HR rows not read", hr.bad_rows.len()),
    ];
    r.sections = vec![no_vault, orphaned, terminated, never, bad];
    r
}

/// `line 7: email: invalid …` → (7, `email: invalid …`); anything else has no line.
fn split_line(msg: &str) -> (Value, &str) {
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some((n, problem)) = rest.split_once(": ")
        && let Ok(n) = n.parse::<u64>()
    {
        return (json!(n), problem);
    }
    (Value::Null, msg)
}
