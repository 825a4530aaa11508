//! `lpgate report`, `lpgate export users` and `GET /v1/reports/{name}` against a store synced
//! from an emulated account in which the test first made every state it then expects: admins
//! with and without MFA, a user inactive for 400 days with an expired master password, an old never-activated user, a fresh
//! invitation, a suspended user, a weak master password, pending master-password changes,
//! and an HR export with a terminated employee, a missing one and bad rows.

use chrono::TimeDelta;
use lpgate_emulator::{Clock, FolderPerms};
use serde_json::{Value, json};

use crate::helpers::{Env, env_empty, path, text};
use crate::serve::{emu_call, get, second_account, start, token};

/// Makes the company (domain example.com) and syncs it as account `acme`.
async fn company() -> Env {
    let e = env_empty().await;
    let emu = e.emu.emulator();
    let add = |who: &[&str], reset: bool| {
        let users: Vec<Value> = who
            .iter()
            .map(|w| {
                json!({"username": format!("{w}@example.com"), "fullname": w.to_uppercase(),
                       "password_reset_required": reset})
            })
            .collect();
        emu_call(&e, "batchadd", Value::Array(users));
    };
    // 400 days ago `old` joined, set a master password (expired after a year) and last
    // logged in; 200 days ago `stan` was created and never came.
    emu.set_clock(Clock::Offset(TimeDelta::days(-400)));
    add(&["old"], false);
    emu.login("old@example.com").unwrap();
    emu.change_master_password("old@example.com", 85).unwrap();
    emu.set_clock(Clock::Offset(TimeDelta::days(-200)));
    add(&["stan"], true);
    emu.set_clock(Clock::System);
    add(&["ann", "bob", "cid", "dee", "eve", "sue"], false);
    for w in ["ann", "bob", "cid", "dee", "eve", "sue"] {
        emu.login(&format!("{w}@example.com")).unwrap();
        let strength = if w == "cid" { 20 } else { 85 };
        emu.change_master_password(&format!("{w}@example.com"), strength)
            .unwrap();
    }
    // After the strength above: the admin console requires dee to change it again.
    emu_call(
        &e,
        "requiremasterpasswordchange",
        json!({"username": "dee@example.com"}),
    );
    emu.set_admin("ann@example.com", true).unwrap();
    emu.set_admin("bob@example.com", true).unwrap();
    emu.set_multifactor("ann@example.com", Some("duo")).unwrap();
    emu.set_multifactor("cid@example.com", Some("lastpass_authenticator"))
        .unwrap();
    emu.set_multifactor("eve@example.com", Some("duo")).unwrap();
    emu.invite("ivy@example.com").unwrap();
    // Ann administers the Finance shared folder; Dee only reads it.
    let perms = |admin: bool| FolderPerms {
        readonly: !admin,
        give: admin,
        can_administer: admin,
    };
    emu.share_folder("Finance", "ann@example.com", perms(true))
        .unwrap();
    emu.share_folder("Finance", "dee@example.com", perms(false))
        .unwrap();
    let body = json!({"cid": crate::helpers::CID, "provhash": crate::helpers::HASH,
                      "cmd": "disableuser", "data": ["sue@example.com"]});
    let reply = emu.call(body.to_string().as_bytes());
    assert!(String::from_utf8_lossy(&reply).contains("success"));
    e.linked().await;
    std::fs::write(
        e.data().join("lpgate.toml"),
        std::fs::read_to_string(e.data().join("lpgate.toml")).unwrap()
            + "\n[reports.seats]\nacme = 7\n",
    )
    .unwrap();
    e.ok(&["sync", "acme"]).await;
    e
}

/// The HR export: custom column names, a terminated employee still active (eve), one with
/// no vault (hal), one only invited (stan), and two bad rows.
fn hr_file(e: &Env) -> std::path::PathBuf {
    let f = e.dir.path().join("hr.csv");
    std::fs::write(
        &f,
        "Work Email,Full Name,Employment Status,Dept\n\
         ann@example.com,Ann,active,IT\n\
         BOB@example.com,Bob,active,IT\n\
         cid@example.com,Cid,active,Sales\n\
         dee@example.com,Dee,on leave,Sales\n\
         eve@example.com,Eve,terminated,Sales\n\
         hal@example.com,Hal,active,Ops\n\
         not-an-email,Nobody,active,Ops\n\
         stan@example.com,Stan,active,Ops\n\
         zed@example.com,Zed,retired,Ops\n",
    )
    .unwrap();
    f
}

