//! Killing `lpgate sync` with SIGKILL at any moment leaves the previous snapshot intact, and the
//! next run completes normally.

use std::time::Duration;

use lpgate_emulator::{FaultSpec, Latency, Rate};

use crate::helpers::env;

#[tokio::test]
async fn sigkill_mid_sync_never_leaves_a_partial_snapshot() {
    let e = env(1500).await;
    e.linked().await;
    // A first sync killed midway leaves no partial first snapshot.
    e.emu.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(40))),
            ..Default::default()
        },
    );
    for delay_ms in [60u64, 150] {
        let mut cmd = e.cmd(&["sync", "acme"]);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let _ = child.kill();
        let _ = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap();
        let users = e.json(&["users"]).await;
        assert!(
            users.is_empty() || users.len() >= 1500,
            "partial first snapshot: {} users",
            users.len()
        );
    }
    e.emu.emulator().clear_faults();
    let base = e.json(&["sync", "acme"]).await;
    assert_eq!(base[0]["outcome"], "succeeded");
    let users_before = e.json(&["users"]).await;

    // Change the company a lot, so the interrupted syncs have much to write.
    let view = e.emu.emulator().view();
    for u in view.users.iter().filter(|u| !u.disabled).take(300) {
        e.emu
            .emulator()
            .set_multifactor(&u.username, Some("yubikey"))
            .unwrap();
    }
    // Slow LastPass down a little so kills land in every phase: fetching, comparing, writing.
    e.emu.emulator().set_faults(
        None,
        FaultSpec {
            latency: Some(Latency::Uniform(
                Duration::from_millis(0),
                Duration::from_millis(30),
            )),
            http_500: Rate::share(0.0),
            ..Default::default()
        },
    );
    let mut killed = 0;
    for delay_ms in [5u64, 40, 90, 150, 220, 300, 420, 600] {
        let mut cmd = e.cmd(&["sync", "acme"]);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let exited_already = child.try_wait().unwrap().is_some();
        if !exited_already {
            child.kill().unwrap(); // SIGKILL on Unix
            killed += 1;
        }
        let _ = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap();
        // Whatever the moment, the store holds either the old snapshot or the new one, whole.
        let users = e.json(&["users"]).await;
        assert_eq!(users.len(), users_before.len());
        let yubikeys = users
            .iter()
            .filter(|u| u["multifactor"] == "yubikey")
            .count();
        let before = users_before
            .iter()
            .filter(|u| u["multifactor"] == "yubikey")
            .count();
        assert!(
            yubikeys == before || yubikeys >= before + 290,
            "partial snapshot: {yubikeys} yubikeys"
        );
    }
    assert!(killed >= 3, "only {killed} runs were killed mid-way");
    e.emu.emulator().clear_faults();
    let after = e.json(&["sync", "acme"]).await;
    assert_eq!(after[0]["outcome"], "succeeded");
    let users = e.json(&["users"]).await;
    assert_eq!(
        users
            .iter()
            .filter(|u| u["multifactor"] == "yubikey")
            .count(),
        {
            e.emu
                .emulator()
                .view()
                .users
                .iter()
                .filter(|u| u.multifactor == "yubikey")
                .count()
        }
    );
    let runs_text = e.ok(&["account", "list"]).await;
    assert!(runs_text.contains("succeeded"));
}

