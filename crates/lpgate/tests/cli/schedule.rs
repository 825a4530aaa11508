//! `lpgate serve`'s scheduler: accounts synced when due, rules and automations after each
//! sync, and SIGTERM during a sync lets the sync finish.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lpgate_emulator::{FaultSpec, Latency};

use crate::helpers::{Env, env, text};

/// A server process, killed if a test fails before it stops it.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `lpgate serve` with its scheduler and waits for the ready line.
async fn start_with_scheduler(e: &Env) -> Serve {
    let mut cmd = e.cmd(&["serve", "--bind", "127.0.0.1:0"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    assert!(line.starts_with("lpgate serving on "), "{line:?}");
    Serve(child)
}

async fn sigterm(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn runs(e: &Env) -> Vec<serde_json::Value> {
    e.json(&["query", "SELECT id, outcome FROM sync_runs ORDER BY id"])
        .await
}

#[tokio::test]
async fn the_scheduler_syncs_runs_rules_and_automations() {
    let e = env(60).await;
    e.linked().await;
    let config = e.data().join("lpgate.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_removals = 25", "max_removals = 1000")
        .replace("max_removal_pct = 10.0", "max_removal_pct = 100.0")
        .replace("requests_per_sec = 5.0", "requests_per_sec = 1000.0")
        + "\n[[automations]]\nname = \"suspend-inactive\"\nrule = \"inactive-user\"\naction = \"suspend\"\nauto_apply = true\n";
    std::fs::write(&config, toml).unwrap();
    let mut child = start_with_scheduler(&e).await;
    // The never-synced account is due at once; wait for the automation's plan to be applied.
    let started = Instant::now();
    let plan = loop {
        let plans = e.json(&["plans", "list"]).await;
        if let Some(p) = plans
            .iter()
            .find(|p| p["source"] == "automation: suspend-inactive" && p["state"] == "applied")
        {
            break p.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no automation ran: {plans:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(plan["done"].as_i64().unwrap() > 0);
    let findings = e.json(&["findings"]).await;
    assert!(!findings.is_empty(), "rules ran after the scheduled sync");
    let view = e.emu.emulator().view();
    let suspended = view.users.iter().filter(|u| u.disabled).count();
    assert!(suspended as i64 >= plan["done"].as_i64().unwrap());
    assert!(runs(&e).await.iter().all(|r| r["outcome"] == "succeeded"));
    assert!(sigterm(&mut child.0).await.success());
}

#[tokio::test]
async fn sigterm_during_a_sync_lets_it_finish() {
    let e = env(300).await;
    e.linked().await;
    // Slow every LastPass reply so the first scheduled sync takes a while.
    e.emu.emulator().set_faults(
        None,
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(400))),
            ..Default::default()
        },
    );
    // `account add` already made one getuserdata call: wait for the scheduler's own.
    let before = e.emu.emulator().requests("getuserdata");
    let mut child = start_with_scheduler(&e).await;
    let started = Instant::now();
    while e.emu.emulator().requests("getuserdata") == before {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no sync started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = sigterm(&mut child.0).await;
    assert!(status.success(), "{status:?}");
    // The sync under way was finished and recorded, not cut off.
    let r = runs(&e).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["outcome"], "succeeded", "{r:?}");
    let users = e.json(&["users"]).await;
    assert_eq!(
        users.len(),
        e.emu.emulator().view().users.len() + {
            let v = e.emu.emulator().view();
            v.invited
                .iter()
                .filter(|i| !v.users.iter().any(|u| &&u.username == i))
                .count()
        }
    );
    let out = e.run(&["sync", "acme"]).await;
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test]
async fn sigterm_lets_a_sync_started_through_the_api_finish() {
    let e = env(300).await;
    e.linked().await;
    let token = crate::serve::token(&e, "ops", "write", None).await;
    let mut server = crate::serve::start(&e).await;
    e.emu.emulator().set_faults(
        None,
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(400))),
            ..Default::default()
        },
    );
    let res = reqwest::Client::new()
        .post(format!("{}/v1/accounts/acme/sync", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let status = sigterm(&mut server.child).await;
    assert!(status.success(), "{status:?}");
    let r = runs(&e).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        r[0]["outcome"], "succeeded",
        "the API's sync finished: {r:?}"
    );
}
