//! `token create|list|revoke`: the token is printed once, alone; only a keyed hash is stored.

use crate::helpers::{env, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_prints_once_and_stores_only_a_hash() {
    let env = env(20).await;
    env.linked().await;
    let out = env
        .run(&[
            "token",
            "create",
            "ci",
            "--scope",
            "read",
            "--expires",
            "90d",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let token = stdout.trim_end_matches('\n');
    assert_eq!(token.len(), 47, "{token}");
    assert!(token.starts_with("lpg_"), "{token}");
    assert!(
        token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );

    // A second token differs; a duplicate live name is refused.
    let other = env
        .ok(&[
            "token",
            "create",
            "acme-only",
            "--scope",
            "admin",
            "--account",
            "acme",
        ])
        .await;
    assert_ne!(other.trim(), token);
    let dup = env.run(&["token", "create", "ci", "--scope", "read"]).await;
    assert_eq!(dup.status.code(), Some(1), "{}", text(&dup));

    // The database file holds neither token nor its random part.
    env.ok(&["token", "list"]).await;
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(env.data()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            raw.extend(std::fs::read(p).unwrap());
        }
    }
    for t in [token, other.trim()] {
        let secret = &t.as_bytes()[4..];
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "plain token found in the data directory"
        );
    }

    let rows = env.json(&["token", "list"]).await;
    assert_eq!(rows.len(), 2);
    let ci = rows.iter().find(|r| r["name"] == "ci").unwrap();
    assert_eq!(ci["scope"], "read");
    assert!(ci["expires_at"].is_string());
    assert!(ci["revoked_at"].is_null());
    let scoped = rows.iter().find(|r| r["name"] == "acme-only").unwrap();
    assert_eq!(scoped["account"], "acme");
    let listed = serde_json::to_string(&rows).unwrap();
    assert!(!listed.contains(&token[4..]));

    env.ok(&["token", "revoke", "ci"]).await;
    let rows = env.json(&["token", "list"]).await;
    let ci = rows.iter().find(|r| r["name"] == "ci").unwrap();
    assert!(ci["revoked_at"].is_string());
    let again = env.run(&["token", "revoke", "ci"]).await;
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    // The name is free again once revoked.
    env.ok(&["token", "create", "ci", "--scope", "write"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_bad_input_is_usage_error_naming_the_value() {
    let env = env(5).await;
    env.linked().await;
    for (args, named) in [
        (vec!["token", "create", "x", "--scope", "root"], "root"),
        (
            vec![
                "token",
                "create",
                "x",
                "--scope",
                "read",
                "--expires",
                "90y",
            ],
            "90y",
        ),
        (
            vec!["token", "create", "x", "--scope", "read", "--expires", "0d"],
            "0d",
        ),
    ] {
        let out = env.run(&args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(named), "{args:?}: {}", text(&out));
        assert!(out.stdout.is_empty());
    }
    let out = env
        .run(&[
            "token",
            "create",
            "x",
            "--scope",
            "read",
            "--account",
            "nope",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("nope"));
    assert!(out.stdout.is_empty());
}