/// `lpgate serve` SIGKILLed twenty times at random moments of syncs, plan applies and webhook
/// deliveries, restarted each time; then one clean sync, the plans applied to the end and the
/// outbox drained, and nothing may be lost: the store equals the company, each change is in
/// the history once, every notification reached the receiver (repeats with the same id and
/// contents), every applied item is audited and the audit chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_serve_during_syncs_applies_and_deliveries_loses_nothing() {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use crate::helpers::CID;
    use crate::invariants::{self, Expected, Serve};

    let seed = std::env::var("LPGATE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash loop seed {seed} (LPGATE_CRASH_SEED={seed} repeats it)");
    let mut rng = fastrand::Rng::with_seed(seed);

    let e = env(200).await;
    e.ok(&["init"]).await;
    let config = e.data().join("lpgate.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_removals = 25", "max_removals = 100000")
        .replace("requests_per_sec = 5.0", "requests_per_sec = 100.0");
    std::fs::write(&config, text).unwrap();
    // A slow receiver: a delivery pass takes long enough to be cut.
    let hook = invariants::receiver(0, Duration::from_millis(60));
    invariants::add_webhook(&e, &hook.url);
    e.add_acme().await;
    e.ok(&["sync", "acme"]).await;
    let admin = e
        .ok(&["token", "create", "crash-admin", "--scope", "admin"])
        .await
        .trim()
        .to_string();
    let emu = e.emu.emulator();
    // LastPass slowed down so kills land inside fetching, comparing, writing and applying.
    emu.set_faults(
        None,
        FaultSpec {
            latency: Some(Latency::Uniform(
                Duration::from_millis(60),
                Duration::from_millis(120),
            )),
            ..Default::default()
        },
    );
    let view = emu.view();
    let mut staged: Vec<String> = view
        .users
        .iter()
        .filter(|u| u.neverloggedin && !u.disabled)
        .map(|u| u.username.clone())
        .collect();
    let mut regular: Vec<String> = view
        .users
        .iter()
        .filter(|u| !u.neverloggedin && !u.disabled && !u.admin)
        .map(|u| u.username.clone())
        .collect();
    let mut planned: Vec<String> = regular.split_off(regular.len() / 2);
    let http = reqwest::Client::new();
    let call = |method: &str, p: String, body: Option<Value>| {
        let mut req = http.request(method.parse().unwrap(), p).bearer_auth(&admin);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        req.send()
    };
    let mut expected: Vec<Expected> = Vec::new();
    let mut plans: Vec<i64> = Vec::new();
    let mut applied_items: Vec<String> = Vec::new();
    let mut killed = BTreeMap::<&str, u32>::new();
    let log = e.dir.path().join("serve.log");
    let started = std::time::Instant::now();
    for round in 0..20u32 {
        // The company changes between restarts.
        for _ in 0..3 {
            match rng.u8(0..3) {
                0 if !staged.is_empty() => {
                    let u = staged.pop().unwrap();
                    emu.login(&u).unwrap();
                    expected.push(Expected::user("user.logged_in_first_time", &u));
                }
                1 if !regular.is_empty() => {
                    let u = regular.pop().unwrap();
                    emu.set_admin(&u, true).unwrap();
                    expected.push(Expected::user("user.admin_granted", &u));
                }
                _ => {
                    let hire = format!("crash.hire{round}.{}@{}", rng.u32(..), view.domain);
                    let body = json!({"cid": CID, "provhash": crate::helpers::HASH,
                        "cmd": "batchadd", "data": [{"username": hire, "fullname": "Crash Hire"}]});
                    let reply = String::from_utf8(emu.call(body.to_string().as_bytes())).unwrap();
                    assert!(reply.contains("OK"), "{reply}");
                    expected.push(Expected::user("user.created", &hire));
                }
            }
        }
        let serve = Serve::start(&e, &log).await;
        let base = serve.base.clone();
        let what = match round % 3 {
            0 => {
                // Mid-sync (started through the API; the scheduler also delivers meanwhile).
                let r = call("POST", format!("{base}/v1/accounts/acme/sync"), None)
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 202, "{}", r.text().await.unwrap());
                tokio::time::sleep(Duration::from_millis(rng.u64(0..500))).await;
                "sync"
            }
            1 => {
                // Mid-apply: a plan for eight users, killed while it is being sent.
                let who: Vec<String> = planned.drain(..8.min(planned.len())).collect();
                let actions: Vec<Value> = who
                    .iter()
                    .map(|u| json!({"action": "add-to-group", "email": u, "group": "Crash Group"}))
                    .collect();
                let r = call(
                    "POST",
                    format!("{base}/v1/plans"),
                    Some(json!({"account": "acme", "actions": actions})),
                )
                .await
                .unwrap();
                assert_eq!(r.status().as_u16(), 201);
                let plan: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
                plans.push(plan["result"]["id"].as_i64().unwrap());
                for u in &who {
                    expected.push(Expected::member_added("Crash Group", u));
                    applied_items.push(u.clone());
                }
                let id = *plans.last().unwrap();
                let apply = tokio::spawn(call("POST", format!("{base}/v1/plans/{id}/apply"), None));
                // Kill once the plan is being sent, at a random moment of it.
                for _ in 0..100 {
                    let r = call("GET", format!("{base}/v1/plans/{id}"), None)
                        .await
                        .unwrap();
                    let plan: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
                    if plan["result"]["state"] != "ready" {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                tokio::time::sleep(Duration::from_millis(rng.u64(0..150))).await;
                apply.abort();
                "apply"
            }
            _ => {
                // Mid-delivery: the first tick delivers what earlier rounds queued.
                tokio::time::sleep(Duration::from_millis(rng.u64(50..1500))).await;
                "delivery"
            }
        };
        *killed.entry(what).or_default() += 1;
        serve.kill().await;
    }
    eprintln!(
        "killed {killed:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The kills landed inside the work: syncs cut short, plans cut mid-way.
    let runs = invariants::query(
        &e,
        "SELECT outcome, COUNT(*) AS n FROM sync_runs GROUP BY outcome",
    )
    .await;
    let plan_states: Vec<Value> = e
        .json(&["plans", "list"])
        .await
        .iter()
        .map(|p| p["state"].clone())
        .collect();
    eprintln!("sync runs by outcome after the kills: {runs:?}; plans: {plan_states:?}");
    let cut_syncs = runs
        .iter()
        .filter(|r| r["outcome"] != "succeeded")
        .map(|r| r["n"].as_i64().unwrap())
        .sum::<i64>();
    let cut_plans = plan_states
        .iter()
        .filter(|s| *s == "applying" || *s == "partial")
        .count();
    assert!(cut_syncs > 0, "no kill landed inside a sync: {runs:?}");
    assert!(
        cut_plans > 0,
        "no kill landed inside an apply: {plan_states:?}"
    );

    // Restart cleanly: finish every plan, one last sync, drain the outbox, stop.
    emu.clear_faults();
    let serve = Serve::start(&e, &log).await;
    let base = serve.base.clone();
    for id in &plans {
        let mut state = String::new();
        for _ in 0..40 {
            let r = call("POST", format!("{base}/v1/plans/{id}/apply"), None)
                .await
                .unwrap();
            let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            state = body["result"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if state == "applied" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(state, "applied", "plan {id}");
    }
    let run_id = loop {
        let r = call("POST", format!("{base}/v1/accounts/acme/sync"), None)
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        if status == 202 {
            break body["result"]["run_id"].as_i64().unwrap();
        }
        assert_eq!(status, 409, "{body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let outcome = loop {
        let r = call("GET", format!("{base}/v1/sync-runs/{run_id}"), None)
            .await
            .unwrap();
        let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        let outcome = body["result"]["outcome"].as_str().unwrap().to_string();
        if outcome != "running" {
            break outcome;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(outcome, "succeeded");
    invariants::drain_outbox(&e, Duration::from_secs(60)).await;
    assert!(serve.stop().await.success());

    let mut problems = invariants::store_matches_emulator(&e).await;
    problems.extend(invariants::changes_once(&e, &expected, &[]).await);
    let (deliveries, received, distinct) = invariants::deliveries_complete(&e, &hook.got).await;
    problems.extend(deliveries);
    problems.extend(invariants::audit_verifies(&e).await);
    let audit = e
        .json(&["audit", "--since", "1d", "--limit", "1000000"])
        .await;
    for u in &applied_items {
        if !audit.iter().any(|a| {
            a["action"] == "add-to-group"
                && a["target"] == u.as_str()
                && a["outcome"].as_str().is_some_and(|o| o.starts_with("done"))
        }) {
            problems.push(format!(
                "add-to-group {u}: no audit entry with outcome done"
            ));
        }
    }
    eprintln!(
        "{} changes checked, {received} webhook requests for {distinct} notifications, {} plans",
        expected.len(),
        plans.len()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(killed.values().sum::<u32>(), 20);
    assert!(
        received > distinct,
        "no kill landed inside a delivery pass (no repeated delivery id)"
    );
}
