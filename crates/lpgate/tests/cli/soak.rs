//! The soak under faults (issue 10; docs/reliability.md): `lpgate serve`, a real process with
//! its scheduler, against an emulated LastPass that fails 10 % of requests (500, 429, stalls
//! past the client's timeout, truncated bodies, dropped connections) and adds latency, while
//! a load generator reads the REST API and SCIM, writes through SCIM and plans, starts syncs,
//! and the company keeps changing (first logins, hires, departures, admin grants, MFA). Then
//! faults stop, one last sync runs, and `invariants` checks that nothing was lost.
//!
//! Ignored in the ordinary suite: `scripts/soak [--minutes N]` runs it (3 minutes by default,
//! `LPGATE_SOAK_MINUTES`) and prints one summary line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lpgate_emulator::{FaultSpec, Latency, Rate};
use serde_json::{Value, json};

use crate::helpers::{CID, Env, HASH, env};
use crate::invariants::{self, Expected, Serve};

/// What the load generator saw, shared by its tasks.
#[derive(Default)]
struct Tally {
    /// Requests answered by lpgate.
    requests: AtomicU64,
    /// Failures lpgate documents for these conditions, by `status code`.
    expected_failures: Mutex<BTreeMap<String, u64>>,
    /// Anything else: each one fails the soak.
    unexpected: Mutex<Vec<String>>,
    /// Changes made to the company (through LastPass's side or lpgate's writes).
    changes: Mutex<Vec<Expected>>,
    /// Changes a later change of the same user may absorb (at most once in the history).
    maybe: Mutex<Vec<Expected>>,
    /// Writes made through the API that the audit log must hold: (action, email).
    writes: Mutex<Vec<(String, String)>>,
}

impl Tally {
    fn expected(&self, what: String) {
        *self
            .expected_failures
            .lock()
            .unwrap()
            .entry(what)
            .or_default() += 1;
    }
    fn unexpected(&self, what: String) {
        eprintln!("soak: unexpected: {what}");
        self.unexpected.lock().unwrap().push(what);
    }
    fn change(&self, e: Expected) {
        self.changes.lock().unwrap().push(e);
    }
}

struct Load {
    http: reqwest::Client,
    base: String,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
}

struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

