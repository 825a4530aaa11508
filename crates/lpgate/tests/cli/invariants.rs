//! What must hold after any run of `lpgate serve`, however it was treated (faults, load,
//! SIGKILL): the soak (`soak.rs`) and the crash loop (`crash.rs`) both end with these checks.
//!
//! - the store equals the emulator's company: every user and field, every membership, every
//!   shared folder and member permission;
//! - every change the test made to the company is in the change history exactly once;
//! - every notification lpgate queued reached the webhook receiver at least once, and every
//!   repeat of a delivery id carried the same event and data;
//! - the audit chain verifies.
//!
//! Each check returns the problems it found (empty = fine), so a run can count what was lost
//! and print all of it at once instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::Env;

/// One change the test made to the company, as the change history must show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expected {
    pub kind: String,
    pub subject: String,
    pub related: Option<String>,
}

impl Expected {
    pub fn user(kind: &str, email: &str) -> Self {
        Expected {
            kind: kind.into(),
            subject: email.to_lowercase(),
            related: None,
        }
    }

    pub fn member_added(group: &str, email: &str) -> Self {
        Expected {
            kind: "group.member_added".into(),
            subject: group.into(),
            related: Some(email.to_lowercase()),
        }
    }
}

/// `lpgate query` as JSON rows (the documented views, through the product's own sandbox).
pub async fn query(env: &Env, sql: &str) -> Vec<Value> {
    env.json(&["query", "--max-rows", "1000000", sql]).await
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn b(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn opt_num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn when(t: &Option<chrono::NaiveDateTime>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// The store against the emulator, field by field. Returns one line per difference.
pub async fn store_matches_emulator(env: &Env) -> Vec<String> {
    let view = env.emu.emulator().view();
    let mut problems = Vec::new();
    let rows = query(
        env,
        "SELECT email, lastpass_id, fullname, status, admin, disabled, never_logged_in, \
         invited_only, multifactor, mp_strength, total_score, created_local, \
         last_pw_change_local, last_login_local, duo_username, password_reset_required, sites, \
         notes, formfills, applications, attachments, groups FROM users \
         WHERE status <> 'deprovisioned'",
    )
    .await;
    let mut store: BTreeMap<String, Value> =
        rows.into_iter().map(|r| (s(&r["email"]), r)).collect();
    for u in &view.users {
        let Some(r) = store.remove(&u.username) else {
            problems.push(format!(
                "user {} is in LastPass but not in the store",
                u.username
            ));
            continue;
        };
        let groups: BTreeSet<String> = match &r["groups"] {
            Value::String(t) => serde_json::from_str::<Vec<String>>(t).unwrap_or_default(),
            Value::Array(a) => a.iter().map(s).collect(),
            _ => Vec::new(),
        }
        .into_iter()
        .collect();
        let lp_groups: BTreeSet<String> = u.groups.iter().cloned().collect();
        let fields: Vec<(&str, String, String)> = vec![
            ("lastpass_id", s(&r["lastpass_id"]), u.id.to_string()),
            ("fullname", s(&r["fullname"]), u.fullname.clone()),
            ("admin", b(&r["admin"]).to_string(), u.admin.to_string()),
            (
                "disabled",
                b(&r["disabled"]).to_string(),
                u.disabled.to_string(),
            ),
            (
                "never_logged_in",
                b(&r["never_logged_in"]).to_string(),
                u.neverloggedin.to_string(),
            ),
            (
                "invited_only",
                b(&r["invited_only"]).to_string(),
                "false".into(),
            ),
            ("multifactor", s(&r["multifactor"]), u.multifactor.clone()),
            (
                "mp_strength",
                opt_num(&r["mp_strength"]).unwrap_or(0.0).to_string(),
                f64::from(u.mpstrength).to_string(),
            ),
            (
                "total_score",
                format!("{:?}", opt_num(&r["total_score"])),
                format!("{:?}", u.totalscore.map(f64::from)),
            ),
            (
                "created_local",
                s(&r["created_local"]),
                when(&Some(u.created)),
            ),
            (
                "last_pw_change_local",
                s(&r["last_pw_change_local"]),
                when(&Some(u.last_pw_change)),
            ),
            (
                "last_login_local",
                s(&r["last_login_local"]),
                when(&u.last_login),
            ),
            (
                "duo_username",
                s(&r["duo_username"]),
                u.duousername.clone().unwrap_or_default(),
            ),
            (
                "password_reset_required",
                b(&r["password_reset_required"]).to_string(),
                u.password_reset_required.to_string(),
            ),
            (
                "sites",
                format!("{:?}", opt_num(&r["sites"])),
                format!("{:?}", u.sites.map(f64::from)),
            ),
            (
                "notes",
                format!("{:?}", opt_num(&r["notes"])),
                format!("{:?}", u.notes.map(f64::from)),
            ),
            (
                "formfills",
                format!("{:?}", opt_num(&r["formfills"])),
                format!("{:?}", u.formfills.map(f64::from)),
            ),
            (
                "applications",
                format!("{:?}", opt_num(&r["applications"])),
                format!("{:?}", u.applications.map(f64::from)),
            ),
            (
                "attachments",
                format!("{:?}", opt_num(&r["attachments"])),
                format!("{:?}", u.attachments.map(f64::from)),
            ),
            ("groups", format!("{groups:?}"), format!("{lp_groups:?}")),
        ];
        for (name, got, want) in fields {
            if got != want {
                problems.push(format!(
                    "user {}: {name} is {got:?} in the store, {want:?} in LastPass",
                    u.username
                ));
            }
        }
    }
    for email in &view.invited {
        match store.remove(email) {
            Some(r) if b(&r["invited_only"]) => {}
            Some(_) => problems.push(format!("invitation {email}: not invited-only in the store")),
            None => problems.push(format!("invitation {email} is not in the store")),
        }
    }
    for email in store.keys() {
        problems.push(format!("user {email} is in the store but not in LastPass"));
    }
    for u in &view.former_users {
        let rows = query(
            env,
            &format!(
                "SELECT status FROM users WHERE email = '{}'",
                u.username.replace('\'', "''")
            ),
        )
        .await;
        if rows.first().map(|r| s(&r["status"])) != Some("deprovisioned".into()) {
            problems.push(format!(
                "former user {} is not deprovisioned in the store: {rows:?}",
                u.username
            ));
        }
    }

    // Memberships.
    let store_members: BTreeSet<(String, String)> = query(
        env,
        "SELECT m.group_name, m.email FROM memberships m JOIN users u \
         ON u.account_id = m.account_id AND u.email = m.email WHERE u.status <> 'deprovisioned'",
    )
    .await
    .iter()
    .map(|r| (s(&r["group_name"]), s(&r["email"])))
    .collect();
    let lp_members: BTreeSet<(String, String)> = view
        .groups
        .iter()
        .flat_map(|(g, members)| members.iter().map(move |m| (g.clone(), m.clone())))
        .collect();
    for m in lp_members.difference(&store_members) {
        problems.push(format!(
            "membership {m:?} is in LastPass but not in the store"
        ));
    }
    for m in store_members.difference(&lp_members) {
        problems.push(format!(
            "membership {m:?} is in the store but not in LastPass"
        ));
    }

    // Shared folders and their members' permissions.
    let folders: BTreeMap<String, Value> =
        query(env, "SELECT id, name, deleted, score FROM folders")
            .await
            .into_iter()
            .map(|r| (s(&r["id"]), r))
            .collect();
    let lp_folders: BTreeSet<String> = view.folders.iter().map(|f| f.id.to_string()).collect();
    for id in folders.keys().filter(|id| !lp_folders.contains(*id)) {
        problems.push(format!("folder {id} is in the store but not in LastPass"));
    }
    for f in &view.folders {
        match folders.get(&f.id.to_string()) {
            None => problems.push(format!("folder {} ({}) is not in the store", f.id, f.name)),
            Some(r) => {
                let got = (s(&r["name"]), b(&r["deleted"]), opt_num(&r["score"]));
                let want = (f.name.clone(), f.deleted, Some(f.score));
                if got != want {
                    problems.push(format!("folder {}: store {got:?}, LastPass {want:?}", f.id));
                }
            }
        }
    }
    let store_fm: BTreeSet<(String, String, bool, bool, bool)> = query(
        env,
        "SELECT folder_id, email, readonly, give, can_administer FROM folder_members",
    )
    .await
    .iter()
    .map(|r| {
        (
            s(&r["folder_id"]),
            s(&r["email"]),
            b(&r["readonly"]),
            b(&r["give"]),
            b(&r["can_administer"]),
        )
    })
    .collect();
    let lp_fm: BTreeSet<(String, String, bool, bool, bool)> = view
        .folders
        .iter()
        .flat_map(|f| {
            f.members.iter().map(move |m| {
                (
                    f.id.to_string(),
                    m.username.clone(),
                    m.perms.readonly,
                    m.perms.give,
                    m.perms.can_administer,
                )
            })
        })
        .collect();
    for m in lp_fm.difference(&store_fm) {
        problems.push(format!(
            "folder member {m:?} is in LastPass but not in the store"
        ));
    }
    for m in store_fm.difference(&lp_fm) {
        problems.push(format!(
            "folder member {m:?} is in the store but not in LastPass"
        ));
    }
    problems
}

/// Each `expected` change appears exactly once in the change history, each of `at_most`
/// once or not at all (a change whose effect a later snapshot may absorb: a user created and
/// renamed between two reads of LastPass is one `user.created` with the new name).
pub async fn changes_once(env: &Env, expected: &[Expected], at_most: &[Expected]) -> Vec<String> {
    let rows = query(env, "SELECT kind, subject, related FROM changes").await;
    let mut counts: BTreeMap<Expected, usize> = BTreeMap::new();
    for r in &rows {
        let e = Expected {
            kind: s(&r["kind"]),
            subject: s(&r["subject"]),
            related: match &r["related"] {
                Value::Null => None,
                v => Some(s(v)),
            },
        };
        *counts.entry(e).or_default() += 1;
    }
    let mut problems = Vec::new();
    for (e, exact) in expected
        .iter()
        .map(|e| (e, true))
        .chain(at_most.iter().map(|e| (e, false)))
    {
        // A user-level expectation ignores `related` (some kinds carry the field name there).
        let n = if e.related.is_none() {
            counts
                .iter()
                .filter(|(k, _)| k.kind == e.kind && k.subject == e.subject)
                .map(|(_, n)| *n)
                .sum()
        } else {
            counts.get(e).copied().unwrap_or(0)
        };
        if n > 1 || (exact && n == 0) {
            problems.push(format!(
                "change {e:?} is in the history {n} times, not once"
            ));
        }
    }
    problems
}

/// What a webhook receiver saw.
#[derive(Default)]
pub struct Received {
    /// Every request, in arrival order: (delivery id, event, body's `data`).
    pub requests: Vec<(String, String, Value)>,
}

/// A webhook receiver on a thread: records each request, then answers 200 — or 500 to one
/// request in `fail_every` (the receiver got it but lpgate does not learn so, as when a 200 is
/// lost), so repeats of one delivery id happen. `delay` slows each answer down.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Received>>,
    pub answered_500: Arc<AtomicU64>,
}

pub fn receiver(fail_every: u64, delay: Duration) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Received::default()));
    let answered_500 = Arc::new(AtomicU64::new(0));
    let (seen, failed) = (got.clone(), answered_500.clone());
    std::thread::spawn(move || {
        let mut n = 0u64;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let Some(body) = read_request(&mut stream) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                continue;
            };
            seen.lock()
                .unwrap()
                .requests
                .push((s(&v["id"]), s(&v["event"]), v["data"].clone()));
            n += 1;
            std::thread::sleep(delay);
            let answer: &[u8] = if fail_every > 0 && n.is_multiple_of(fail_every) {
                failed.fetch_add(1, Ordering::Relaxed);
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            };
            let _ = stream.write_all(answer);
        }
    });
    Receiver {
        url,
        got,
        answered_500,
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[head_end..head_end + length].to_vec())
}