fn column(report: &Value, section: &str, col: &str) -> Vec<Value> {
    let s = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == section)
        .unwrap_or_else(|| panic!("no section {section}: {report}"));
    s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[col].clone())
        .collect()
}

fn emails(report: &Value, section: &str) -> Vec<String> {
    column(report, section, "email")
        .into_iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

async fn report(e: &Env, args: &[&str]) -> Value {
    let mut a = vec!["report"];
    a.extend(args);
    a.extend(["--format", "json"]);
    serde_json::from_str(&e.ok(&a).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_show_exactly_the_states_made_in_lastpass() {
    let e = company().await;

    let mfa = report(&e, &["mfa"]).await;
    assert_eq!(mfa["report"], "mfa");
    assert_eq!(mfa["accounts"], json!(["acme"]));
    let runs = e.json(&["query", "SELECT id FROM sync_runs"]).await;
    assert_eq!(mfa["sources"][0]["run_id"], runs[0]["id"]);
    assert!(mfa["sources"][0]["finished_at"].is_string());
    assert_eq!(mfa["summary"]["active_users"], 6);
    assert_eq!(mfa["summary"]["with_mfa"], 3);
    assert_eq!(mfa["summary"]["coverage_pct"], 50.0);
    assert_eq!(mfa["summary"]["admins_without_mfa"], 1);
    // The admin without MFA comes first.
    assert_eq!(
        emails(&mfa, "without_mfa"),
        ["bob@example.com", "dee@example.com", "old@example.com"]
    );
    assert_eq!(column(&mfa, "without_mfa", "role")[0], "admin");

    let inactive = report(&e, &["inactive", "--days", "90"]).await;
    assert_eq!(emails(&inactive, "inactive"), ["old@example.com"]);
    let days = column(&inactive, "inactive", "days_since_login")[0]
        .as_i64()
        .unwrap();
    assert!((399..=401).contains(&days), "{days}");
    assert_eq!(emails(&inactive, "never_activated"), ["stan@example.com"]);
    assert_eq!(inactive["parameters"]["days"], "90");
    let none = report(&e, &["inactive", "--days", "500"]).await;
    assert_eq!(none["summary"]["inactive"], 0);

    // Cid is made an admin after the first sync: the next sync records when.
    e.emu.emulator().set_admin("cid@example.com", true).unwrap();
    e.ok(&["sync", "acme"]).await;
    let granted = e
        .json(&[
            "query",
            "SELECT at FROM changes WHERE kind = 'user.admin_granted'",
        ])
        .await;
    let first_seen = e
        .json(&[
            "query",
            "SELECT first_seen FROM users WHERE email = 'ann@example.com'",
        ])
        .await;
    let iso = |v: &Value| json!(v.as_str().unwrap().replace(' ', "T") + "Z");
    let admins = report(&e, &["admins"]).await;
    assert_eq!(
        emails(&admins, "admins"),
        ["ann@example.com", "bob@example.com", "cid@example.com"]
    );
    assert_eq!(
        column(&admins, "admins", "mfa"),
        [json!("duo"), json!("none"), json!("lastpass_authenticator")]
    );
    assert_eq!(
        column(&admins, "admins", "concerns"),
        [json!(""), json!("no MFA"), json!("weak master password")]
    );
    assert_eq!(
        column(&admins, "admins", "admin_since")[0],
        iso(&first_seen[0]["first_seen"])
    );
    assert_eq!(
        column(&admins, "admins", "admin_since")[2],
        iso(&granted[0]["at"])
    );
    assert!(column(&admins, "admins", "last_login_at")[1].is_string());
    assert_eq!(
        column(&admins, "admins", "reviewer"),
        [json!(""), json!(""), json!("")]
    );
    assert_eq!(emails(&admins, "folder_admins"), ["ann@example.com"]);
    assert_eq!(
        column(&admins, "folder_admins", "folder"),
        [json!("Finance")]
    );
    assert_eq!(admins["summary"]["folder_admins"], 1);

    // 7 seats bought; active 6 + staged 2 (stan, ivy) = 8 used.
    let lic = report(&e, &["licences"]).await;
    assert_eq!(column(&lic, "accounts", "active"), [json!(6)]);
    assert_eq!(column(&lic, "accounts", "staged"), [json!(2)]);
    assert_eq!(column(&lic, "accounts", "used"), [json!(8)]);
    assert_eq!(column(&lic, "accounts", "available"), [json!(-1)]);
    assert_eq!(column(&lic, "accounts", "suspended"), [json!(1)]);
    assert_eq!(column(&lic, "accounts", "state"), [json!("over")]);
    assert_eq!(lic["summary"]["accounts_over"], 1);
    assert_eq!(
        emails(&lic, "reclaimable"),
        ["old@example.com", "stan@example.com"],
        "oldest first"
    );

    let pw = report(&e, &["passwords"]).await;
    assert_eq!(emails(&pw, "weak"), ["cid@example.com"]);
    assert_eq!(column(&pw, "weak", "mp_strength"), [json!(20)]);
    let mut pending = emails(&pw, "resets_pending");
    pending.sort();
    assert_eq!(pending, ["dee@example.com", "stan@example.com"]);
    // Read from LastPass's expiredmasterpwlist at the sync.
    assert_eq!(emails(&pw, "expired"), ["old@example.com"]);
    assert_eq!(column(&pw, "expired", "fullname"), [json!("OLD")]);
    let since = column(&pw, "expired", "days_since_change")[0]
        .as_i64()
        .unwrap();
    assert!((399..=401).contains(&since), "{since}");
    assert_eq!(pw["summary"]["expired"], 1);
    assert!(
        pw["parameters"]["expired_list_read_at.acme"].is_string(),
        "{pw}"
    );

    // Coverage with a file: configurable columns, bad rows listed (and warned about).
    let hr = hr_file(&e);
    let args = [
        "report",
        "coverage",
        "--hr",
        path(&hr),
        "--email-column",
        "work email",
        "--name-column",
        "Full Name",
        "--status-column",
        "Employment Status",
        "--department-column",
        "Dept",
        "--format",
        "json",
    ];
    let out = e.run(&args).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 row(s) of"),
        "{}",
        text(&out)
    );
    let cov: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(emails(&cov, "no_vault"), ["hal@example.com"]);
    assert_eq!(emails(&cov, "terminated_active"), ["eve@example.com"]);
    assert_eq!(
        emails(&cov, "orphaned"),
        ["ivy@example.com", "old@example.com"]
    );
    assert_eq!(
        emails(&cov, "never_activated"),
        ["stan@example.com", "ivy@example.com"]
    );
    assert_eq!(
        column(&cov, "never_activated", "hr_status"),
        [json!("employee"), json!("not in HR")]
    );
    assert_eq!(column(&cov, "bad_rows", "line"), [json!(8), json!(10)]);
    let problems = column(&cov, "bad_rows", "problem");
    assert!(
        problems[0].as_str().unwrap().contains("not-an-email"),
        "{problems:?}"
    );
    assert!(
        problems[1].as_str().unwrap().contains("retired"),
        "{problems:?}"
    );
    assert_eq!(cov["summary"]["employees"], 6);
    assert_eq!(cov["summary"]["with_vault"], 4);
    assert_eq!(cov["summary"]["invited"], 1);
    assert_eq!(cov["summary"]["bad_rows"], 2);

    // An account never synced is named in the notes, with no run.
    e.ok(&[
        "account",
        "add",
        "gamma",
        "--cid",
        "99",
        "--provhash-file",
        path(&e.hash_file()),
        "--url",
        "http://127.0.0.1:9",
        "--no-check",
    ])
    .await;
    let all = report(&e, &["mfa"]).await;
    assert_eq!(all["accounts"], json!(["acme", "gamma"]));
    assert!(all["sources"][1]["run_id"].is_null(), "{all}");
    assert!(
        all["notes"][0]
            .as_str()
            .unwrap()
            .contains("gamma has never synced successfully"),
        "{all}"
    );
    assert_eq!(all["summary"]["active_users"], 6);

    // Every format; --out picks the format from the extension and writes the file.
    let html_file = e.dir.path().join("mfa.html");
    let out = e.run(&["report", "mfa", "--out", path(&html_file)]).await;
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(&html_file).unwrap();
    let runs = e
        .json(&["query", "SELECT MAX(id) AS id FROM sync_runs"])
        .await;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<td>bob@example.com</td>"));
    assert!(html.contains(&format!(
        "<th scope=\"row\">acme</th><td>{}</td>",
        runs[0]["id"]
    )));
    assert!(html.contains("@media print"));
    let csv = e.ok(&["report", "admins", "--format", "csv"]).await;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("section,account,email,fullname,status,admin_since,mfa,last_login_at"),
        "{csv}"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("admins,acme,ann@example.com,ANN,active,")
    );
    // A header, three admins, one shared-folder administrator.
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .starts_with("folder_admins,acme,ann@example.com,ANN,active,"),
        "{csv}"
    );

    // Mistakes: exit 2 naming what is wrong; an unreadable HR header exits 1.
    for (args, needle) in [
        (vec!["report", "inactive", "--days", "0"], "--days 0"),
        (
            vec!["report", "mfa", "--account", "nope"],
            "unknown account \"nope\"",
        ),
        (vec!["report", "coverage"], "needs an HR list"),
        (vec!["report", "mfa", "--format", "pdf"], "pdf"),
    ] {
        let out = e.run(&args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(needle), "{args:?}: {}", text(&out));
    }
    let out = e
        .run(&[
            "report",
            "coverage",
            "--hr",
            path(&hr),
            "--email-column",
            "mail",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no column \"mail\""), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_users_through_a_map() {
    let e = company().await;
    let map = e.dir.path().join("map.toml");
    std::fs::write(
        &map,
        r#"
key = "email"
date_format = "%d.%m.%Y %H:%M"
time_zone = "Asia/Kolkata"
statuses = ["active", "suspended"]

[[field]]
from = "email"
to = "Email Address"

[[field]]
from = "fullname"
to = "Name"

[[field]]
from = "status"
to = "State"
values = { active = "Enabled", suspended = "Disabled" }

[[field]]
from = "admin"
to = "Is Admin"

[[field]]
from = "last_login_at"
to = "Last Login (IST)"
"#,
    )
    .unwrap();
    let csv = e.ok(&["export", "users", "--map", path(&map)]).await;
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "Email Address",
            "Name",
            "State",
            "Is Admin",
            "Last Login (IST)"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[0].to_string(), r[2].to_string()))
        .collect();
    let want: Vec<(String, String)> = ["ann", "bob", "cid", "dee", "eve", "old", "sue"]
        .iter()
        .map(|w| {
            let state = if *w == "sue" { "Disabled" } else { "Enabled" };
            (format!("{w}@example.com"), state.to_string())
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(&rows[0][3], "true");
    assert_eq!(&rows[2][3], "false");
    // The stored UTC login, shown in India's zone (+05:30) in the map's format.
    let utc = e
        .json(&[
            "query",
            "SELECT last_login_at FROM users WHERE email = 'ann@example.com'",
        ])
        .await;
    let utc = chrono::NaiveDateTime::parse_from_str(
        utc[0]["last_login_at"].as_str().unwrap(),
        "%Y-%m-%d %H:%M:%S",
    )
    .unwrap();
    let ist = (utc + TimeDelta::minutes(330))
        .format("%d.%m.%Y %H:%M")
        .to_string();
    assert_eq!(&rows[0][4], ist.as_str());

    // JSON keeps the map's order and types; --out writes the file.
    let out_file = e.dir.path().join("users.json");
    e.ok(&[
        "export",
        "users",
        "--map",
        path(&map),
        "--format",
        "json",
        "--out",
        path(&out_file),
    ])
    .await;
    let text_json = std::fs::read_to_string(&out_file).unwrap();
    let v: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&text_json).unwrap();
    assert_eq!(v.len(), 7);
    assert_eq!(v[0]["Is Admin"], json!(true));
    assert!(text_json.find("\"Email Address\"").unwrap() < text_json.find("\"Name\"").unwrap());

    // Bad maps and keys: exit 1 naming the setting and the value.
    let base = std::fs::read_to_string(&map).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            base.replace("Asia/Kolkata", "Asia/Atlantis"),
            "time_zone = \"Asia/Atlantis\"",
        ),
        (
            base.replace("key = \"email\"", "key = \"lastpass_id\""),
            "key = \"lastpass_id\"",
        ),
        (
            base.replace("from = \"admin\"", "from = \"is_boss\""),
            "from = \"is_boss\"",
        ),
        (base.replace("%d.%m.%Y %H:%M", "%d.%m.%Y %J"), "date_format"),
        (
            base.replace("to = \"Name\"", "to = \"State\""),
            "to = \"State\"",
        ),
        (format!("color = \"red\"\n{base}"), "color"),
        (
            base.replace("key = \"email\"", "key = \"status\"")
                .replace("from = \"email\"", "from = \"email\"\n"),
            "key status: the value \"active\" belongs to more than one user",
        ),
        ("key = [\n".to_string(), "map.toml"),
    ];
    for (text_map, needle) in cases {
        std::fs::write(&map, &text_map).unwrap();
        let out = e.run(&["export", "users", "--map", path(&map)]).await;
        assert_eq!(out.status.code(), Some(1), "{needle}: {}", text(&out));
        assert!(text(&out).contains(needle), "{needle}: {}", text(&out));
        assert!(out.stdout.is_empty(), "{needle}: nothing on stdout");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_over_http_with_account_isolation_and_bad_parameters() {
    let e = company().await;
    let _beta = second_account(&e).await;
    e.ok(&["sync", "beta"]).await;
    let admin = token(&e, "admin", "read", None).await;
    let acme = token(&e, "acme-read", "read", Some("acme")).await;
    let server = start(&e).await;
    // No HR list loaded yet: coverage cannot be computed.
    let (status, err) = get(&server, Some(&acme), "/v1/reports/coverage").await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "no_hr_list");

    // `hr load` refuses a file with bad rows: load the good ones.
    let hr = hr_file(&e);
    let good: String = std::fs::read_to_string(&hr)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("not-an-email") && !l.contains("retired"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&hr, good).unwrap();
    e.ok(&[
        "hr",
        "load",
        path(&hr),
        "--email-column",
        "Work Email",
        "--status-column",
        "Employment Status",
    ])
    .await;

    // JSON: all accounts for an unlimited token, one for an account-limited one.
    let (status, all) = get(&server, Some(&admin), "/v1/reports/mfa").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["accounts"], json!(["acme", "beta"]));
    let (status, mine) = get(&server, Some(&acme), "/v1/reports/mfa").await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["accounts"], json!(["acme"]));
    assert_eq!(
        emails(&mine, "without_mfa"),
        ["bob@example.com", "dee@example.com", "old@example.com"]
    );
    assert!(column(&all, "accounts", "account").contains(&json!("beta")));
    // The limited token cannot ask for the other account: answered as if it did not exist.
    let (status, err) = get(&server, Some(&acme), "/v1/reports/mfa?account=beta").await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["field"], "account");

    let (status, inactive) = get(&server, Some(&acme), "/v1/reports/inactive?days=90").await;
    assert_eq!(status, 200, "{inactive}");
    assert_eq!(emails(&inactive, "inactive"), ["old@example.com"]);

    // coverage compares with the stored HR list.
    let (status, cov) = get(&server, Some(&acme), "/v1/reports/coverage").await;
    assert_eq!(status, 200, "{cov}");
    assert_eq!(emails(&cov, "terminated_active"), ["eve@example.com"]);
    assert_eq!(emails(&cov, "no_vault"), ["hal@example.com"]);

    // CSV and HTML: content type and disposition.
    let client = reqwest::Client::new();
    let fetch = |q: &'static str| {
        client
            .get(format!("{}/v1/reports/{q}", server.base))
            .bearer_auth(&acme)
            .send()
    };
    let res = fetch("admins?format=csv").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let cd = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("attachment; filename=\"lpgate-admins-acme-"),
        "{cd}"
    );
    assert!(cd.ends_with(".csv\""), "{cd}");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = res.text().await.unwrap();
    assert!(body.starts_with("section,account,email"), "{body}");
    let res = fetch("licences?format=html").await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let cd = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("inline; filename=\"lpgate-licences-acme-") && cd.ends_with(".html\""),
        "{cd}"
    );
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Licence use</h1>"), "{html}");

    // Bad parameters: 400 naming the field; unknown report 404; no token 401.
    for (q, field) in [
        ("mfa?format=pdf", "format"),
        ("inactive?days=0", "days"),
        ("inactive?days=lots", "days"),
        ("mfa?days=5", "days"),
        ("mfa?colour=red", "colour"),
        ("mfa?account=nope", "account"),
    ] {
        let (status, err) = get(&server, Some(&admin), &format!("/v1/reports/{q}")).await;
        assert_eq!(status, 400, "{q}: {err}");
        assert_eq!(err["error"]["field"], field, "{q}: {err}");
        assert_eq!(err["error"]["code"], "invalid_parameter");
    }
    let (status, err) = get(&server, Some(&admin), "/v1/reports/everything").await;
    assert_eq!(status, 404, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mfa, coverage")
    );
    assert_eq!(get(&server, None, "/v1/reports/mfa").await.0, 401);
}
