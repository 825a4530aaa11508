//! `config show` and `LPGATE_*` overrides.

use crate::helpers::{env, text};

#[tokio::test]
async fn config_show_applies_the_environment_and_masks_secrets() {
    let e = env(5).await;
    e.ok(&["init"]).await;
    let config = e.data().join("lpgate.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(
        "\n[[notifications.channels]]\nname = \"secops\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nsecret = \"hunter2-very-secret\"\n",
    );
    std::fs::write(&config, toml).unwrap();
    let mut c = e.cmd(&["config", "show"]);
    c.env("LPGATE_SYNC_DEFAULT_INTERVAL_SECS", "600")
        .env("LPGATE_ACT_MAX_REMOVALS", "7");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("default_interval_secs = 600"), "{shown}");
    assert!(shown.contains("max_removals = 7"), "{shown}");
    assert!(!shown.contains("hunter2"), "the secret is masked: {shown}");
    assert!(shown.contains("********"));
    // A typo in a variable, or a bad value, is an error naming it; so is an unknown key.
    let mut c = e.cmd(&["config", "show"]);
    c.env("LPGATE_SYNC_INTERVAL", "600");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("LPGATE_SYNC_INTERVAL"),
        "{}",
        text(&out)
    );
    let mut c = e.cmd(&["users"]);
    c.env("LPGATE_ACT_MAX_REMOVALS", "many");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("many"), "{}", text(&out));
    let toml = std::fs::read_to_string(&config).unwrap() + "\n[syncing]\ncolour = 1\n";
    std::fs::write(&config, toml).unwrap();
    let out = e.run(&["config", "show"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("syncing"), "{}", text(&out));
}

/// `[serve]` settings are checked when the configuration loads, naming the key and value.
#[tokio::test]
async fn serve_settings_are_checked() {
    let e = env(5).await;
    e.ok(&["init"]).await;
    for (var, value, named) in [
        (
            "LPGATE_SERVE_MAX_BODY_BYTES",
            "10",
            "serve.max_body_bytes 10",
        ),
        ("LPGATE_SERVE_BIND", "nowhere", "serve.bind \"nowhere\""),
        (
            "LPGATE_SERVE_HEADER_TIMEOUT_SECS",
            "0.0",
            "serve.header_timeout_secs 0",
        ),
        (
            "LPGATE_SERVE_BODY_TIMEOUT_SECS",
            "86400.0",
            "serve.body_timeout_secs 86400",
        ),
    ] {
        let mut c = e.cmd(&["config", "show"]);
        c.env(var, value);
        let out = tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains(named), "{}", text(&out));
    }
    let shown = e.ok(&["config", "show"]).await;
    assert!(
        shown.contains("[serve]")
            && shown.contains("max_body_bytes = 1048576")
            && shown.contains("header_timeout_secs = 10.0")
            && shown.contains("body_timeout_secs = 30.0"),
        "{shown}"
    );
}