/// Adds a signed webhook channel subscribed to every change kind and every finding.
pub fn add_webhook(env: &Env, url: &str) {
    let config = env.data().join("lpgate.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[notifications.channels]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n\
         secret = \"soak-secret\"\n\n[[notifications.subscriptions]]\nchannel = \"hook\"\n\
         findings = \"low\"\nchanges = [\"*\"]\n"
    ));
    std::fs::write(config, text).unwrap();
}

/// Every notification is delivered, the receiver saw each id, and the repeats of an id carry
/// the same event and data; every change row was announced. Returns (problems, requests the
/// receiver got, distinct ids).
pub async fn deliveries_complete(env: &Env, got: &Mutex<Received>) -> (Vec<String>, usize, usize) {
    let outbox = env
        .json(&["notifications", "list", "--limit", "1000000"])
        .await;
    let received = got.lock().unwrap().requests.clone();
    let mut by_id: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
    for (id, event, data) in &received {
        by_id.entry(id).or_default().push((event, data));
    }
    let mut problems = Vec::new();
    for (id, seen) in &by_id {
        if seen.windows(2).any(|w| w[0] != w[1]) {
            problems.push(format!(
                "delivery {id} was sent with different contents: {seen:?}"
            ));
        }
    }
    let mut announced: BTreeMap<Expected, usize> = BTreeMap::new();
    for n in &outbox {
        let id = s(&n["delivery_id"]);
        if s(&n["state"]) != "delivered" {
            problems.push(format!(
                "notification {id} ({}) is {}: {}",
                s(&n["event"]),
                s(&n["state"]),
                s(&n["last_error"])
            ));
        }
        match by_id.get(id.as_str()) {
            None => problems.push(format!(
                "notification {id} ({}) never reached the receiver",
                s(&n["event"])
            )),
            Some(seen) if seen[0].0 != s(&n["event"]) => problems.push(format!(
                "notification {id}: sent as {}, queued as {}",
                seen[0].0,
                s(&n["event"])
            )),
            Some(_) => {}
        }
        let event = s(&n["event"]);
        if !event.starts_with("finding.") && !event.starts_with("plan.") {
            let data = &n["payload"];
            let e = Expected {
                kind: event,
                subject: s(&data["subject"]),
                related: match &data["related"] {
                    Value::Null => None,
                    v => Some(s(v)),
                },
            };
            *announced.entry(e).or_default() += 1;
        }
    }
    // Every change row was announced exactly once (the subscription takes every kind).
    let mut rows: BTreeMap<Expected, usize> = BTreeMap::new();
    for r in query(env, "SELECT kind, subject, related FROM changes").await {
        let e = Expected {
            kind: s(&r["kind"]),
            subject: s(&r["subject"]),
            related: match &r["related"] {
                Value::Null => None,
                v => Some(s(v)),
            },
        };
        *rows.entry(e).or_default() += 1;
    }
    if rows != announced {
        for (e, n) in &rows {
            let a = announced.get(e).copied().unwrap_or(0);
            if a != *n {
                problems.push(format!("change {e:?}: {n} rows, {a} notifications"));
            }
        }
        for (e, a) in &announced {
            if !rows.contains_key(e) {
                problems.push(format!("notification for {e:?} ({a}) without a change row"));
            }
        }
    }
    (problems, received.len(), by_id.len())
}

