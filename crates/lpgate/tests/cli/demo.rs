//! `lpgate demo`, the README's first command, does what it says.

#[tokio::test]
async fn demo_syncs_changes_and_shows_them() {
    let out = tokio::task::spawn_blocking(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lpgate"))
            .args(["demo", "--users", "80", "--seed", "3"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("First sync: 80 users"), "{text}");
    assert!(text.contains("Second sync:"), "{text}");
    for kind in [
        "user.created",
        "user.deprovisioned",
        "user.admin_granted",
        "user.mfa_changed",
        "user.logged_in_first_time",
    ] {
        assert!(text.contains(kind), "missing {kind}: {text}");
    }
    assert!(text.contains("temporary store removed"));
    assert!(text.contains("built-in rules found"), "{text}");
    assert!(
        text.contains("admin-without-mfa") || text.contains("weak-master-password"),
        "{text}"
    );
    assert!(text.contains("finds:\n   - "), "a search with hits: {text}");
}
