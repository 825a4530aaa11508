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