/// `lpgate audit verify` passes.
pub async fn audit_verifies(env: &Env) -> Vec<String> {
    let out = env.run(&["audit", "verify"]).await;
    if out.status.success() {
        Vec::new()
    } else {
        vec![format!(
            "audit verify failed: {}",
            crate::helpers::text(&out)
        )]
    }
}

/// Makes every pending notification due now and waits (at most `limit`) until a running
/// `lpgate serve` has delivered them all.
pub async fn drain_outbox(env: &Env, limit: Duration) {
    let until = std::time::Instant::now() + limit;
    loop {
        let pending = env
            .json(&[
                "notifications",
                "list",
                "--state",
                "pending",
                "--limit",
                "1000000",
            ])
            .await;
        if pending.is_empty() || std::time::Instant::now() > until {
            return;
        }
        for n in &pending {
            let due = n["next_attempt_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|t| t > chrono::Utc::now() + chrono::Duration::seconds(1));
            if due {
                let _ = env
                    .run(&["notifications", "retry", &n["id"].to_string()])
                    .await;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// `lpgate serve` with the scheduler, on a free loopback port, its stderr appended to a log.
/// Dropping it kills the process.
pub struct Serve {
    child: Option<Child>,
    pub base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Serve {
    pub async fn start(env: &Env, log: &std::path::Path) -> Serve {
        let mut cmd = env.cmd(&["serve", "--bind", "127.0.0.1:0"]);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        cmd.stdout(Stdio::piped()).stderr(Stdio::from(log));
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                while reader.read_line(&mut sink).unwrap_or(0) > 0 {
                    sink.clear();
                }
            });
            line
        })
        .await
        .unwrap();
        let base = line
            .trim()
            .strip_prefix("lpgate serving on ")
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
            .to_string();
        Serve {
            child: Some(child),
            base,
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    }

    /// SIGTERM, and the exit status (graceful shutdown finishes in-flight work).
    pub async fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap()
    }

    /// Resident memory of the process, in KiB (0 once it is gone).
    pub fn rss_kib(&self) -> u64 {
        let Some(c) = &self.child else { return 0 };
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", c.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}
