//! `plan`, `apply`, `approve`, `plans` and `audit` through the binary against the emulator.

use crate::helpers::{env, path, text};

fn active_plain(e: &crate::helpers::Env, n: usize) -> Vec<String> {
    e.emu
        .emulator()
        .view()
        .users
        .iter()
        .filter(|u| !u.admin && !u.disabled && !u.neverloggedin)
        .take(n)
        .map(|u| u.username.clone())
        .collect()
}

#[tokio::test]
async fn plan_is_a_dry_run_apply_acts_and_everything_is_audited() {
    let e = env(60).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let who = active_plain(&e, 2);

    // plan: shows what will happen, sends nothing.
    let items = e
        .json(&["plan", "suspend", &who[0], &who[1], "--by", "alice"])
        .await;
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["state"] == "pending"));
    let plan = items[0]["plan"].as_i64().unwrap().to_string();
    let view = e.emu.emulator().view();
    assert!(
        view.users
            .iter()
            .filter(|u| who.contains(&u.username))
            .all(|u| !u.disabled)
    );

    // apply: LastPass changes, the store follows at once.
    let out = e
        .run(&["apply", &plan, "--by", "alice", "--format", "json"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let view = e.emu.emulator().view();
    assert!(
        view.users
            .iter()
            .filter(|u| who.contains(&u.username))
            .all(|u| u.disabled)
    );
    let users = e.json(&["users", "--status", "suspended"]).await;
    for w in &who {
        assert!(
            users.iter().any(|u| &u["email"] == w),
            "{w} suspended in the store"
        );
    }
    let changes = e.json(&["changes", "--kind", "user.disabled"]).await;
    assert_eq!(changes.len(), 2);

    // Applying again does nothing more; planning the same again skips both as no-ops.
    let deluser_before = e.emu.emulator().requests("deluser");
    e.ok(&["apply", &plan]).await;
    assert_eq!(e.emu.emulator().requests("deluser"), deluser_before);
    let again = e.json(&["plan", "suspend", &who[0]]).await;
    assert_eq!(again[0]["state"], "skipped");
    assert!(
        again[0]["note"]
            .as_str()
            .unwrap()
            .contains("already suspended")
    );

    // Unknown users and bad input.
    let refused = e.json(&["plan", "enable", "nobody@nowhere.example"]).await;
    assert_eq!(refused[0]["state"], "refused");
    let out = e.run(&["plan", "frobnicate", &who[0]]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("frobnicate"));
    let out = e.run(&["plan", "add-to-group", &who[0]]).await;
    assert_eq!(out.status.code(), Some(2));

    // The audit log has the plan, each action with its target and outcome, and verifies.
    let audit = e.json(&["audit"]).await;
    let applied: Vec<_> = audit.iter().filter(|a| a["action"] == "suspend").collect();
    assert_eq!(applied.len(), 2);
    assert!(
        applied
            .iter()
            .all(|a| a["actor"] == "alice" && a["outcome"] == "done")
    );
    assert!(applied.iter().all(|a| a["account"] == "acme"));
    assert!(audit.iter().any(|a| a["action"] == "plan.create"));
    let ok = e.ok(&["audit", "verify"]).await;
    assert!(ok.contains("chain intact"), "{ok}");

    // Tampering (around the append-only triggers) is found.
    let db = e.data().join("lpgate.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET outcome = 'failed' WHERE action = 'suspend' AND seq = (SELECT MIN(seq) FROM audit WHERE action = 'suspend');",
    )
    .unwrap();
    drop(conn);
    let out = e.run(&["audit", "verify"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("edited"), "{}", text(&out));
}

#[tokio::test]
async fn large_removals_are_held_until_approved() {
    let e = env(80).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let who = active_plain(&e, 30);
    let mut args = vec!["plan", "suspend"];
    args.extend(who.iter().map(String::as_str));
    args.extend(["--format", "json"]);
    let out = e.run(&args).await;
    assert_eq!(out.status.code(), Some(3), "held exits 3: {}", text(&out));
    assert!(text(&out).contains("max_removals"), "{}", text(&out));
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let plan = items[0]["plan"].as_i64().unwrap().to_string();
    let out = e.run(&["apply", &plan]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(e.emu.emulator().requests("deluser"), 0, "nothing sent");
    e.ok(&["approve", &plan, "--by", "carol"]).await;
    let out = e.run(&["approve", &plan, "--by", "carol"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "approving twice: {}",
        text(&out)
    );
    e.ok(&["apply", &plan]).await;
    assert_eq!(e.emu.emulator().requests("deluser"), 30);
    let plans = e.json(&["plans", "list"]).await;
    assert_eq!(plans[0]["state"], "applied");
    assert_eq!(plans[0]["approved_by"], "carol");
    let audit = e.json(&["audit", "--user", "carol"]).await;
    assert!(audit.iter().any(|a| a["action"] == "plan.approve"));
}

#[tokio::test]
async fn plans_from_csv_and_hr_exports() {
    let e = env(50).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let who = active_plain(&e, 6);

    // A CSV with a bad row plans nothing and names line and field.
    let csv = e.dir.path().join("actions.csv");
    std::fs::write(
        &csv,
        format!(
            "action,email,fullname,group\nprovision,new.one@example.com,New One,Ops\nadd-to-group,{},,\nsuspend,not-an-email,,\n",
            who[0]
        ),
    )
    .unwrap();
    let out = e.run(&["plan", "--from", path(&csv)]).await;
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(
        msg.contains("line 3: group") && msg.contains("line 4: email"),
        "{msg}"
    );
    assert!(
        e.json(&["plans", "list"]).await.is_empty(),
        "nothing stored"
    );
    std::fs::write(
        &csv,
        format!(
            "action,email,fullname,group\nprovision,new.one@example.com,New One,Ops\nadd-to-group,{},,Ops\nreset-mfa,{},,\n",
            who[0], who[1]
        ),
    )
    .unwrap();
    let items = e.json(&["plan", "--from", path(&csv)]).await;
    let plan = items[0]["plan"].as_i64().unwrap().to_string();
    e.ok(&["apply", &plan]).await;
    let view = e.emu.emulator().view();
    let new = view
        .users
        .iter()
        .find(|u| u.username == "new.one@example.com")
        .unwrap();
    assert!(!new.admin && new.password_reset_required && new.groups == vec!["Ops".to_string()]);
    assert!(
        view.users
            .iter()
            .any(|u| u.username == who[0] && u.groups.contains(&"Ops".to_string()))
    );

    // HR group sync: who[2] should be in exactly {Ops, Finance} of the managed groups; the
    // answer is computed from the emulator's own state.
    let hr = e.dir.path().join("hr.csv");
    let current: Vec<String> = view
        .users
        .iter()
        .find(|u| u.username == who[2])
        .unwrap()
        .groups
        .clone();
    std::fs::write(
        &hr,
        format!(
            "email,status,groups\n{},active,Ops;Finance\n{},terminated,\n{},active,{}\n",
            who[2],
            who[3],
            who[4],
            current.join(";")
        ),
    )
    .unwrap();
    let items = e.json(&["plan", "groups", "--from", path(&hr)]).await;
    let mut expected = std::collections::BTreeSet::new();
    for g in ["Ops", "Finance"] {
        if !current.contains(&g.to_string()) {
            expected.insert(("add-to-group".to_string(), who[2].clone(), g.to_string()));
        }
    }
    for g in &current {
        if g != "Ops" && g != "Finance" {
            expected.insert(("remove-from-group".to_string(), who[2].clone(), g.clone()));
        }
    }
    let got: std::collections::BTreeSet<_> = items
        .iter()
        .map(|i| {
            (
                i["action"].as_str().unwrap().to_string(),
                i["email"].as_str().unwrap().to_string(),
                i["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // Offboarding: the terminated person; with --orphans everyone present but not in HR.
    let items = e.json(&["plan", "offboard", "--from", path(&hr)]).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], serde_json::json!(who[3]));
    assert_eq!(items[0]["action"], "suspend");
    let out = e
        .run(&[
            "plan",
            "offboard",
            "--from",
            path(&hr),
            "--orphans",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(3), "most of the company: held");
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let present = e
        .json(&[
            "query",
            "SELECT COUNT(*) AS n FROM users WHERE status <> 'deprovisioned'",
        ])
        .await[0]["n"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(
        items.len(),
        present - 2,
        "everyone but the two active HR people"
    );
    let out = e.run(&["plan", "groups", "--from", path(&csv)]).await;
    assert_ne!(out.status.code(), Some(0));
}

#[tokio::test]
async fn automations_turn_findings_into_plans_with_exclusions() {
    let e = env(80).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let inactive: Vec<String> = e
        .json(&["rules", "check", "--rule", "inactive-user"])
        .await
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert!(
        inactive.len() >= 2,
        "the generated company has inactive users"
    );
    let weak = e
        .json(&["rules", "check", "--rule", "weak-master-password"])
        .await;
    assert!(!weak.is_empty());
    let config = e.data().join("lpgate.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml = toml.replace("max_removals = 25", "max_removals = 1000");
    toml = toml.replace("max_removal_pct = 10.0", "max_removal_pct = 100.0");
    toml = toml.replace("requests_per_sec = 5.0", "requests_per_sec = 1000.0");
    toml.push_str(&format!(
        "\n[[automations]]\nname = \"suspend-inactive\"\nrule = \"inactive-user\"\naction = \"suspend\"\nauto_apply = true\nexclude = [\"{}\"]\n\n[[automations]]\nname = \"weak-passwords\"\nrule = \"weak-master-password\"\naction = \"require-password-change\"\n",
        inactive[0]
    ));
    std::fs::write(&config, toml).unwrap();

    let out = e.run(&["sync", "acme"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let log = text(&out);
    assert!(
        log.contains("automation suspend-inactive: applied"),
        "{log}"
    );
    assert!(log.contains("automation weak-passwords: plan"), "{log}");
    let view = e.emu.emulator().view();
    for email in &inactive {
        let u = view.users.iter().find(|u| &u.username == email).unwrap();
        assert_eq!(u.disabled, email != &inactive[0], "{email}");
    }
    // The waiting plan is not applied, and the next sync makes no second one.
    let deluser = e.emu.emulator().requests("deluser");
    let out = e.run(&["sync", "acme"]).await;
    let log = text(&out);
    assert!(
        log.contains("weak-passwords: plan") && log.contains("still waiting"),
        "{log}"
    );
    assert_eq!(
        e.emu.emulator().requests("deluser"),
        deluser,
        "nothing more suspended"
    );
    assert_eq!(e.emu.emulator().requests("requiremasterpasswordchange"), 0);
    let plans = e.json(&["plans", "list"]).await;
    let weak_plans = plans
        .iter()
        .filter(|p| p["source"] == "automation: weak-passwords")
        .count();
    assert_eq!(weak_plans, 1);
    // A bad automation is refused when the config loads, naming it.
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(
        "\n[[automations]]\nname = \"oops\"\nrule = \"no-such-rule\"\naction = \"suspend\"\n",
    );
    std::fs::write(&config, toml).unwrap();
    let out = e.run(&["plans", "list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no-such-rule"), "{}", text(&out));
}

#[tokio::test]
async fn an_apply_killed_mid_way_resumes_where_it_stopped() {
    let e = env(80).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let who = active_plain(&e, 20);
    let config = e.data().join("lpgate.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("requests_per_sec = 5.0", "requests_per_sec = 10.0");
    std::fs::write(&config, toml).unwrap();
    let mut args = vec!["plan", "require-password-change"];
    args.extend(who.iter().map(String::as_str));
    args.extend(["--format", "json"]);
    let items = e.json(&args[..args.len() - 2]).await;
    let plan = items[0]["plan"].as_i64().unwrap().to_string();

    // Kill the apply (SIGKILL) once some requests went out: 20 at 10/s takes ~2 s.
    let mut child = e.cmd(&["apply", &plan]).spawn().unwrap();
    let cmd = "requiremasterpasswordchange";
    let started = std::time::Instant::now();
    while e.emu.emulator().requests(cmd) < 12 && started.elapsed().as_secs() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    let sent_before = e.emu.emulator().requests(cmd);
    assert!(
        (12..20).contains(&sent_before),
        "killed mid-way: {sent_before}"
    );

    // Applying again sends what is left (plus at most the slice that was in flight).
    e.ok(&["apply", &plan]).await;
    let sent = e.emu.emulator().requests(cmd);
    assert!((20..=30).contains(&sent), "{sent} requests for 20 users");
    let plans = e.json(&["plans", "list"]).await;
    assert_eq!(plans[0]["state"], "applied");
    assert_eq!(plans[0]["done"], 20);
    let view = e.emu.emulator().view();
    assert!(
        view.users
            .iter()
            .filter(|u| who.contains(&u.username))
            .all(|u| u.password_reset_required)
    );
    let done: Vec<_> = e
        .json(&["audit"])
        .await
        .into_iter()
        .filter(|a| a["action"] == "require-password-change" && a["outcome"] == "done")
        .collect();
    assert_eq!(done.len(), 20, "one done entry per user");
    e.ok(&["audit", "verify"]).await;
}
