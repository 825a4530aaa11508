//! Unit tests of the reports' counting and of the renderers, on users made in memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::data::UserFacts;
use crate::render::{Format, render};
use crate::{HrInput, HrPerson, Input, Settings};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
        .expect("the fixed test instant is RFC 3339")
        .with_timezone(&Utc)
}

fn user(
    account: &str,
    email: &str,
    status: &str,
    admin: bool,
    mfa: &str,
    login_days: Option<i64>,
) -> UserFacts {
    UserFacts {
        account: account.into(),
        email: email.into(),
        fullname: email.split('@').next().unwrap_or(email).into(),
        status: status.into(),
        admin,
        multifactor: mfa.into(),
        mp_strength: Some(80),
        last_login_at: login_days.map(|d| now() - Duration::days(d)),
        created_at: Some(now() - Duration::days(400)),
        ..Default::default()
    }
}

fn input() -> Input {
    Input {
        users: vec![
            user("acme", "ann@x.io", "active", false, "", Some(1)),
            user("acme", "bob@x.io", "active", true, "", Some(2)),
            user("acme", "cid@x.io", "active", false, "duo", Some(200)),
            user("acme", "dee@x.io", "staged", false, "", None),
            user("acme", "eve@x.io", "suspended", true, "", Some(5)),
            user(
                "beta",
                "fay@x.io",
                "active",
                true,
                "lastpass_authenticator",
                Some(3),
            ),
            user("beta", "gus@x.io", "deprovisioned", false, "", Some(3)),
        ],
        now: now(),
    }
}

fn rows(r: &crate::Report, section: &str, col: &str) -> Vec<String> {
    let s = r
        .section(section)
        .unwrap_or_else(|| panic!("the report has no section {section:?}"));
    let i = s
        .columns
        .iter()
        .position(|c| c.key == col)
        .unwrap_or_else(|| panic!("section {section:?} has no column {col:?}"));
    s.rows
        .iter()
        .map(|row| crate::render::csv_cell(&row[i]))
        .collect()
}

#[test]
fn mfa_counts_active_users_and_lists_admins_first() {
    let r = crate::mfa::report(&input());
    assert_eq!(r.figure("active_users"), Some(&json!(4)));
    assert_eq!(r.figure("with_mfa"), Some(&json!(2)));
    assert_eq!(r.figure("coverage_pct"), Some(&json!(50.0)));
    assert_eq!(r.figure("admins_without_mfa"), Some(&json!(1)));
    assert_eq!(rows(&r, "without_mfa", "email"), ["bob@x.io", "ann@x.io"]);
    assert_eq!(rows(&r, "accounts", "coverage_pct"), ["33.3", "100.0"]);
}

#[test]
fn inactive_and_admins_and_licences() {
    let r = crate::inactive::report(&input(), 90);
    assert_eq!(rows(&r, "inactive", "email"), ["cid@x.io"]);
    assert_eq!(rows(&r, "inactive", "days_since_login"), ["200"]);
    assert_eq!(rows(&r, "never_activated", "email"), ["dee@x.io"]);

    let s = Settings::default();
    let grants = vec![("acme".to_string(), "bob@x.io".to_string(), Some(now()))];
    let folders = vec![crate::data::FolderAdmin {
        account: "beta".into(),
        folder: "Finance".into(),
        email: "fay@x.io".into(),
    }];
    let r = crate::admins::report(&input(), &s, &grants, &folders);
    assert_eq!(
        rows(&r, "admins", "admin_since"),
        ["2026-06-01T12:00:00Z", "", ""]
    );
    assert_eq!(rows(&r, "folder_admins", "email"), ["fay@x.io"]);
    assert_eq!(rows(&r, "folder_admins", "mfa"), ["lastpass_authenticator"]);
    assert_eq!(
        rows(&r, "admins", "email"),
        ["bob@x.io", "eve@x.io", "fay@x.io"]
    );
    assert_eq!(rows(&r, "admins", "concerns")[0], "no MFA");
    assert_eq!(
        rows(&r, "admins", "concerns")[1],
        "suspended but still an admin"
    );
    assert_eq!(rows(&r, "admins", "decision"), ["", "", ""]);

    let mut s = Settings::default();
    s.seats.insert("acme".into(), 3);
    let r = crate::licences::report(&input(), &s, &["acme".into(), "beta".into()]);
    assert_eq!(rows(&r, "accounts", "used"), ["4", "1"]);
    assert_eq!(rows(&r, "accounts", "available"), ["-1", ""]);
    assert_eq!(rows(&r, "accounts", "state"), ["over", "not configured"]);
    assert!(r.notes[0].contains("beta"), "{:?}", r.notes);
}

