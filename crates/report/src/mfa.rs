//! `mfa`: MFA coverage per account, and every active user without MFA, admins first.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::{Report, Section, figure, percent};
use crate::{Input, at, blank, role};

/// Builds the report from the users in scope.
pub(crate) fn report(input: &Input) -> Report {
    let mut r = blank(
        "MFA coverage",
        "Multifactor authentication among active LastPass users, per account, and every active \
         user without it (admins first).",
    );
    let active: Vec<_> = input
        .users
        .iter()
        .filter(|u| u.status == "active")
        .collect();
    let mut per: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    let mut methods: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for u in &active {
        let c = per.entry(u.account.as_str()).or_default();
        c[0] += 1;
        c[1] += usize::from(u.mfa());
        c[2] += usize::from(u.admin);
        c[3] += usize::from(u.admin && !u.mfa());
        let m = if u.mfa() {
            u.multifactor.as_str()
        } else {
            "none"
        };
        *methods.entry((u.account.as_str(), m)).or_default() += 1;
    }
    let mut accounts = Section::new(
        "accounts",
        "Coverage per account",
        "Active users with and without MFA.",
        &[
            ("account", "Account"),
            ("active_users", "Active users"),
            ("with_mfa", "With MFA"),
            ("without_mfa", "Without MFA"),
            ("coverage_pct", "Coverage %"),
            ("admins", "Active admins"),
            ("admins_without_mfa", "Admins without MFA"),
        ],
    );
    for (account, [n, m, a, am]) in &per {
        accounts.push(vec![
            json!(account),
            json!(n),
            json!(m),
            json!(n - m),
            percent(*m, *n),
            json!(a),
            json!(am),
        ]);
    }
    let mut missing: Vec<_> = active.iter().filter(|u| !u.mfa()).collect();
    missing.sort_by(|a, b| (!a.admin, &a.account, &a.email).cmp(&(!b.admin, &b.account, &b.email)));
    let mut without = Section::new(
        "without_mfa",
        "Active users without MFA",
        "Admins first, then by account and email.",
        &[
            ("account", "Account"),
            ("email", "Email"),
            ("fullname", "Name"),
            ("role", "Role"),
            ("last_login_at", "Last login"),
            ("groups", "Groups"),
        ],
    );
    for u in missing {
        without.push(vec![
            json!(u.account),
            json!(u.email),
            json!(u.fullname),
            json!(role(u.admin)),
            at(u.last_login_at),
            json!(u.groups),
        ]);
    }
    let mut by_method = Section::new(
        "methods",
        "MFA methods in use",
        "Active users per MFA method (none = no MFA).",
        &[
            ("account", "Account"),
            ("method", "Method"),
            ("users", "Users"),
        ],
    );
    for ((account, method), n) in &methods {
        by_method.push(vec![json!(account), json!(method), json!(n)]);
    }
    let total = active.len();
    let with = active.iter().filter(|u| u.mfa()).count();
    let admins_without = active.iter().filter(|u| u.admin && !u.mfa()).count();
    r.summary = vec![
        figure("active_users", "Active users", total),
        figure("with_mfa", "With MFA", with),
        figure("without_mfa", "Without MFA", total - with),
        figure("coverage_pct", "Coverage %", percent(with, total)),
        figure("admins_without_mfa", "Admins without MFA", admins_without),
    ];
    r.sections = vec![accounts, without, by_method];
    r.notes.push(
        "Only active users are counted: invited users cannot enrol before their first login, \
         and suspended users cannot log in."
            .into(),
    );
    let _ = input.now;
    r
}