impl Load {
    /// One request; a transport failure or a body that is not JSON is unexpected (`None`).
    async fn call(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Option<Answer> {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            let ct = if path.starts_with("/scim") {
                "application/scim+json"
            } else {
                "application/json"
            };
            req = req.header("content-type", ct).body(b.to_string());
        }
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                self.tally.unexpected(format!("{method} {path}: {e}"));
                return None;
            }
        };
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = res.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(_) => {
                    self.tally
                        .unexpected(format!("{method} {path}: {status}, not JSON: {text}"));
                    return None;
                }
            }
        };
        Some(Answer {
            status,
            body,
            retry_after,
        })
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Reads: every page of `/v1/users` (no email twice in one walk), groups, folders, changes,
/// events, the account, findings, SCIM lists with filters. Every read must answer 200.
async fn reader(load: Arc<Load>, token: String, scim: String) {
    let mut round = 0u64;
    while !load.stopping() {
        round += 1;
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let path = match &cursor {
                None => "/v1/users?limit=73".to_string(),
                Some(c) => format!("/v1/users?limit=73&cursor={c}"),
            };
            let Some(a) = load.call("GET", &token, &path, None).await else {
                break;
            };
            if a.status != 200 {
                load.tally
                    .unexpected(format!("GET {path}: {} {}", a.status, a.body));
                break;
            }
            for u in a.body["result"].as_array().into_iter().flatten() {
                let email = u["email"].as_str().unwrap_or_default().to_string();
                if !seen.insert(email.clone()) {
                    load.tally
                        .unexpected(format!("a /v1/users walk returned {email} twice"));
                }
            }
            match a.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        for path in [
            "/v1/groups",
            "/v1/folders",
            "/v1/changes?limit=50",
            "/v1/events?limit=20",
            "/v1/accounts/acme",
            "/v1/findings?limit=20",
            "/v1/users?status=active&admin=true",
        ] {
            if let Some(a) = load.call("GET", &token, path, None).await
                && a.status != 200
            {
                load.tally
                    .unexpected(format!("GET {path}: {} {}", a.status, a.body));
            }
        }
        let filter = if round.is_multiple_of(2) {
            "userName sw \"soak\""
        } else {
            "active eq false"
        };
        let path = format!("/scim/v2/Users?count=50&filter={}", urlencode(filter));
        if let Some(a) = load.call("GET", &scim, &path, None).await
            && a.status != 200
        {
            load.tally
                .unexpected(format!("GET {path}: {} {}", a.status, a.body));
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An identity provider's retry loop around one SCIM write: 502 (LastPass failed; the error
/// says a retry sends it again) and 503 (busy, with Retry-After) are documented answers to
/// retry; anything but `ok` after that is unexpected. Returns the final answer when it was ok.
async fn idp_write(
    load: &Load,
    token: &str,
    method: &str,
    path: &str,
    body: &Value,
    ok: u16,
) -> Option<Answer> {
    for attempt in 0..30 {
        let a = load.call(method, token, path, Some(body)).await?;
        if a.status == ok {
            return Some(a);
        }
        match a.status {
            502 | 503 => {
                load.tally.expected(format!("SCIM {}", a.status));
                let wait = a.retry_after.unwrap_or(1).min(2);
                tokio::time::sleep(Duration::from_millis(300 + 700 * wait.min(1))).await;
            }
            // A create retried after LastPass ran it but its reply was lost: the user exists.
            409 if attempt > 0 && method == "POST" => {
                load.tally.expected("SCIM 409 on a retried create".into());
                return Some(a);
            }
            _ => {
                load.tally
                    .unexpected(format!("{method} {path}: {} {}", a.status, a.body));
                return None;
            }
        }
    }
    load.tally
        .unexpected(format!("{method} {path}: still failing after 30 attempts"));
    None
}

/// SCIM writes as an IdP sends them: create users, rename every second one, deactivate every
/// third. Each is a change the history must hold once, and an audited write.
async fn scim_writer(load: Arc<Load>, token: String, domain: String) {
    let mut i = 0u32;
    while !load.stopping() {
        i += 1;
        let email = format!("soak{i}@{domain}");
        let created = idp_write(
            &load,
            &token,
            "POST",
            "/scim/v2/Users",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email, "displayName": format!("Soak User {i}"), "active": true,
            }),
            201,
        )
        .await;
        let Some(created) = created else { continue };
        load.tally.change(Expected::user("user.created", &email));
        load.tally
            .writes
            .lock()
            .unwrap()
            .push(("provision".into(), email.clone()));
        let id = match created.body["id"].as_str() {
            Some(id) => id.to_string(),
            None => {
                // 409 after a lost reply: find the user as an IdP would.
                let path = format!(
                    "/scim/v2/Users?filter={}",
                    urlencode(&format!("userName eq \"{email}\""))
                );
                match load.call("GET", &token, &path, None).await {
                    Some(a) if a.status == 200 && a.body["Resources"][0]["id"].is_string() => {
                        a.body["Resources"][0]["id"].as_str().unwrap().to_string()
                    }
                    other => {
                        load.tally.unexpected(format!(
                            "{email}: created but not found: {:?}",
                            other.map(|a| a.body)
                        ));
                        continue;
                    }
                }
            }
        };
        let user = format!("/scim/v2/Users/{id}");
        let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        if i.is_multiple_of(2)
            && idp_write(&load, &token, "PATCH", &user, &patch(json!([{"op": "replace", "path": "displayName", "value": format!("Soak Renamed {i}")}])), 200)
                .await
                .is_some()
        {
            load.tally.maybe.lock().unwrap().push(Expected::user("user.renamed", &email));
            load.tally.writes.lock().unwrap().push(("update".into(), email.clone()));
        }
        if i.is_multiple_of(3)
            && idp_write(
                &load,
                &token,
                "PATCH",
                &user,
                &patch(json!([{"op": "replace", "path": "active", "value": false}])),
                200,
            )
            .await
            .is_some()
        {
            load.tally
                .maybe
                .lock()
                .unwrap()
                .push(Expected::user("user.disabled", &email));
            load.tally
                .writes
                .lock()
                .unwrap()
                .push(("suspend".into(), email.clone()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Plans through the REST API: add three users at a time to a group, apply, and apply again
/// what failed (409 busy while a sync runs and `partial` plans are documented outcomes).
async fn planner(load: Arc<Load>, token: String, pool: Vec<String>) {
    for chunk in pool.chunks(3) {
        if load.stopping() {
            return;
        }
        let group = "Soak Plan Group";
        let actions: Vec<Value> = chunk
            .iter()
            .map(|e| json!({"action": "add-to-group", "email": e, "group": group}))
            .collect();
        let Some(made) = load
            .call(
                "POST",
                &token,
                "/v1/plans",
                Some(&json!({"account": "acme", "actions": actions})),
            )
            .await
        else {
            continue;
        };
        if made.status != 201 {
            load.tally
                .unexpected(format!("POST /v1/plans: {} {}", made.status, made.body));
            continue;
        }
        let id = made.body["result"]["id"].as_i64().unwrap_or_default();
        let mut applied = false;
        for _ in 0..40 {
            let Some(a) = load
                .call("POST", &token, &format!("/v1/plans/{id}/apply"), None)
                .await
            else {
                break;
            };
            match (a.status, a.body["result"]["state"].as_str()) {
                (200, Some("applied")) => {
                    applied = true;
                    break;
                }
                (200, Some("partial")) => {
                    load.tally.expected("plan partial (LastPass failed)".into())
                }
                (409, _) if a.body["error"]["code"] == "busy" => {
                    load.tally.expected("plan 409 busy".into())
                }
                _ => {
                    load.tally.unexpected(format!(
                        "POST /v1/plans/{id}/apply: {} {}",
                        a.status, a.body
                    ));
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        if applied {
            for e in chunk {
                load.tally.change(Expected::member_added(group, e));
                load.tally
                    .writes
                    .lock()
                    .unwrap()
                    .push(("add-to-group".into(), e.clone()));
            }
        } else {
            load.tally
                .unexpected(format!("plan {id} was never applied"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Syncs started through the API every few seconds, beside the scheduler's.
async fn syncer(load: Arc<Load>, token: String) {
    while !load.stopping() {
        if let Some(a) = load
            .call("POST", &token, "/v1/accounts/acme/sync", None)
            .await
        {
            match a.status {
                202 => {}
                409 if a.body["error"]["code"] == "sync_running" => {
                    load.tally.expected("sync 409 sync_running".into())
                }
                _ => load
                    .tally
                    .unexpected(format!("POST sync: {} {}", a.status, a.body)),
            }
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}

/// The company changes as people use LastPass: each step touches users nothing else touches.
async fn company(e: Arc<Env>, tally: Arc<Tally>, stop: Arc<AtomicBool>, pools: Pools) {
    let emu = e.emu.emulator();
    let Pools {
        mut staged,
        mut leavers,
        mut promoted,
        mut mfa,
        domain,
    } = pools;
    let mut step = 0u32;
    while !stop.load(Ordering::Relaxed) {
        step += 1;
        match step % 5 {
            0 => {
                if let Some(u) = staged.pop() {
                    emu.login(&u).unwrap();
                    tally.change(Expected::user("user.logged_in_first_time", &u));
                }
            }
            1 => {
                let hire = format!("hire{step}@{domain}");
                let body = json!({"cid": CID, "provhash": HASH, "cmd": "batchadd",
                    "data": [{"username": hire, "fullname": format!("Hire {step}"), "groups": ["Soak Hires"]}]});
                let reply = String::from_utf8(emu.call(body.to_string().as_bytes())).unwrap();
                assert!(reply.contains("OK"), "{reply}");
                tally.change(Expected::user("user.created", &hire));
                tally.change(Expected::member_added("Soak Hires", &hire));
            }
            2 => {
                if let Some(u) = leavers.pop() {
                    let body = json!({"cid": CID, "provhash": HASH, "cmd": "deluser",
                        "data": {"username": u, "deleteaction": 1}});
                    let reply = String::from_utf8(emu.call(body.to_string().as_bytes())).unwrap();
                    assert!(reply.contains("OK"), "{reply}");
                    tally.change(Expected::user("user.deprovisioned", &u));
                }
            }
            3 => {
                if let Some(u) = promoted.pop() {
                    emu.set_admin(&u, true).unwrap();
                    tally.change(Expected::user("user.admin_granted", &u));
                }
            }
            _ => {
                if let Some(u) = mfa.pop() {
                    emu.set_multifactor(&u, Some("yubikey")).unwrap();
                    tally.change(Expected::user("user.mfa_changed", &u));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
}

struct Pools {
    staged: Vec<String>,
    leavers: Vec<String>,
    promoted: Vec<String>,
    mfa: Vec<String>,
    domain: String,
}

/// Disjoint sets of users for each kind of change, and the plans' users.
fn pools(e: &Env) -> (Pools, Vec<String>) {
    let view = e.emu.emulator().view();
    let staged = view
        .users
        .iter()
        .filter(|u| u.neverloggedin && !u.disabled)
        .map(|u| u.username.clone())
        .collect();
    let mut regular: Vec<(String, bool)> = view
        .users
        .iter()
        .filter(|u| !u.neverloggedin && !u.disabled && !u.admin)
        .map(|u| (u.username.clone(), u.multifactor.is_empty()))
        .collect();
    let mfa: Vec<String> = regular
        .iter()
        .filter(|(_, none)| *none)
        .map(|(u, _)| u.clone())
        .collect();
    regular.retain(|(_, none)| !none);
    let regular: Vec<String> = regular.into_iter().map(|(u, _)| u).collect();
    let third = regular.len() / 3;
    (
        Pools {
            staged,
            leavers: regular[..third].to_vec(),
            promoted: regular[third..2 * third].to_vec(),
            mfa,
            domain: view.domain.clone(),
        },
        regular[2 * third..].to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes: scripts/soak [--minutes N]"]
async fn soak_under_faults() {
    let minutes: f64 = std::env::var("LPGATE_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(3.0);
    let run = Duration::from_secs_f64(minutes * 60.0);
    let started = Instant::now();
    let e = Arc::new(env(400).await);
    e.ok(&["init"]).await;
    // Syncs every minute (the shortest interval), plan limits that SCIM's removals do not reach,
    // a fast request rate, and a LastPass timeout short enough for stalls to become timeouts.
    let config = e.data().join("lpgate.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("default_interval_secs = 900", "default_interval_secs = 60")
        .replace("max_removals = 25", "max_removals = 100000")
        .replace("max_removal_pct = 10.0", "max_removal_pct = 100.0")
        .replace("requests_per_sec = 5.0", "requests_per_sec = 100.0")
        .replace("request_timeout_secs = 120.0", "request_timeout_secs = 2.0");
    std::fs::write(&config, text).unwrap();
    let hook = invariants::receiver(13, Duration::ZERO);
    invariants::add_webhook(&e, &hook.url);
    e.add_acme().await;
    e.ok(&["sync", "acme"]).await;
    let admin = e
        .ok(&["token", "create", "soak-admin", "--scope", "admin"])
        .await
        .trim()
        .to_string();
    let writer = e
        .ok(&[
            "token",
            "create",
            "soak-writer",
            "--scope",
            "write",
            "--account",
            "acme",
        ])
        .await
        .trim()
        .to_string();
    let reader_token = e
        .ok(&["token", "create", "soak-reader", "--scope", "read"])
        .await
        .trim()
        .to_string();
    let scim = e
        .ok(&["scim", "token", "create", "--account", "acme"])
        .await
        .trim()
        .to_string();
    let log = e.dir.path().join("serve.log");
    let serve = Serve::start(&e, &log).await;

    e.emu.emulator().set_faults(
        None,
        FaultSpec {
            latency: Some(Latency::Uniform(Duration::ZERO, Duration::from_millis(40))),
            http_500: Rate::share(0.02),
            http_429: Rate::share(0.02),
            retry_after_secs: 1,
            stall: Rate::share(0.02),
            stall_secs: 3,
            drop: Rate::share(0.02),
            truncate: Rate::share(0.02),
        },
    );
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let load = Arc::new(Load {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        base: serve.base.clone(),
        tally: tally.clone(),
        stop: stop.clone(),
    });
    let (company_pools, plan_pool) = pools(&e);
    let domain = company_pools.domain.clone();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(reader(load.clone(), reader_token.clone(), scim.clone()));
    tasks.spawn(reader(load.clone(), reader_token.clone(), scim.clone()));
    tasks.spawn(scim_writer(load.clone(), scim.clone(), domain));
    tasks.spawn(planner(load.clone(), writer.clone(), plan_pool));
    tasks.spawn(syncer(load.clone(), writer.clone()));
    tasks.spawn(company(
        e.clone(),
        tally.clone(),
        stop.clone(),
        company_pools,
    ));

    // Memory is sampled every second. "At mid-run" is the highest resident set in the 20 s
    // before the run's midpoint (at least 20 s in), under the full load; "after the run" the
    // highest in its last 20 s: like against like, so the allocator's and SQLite's ebb and
    // flow is in both and only growth that persists counts. The first half is left out:
    // with 4 KiB pages (lpgate's allocator takes no transparent huge pages) the resident set
    // climbs for about two minutes while the allocator's pages fill, then levels off; a leak
    // keeps growing through the second half.
    let load_start = Instant::now();
    let window = Duration::from_secs(20);
    let mid = (run / 2).max(window * 2) - window;
    let load_end = started + run;
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    while Instant::now() < load_end {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push((load_start.elapsed(), serve.rss_kib()));
    }
    stop.store(true, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    let total = load_start.elapsed();
    let peak = |from: Duration, to: Duration| {
        samples
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, kib)| *kib)
            .max()
            .unwrap_or(0)
    };
    let rss_mid = peak(mid, mid + window);
    let rss_end = peak(total.saturating_sub(window), total);

    // Faults stop; one last sync, through the API, must succeed.
    e.emu.emulator().clear_faults();
    let faults: u64 = e.emu.emulator().faults_injected().values().sum();
    let run_id = loop {
        let a = load
            .call("POST", &admin, "/v1/accounts/acme/sync", None)
            .await
            .unwrap();
        if a.status == 202 {
            break a.body["result"]["run_id"].as_i64().unwrap();
        }
        assert_eq!(a.status, 409, "{}", a.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut final_outcome = String::new();
    for _ in 0..240 {
        let a = load
            .call("GET", &admin, &format!("/v1/sync-runs/{run_id}"), None)
            .await
            .unwrap();
        final_outcome = a.body["result"]["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if final_outcome != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    invariants::drain_outbox(&e, Duration::from_secs(90)).await;
    let status = serve.stop().await;

    // The checks.
    let mut problems = Vec::new();
    if final_outcome != "succeeded" {
        problems.push(format!("the last sync ended {final_outcome:?}"));
    }
    if !status.success() {
        problems.push(format!("lpgate serve exited with {status} on SIGTERM"));
    }
    let state = invariants::store_matches_emulator(&e).await;
    let expected = tally.changes.lock().unwrap().clone();
    let maybe = tally.maybe.lock().unwrap().clone();
    let history = invariants::changes_once(&e, &expected, &maybe).await;
    let (deliveries, delivered, distinct) = invariants::deliveries_complete(&e, &hook.got).await;
    let mut audit = invariants::audit_verifies(&e).await;
    let entries = e
        .json(&["audit", "--since", "1d", "--limit", "1000000"])
        .await;
    for (action, email) in tally.writes.lock().unwrap().iter() {
        let found = entries.iter().any(|a| {
            a["action"] == action.as_str()
                && a["target"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(email))
                && a["outcome"].as_str().is_some_and(|o| o.starts_with("done"))
        });
        if !found {
            audit.push(format!(
                "write {action} {email} has no audit entry with outcome done"
            ));
        }
    }
    let unexpected = tally.unexpected.lock().unwrap().clone();
    let runs = invariants::query(
        &e,
        "SELECT outcome, COUNT(*) AS n FROM sync_runs GROUP BY outcome",
    )
    .await;
    let syncs: i64 = runs.iter().map(|r| r["n"].as_i64().unwrap_or(0)).sum();
    let lost = state.len() + history.len() + deliveries.len() + audit.len();
    let growth = (rss_end as f64 - rss_mid as f64) / rss_mid.max(1) as f64 * 100.0;
    for p in state
        .iter()
        .chain(&history)
        .chain(&deliveries)
        .chain(&audit)
        .chain(&unexpected)
    {
        eprintln!("soak: {p}");
    }
    eprintln!("soak: sync runs by outcome: {runs:?}");
    eprintln!(
        "soak: documented failures: {:?}",
        tally.expected_failures.lock().unwrap()
    );
    eprintln!(
        "soak: faults by kind: {:?}; receiver answered 500 {} times",
        e.emu.emulator().faults_injected(),
        hook.answered_500.load(Ordering::Relaxed)
    );
    eprintln!(
        "soak: {} changes made and checked, {} API writes audited; rss at mid-run {} KiB, end {} KiB",
        expected.len(),
        tally.writes.lock().unwrap().len(),
        rss_mid,
        rss_end
    );
    println!(
        "soak: minutes={minutes} requests={} faults={faults} syncs={syncs} deliveries={delivered} (distinct {distinct}) lost={lost} unexpected_failures={} memory_growth={growth:+.1}%",
        tally.requests.load(Ordering::Relaxed),
        unexpected.len()
    );
    if growth > 15.0 {
        problems.push(format!(
            "memory grew {growth:.1} % in the second half of the run ({rss_mid} → {rss_end} KiB)"
        ));
    }
    if lost > 0 || !unexpected.is_empty() || !problems.is_empty() {
        let log_tail: String = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n");
        panic!(
            "the soak failed: {problems:?}; lost {lost}; unexpected {}\nserve log (last lines, newest first):\n{log_tail}",
            unexpected.len()
        );
    }
}