#[test]
fn coverage_matches_by_email_and_lists_bad_rows() {
    let person = |email: &str, active: bool| HrPerson {
        email: email.into(),
        name: None,
        active,
        department: Some("Ops".into()),
    };
    let hr = HrInput {
        source: "hr.csv".into(),
        people: vec![
            person("ann@x.io", true),
            person("bob@x.io", false),
            person("dee@x.io", true),
            person("hal@x.io", true),
        ],
        bad_rows: vec!["line 6: email: invalid email \"nope\"".into()],
    };
    let r = crate::coverage::report(&input(), hr);
    assert_eq!(rows(&r, "no_vault", "email"), ["hal@x.io"]);
    assert_eq!(rows(&r, "terminated_active", "email"), ["bob@x.io"]);
    assert_eq!(rows(&r, "orphaned", "email"), ["cid@x.io", "fay@x.io"]);
    assert_eq!(rows(&r, "never_activated", "hr_status"), ["employee"]);
    assert_eq!(rows(&r, "bad_rows", "line"), ["6"]);
    assert_eq!(
        rows(&r, "bad_rows", "problem"),
        ["email: invalid email \"nope\""]
    );
    assert_eq!(r.figure("employees"), Some(&json!(3)));
    assert_eq!(r.figure("with_vault"), Some(&json!(1)));
    assert_eq!(r.figure("invited"), Some(&json!(1)));
}

#[test]
fn every_format_renders() {
    let mut r = crate::mfa::report(&input());
    r.name = "mfa".into();
    r.generated_at = now();
    r.accounts = vec!["acme".into(), "beta".into()];
    r.sources = vec![crate::Source {
        account: "acme".into(),
        run_id: Some(7),
        finished_at: Some(now()),
        later_failure: None,
    }];
    r.sections[1].rows[0][2] = json!("<script>alert(1)</script>");
    let html =
        String::from_utf8(render(&r, Format::Html).expect("HTML renders")).expect("HTML is UTF-8");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("@media print"));
    assert!(html.contains("thead { display: table-header-group; }"));
    assert!(html.contains("<th scope=\"col\">Email</th>"));
    assert!(html.contains("Produced 2026-06-01 12:00:00 UTC"));
    assert!(html.contains("<th scope=\"row\">acme</th><td>7</td>"));
    assert!(!html.contains("<script>"), "escaped");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    let csv =
        String::from_utf8(render(&r, Format::Csv).expect("CSV renders")).expect("CSV is UTF-8");
    assert!(csv.starts_with("section,account,active_users,"), "{csv}");
    assert!(csv.contains("\nwithout_mfa,acme,"), "{csv}");
    let j: serde_json::Value =
        serde_json::from_slice(&render(&r, Format::Json).expect("JSON renders"))
            .expect("the JSON report parses");
    assert_eq!(j["report"], "mfa");
    assert_eq!(j["summary"]["active_users"], 4);
    assert_eq!(j["sources"][0]["run_id"], 7);
    assert_eq!(j["generated_at"], "2026-06-01T12:00:00Z");
    assert_eq!(j["sections"][1]["rows"][0]["email"], "bob@x.io");
}

#[test]
fn notes_name_accounts_never_synced_and_stale_ones() {
    let src = |account: &str, run: Option<i64>, later: Option<&str>| crate::Source {
        account: account.into(),
        run_id: run,
        finished_at: run.map(|_| now()),
        later_failure: later.map(str::to_string),
    };
    let notes = crate::source_notes(&[
        src("acme", Some(3), None),
        src("beta", None, None),
        src("gamma", Some(9), Some("failed")),
    ]);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("beta has never synced"), "{notes:?}");
    assert_eq!(
        notes[1],
        "Account gamma: the newest sync failed; figures are from run 9, finished 2026-06-01 12:00 UTC."
    );
}
