//! init, account add/list/check/disable/enable/set-hash/remove, exit codes, secrets.

use crate::helpers::{CID, HASH, env, path, text};

#[tokio::test]
async fn account_lifecycle_and_exit_codes() {
    let e = env(30).await;
    // Before init, commands say what to do.
    let out = e.run(&["account", "list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("lpgate init"), "{}", text(&out));

    e.linked().await;
    // init again changes nothing.
    let again = e.run(&["init"]).await;
    assert!(again.status.success());
    assert!(text(&again).contains("(kept)"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(e.data().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let list = e.json(&["account", "list"]).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "acme");
    assert_eq!(list[0]["cid"], CID);
    assert_eq!(list[0]["enabled"], true);
    assert!(list[0].get("provhash").is_none() && list[0].get("provhash_sealed").is_none());

    let check = e.ok(&["account", "check", "acme"]).await;
    assert!(
        check.contains("credentials work") && check.contains("30 users"),
        "{check}"
    );

    // Duplicate name: failure, exit 1, says why.
    let hash = e.hash_file();
    let url = e.emu.base_url();
    let dup = e
        .run(&[
            "account",
            "add",
            "acme",
            "--cid",
            &CID.to_string(),
            "--provhash-file",
            path(&hash),
            "--url",
            &url,
        ])
        .await;
    assert_eq!(dup.status.code(), Some(1));
    assert!(text(&dup).contains("already exists"), "{}", text(&dup));

    // Bad input: exit 2, naming the field and the value.
    let bad = e
        .run(&[
            "account",
            "add",
            "beta",
            "--cid",
            "12x",
            "--provhash-file",
            path(&hash),
            "--url",
            &url,
        ])
        .await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("cid") && text(&bad).contains("12x"));
    let bad = e
        .run(&[
            "account",
            "add",
            "bad name",
            "--cid",
            "1",
            "--provhash-file",
            path(&hash),
        ])
        .await;
    assert_eq!(bad.status.code(), Some(2));
    let bad = e
        .run(&[
            "account",
            "add",
            "eu1",
            "--cid",
            "1",
            "--provhash-file",
            path(&hash),
            "--region",
            "mars",
        ])
        .await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("mars"));
    let bad = e.run(&["users", "--status", "gone"]).await;
    assert_eq!(bad.status.code(), Some(2));
    let bad = e.run(&["frobnicate"]).await;
    assert_eq!(bad.status.code(), Some(2));

    // Wrong credentials are refused before anything is saved.
    let wrong = e.dir.path().join("wrong.txt");
    std::fs::write(&wrong, "f".repeat(64)).unwrap();
    let out = e
        .run(&[
            "account",
            "add",
            "beta",
            "--cid",
            &CID.to_string(),
            "--provhash-file",
            path(&wrong),
            "--url",
            &url,
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("CID or provisioning hash was rejected"),
        "{}",
        text(&out)
    );
    assert_eq!(e.json(&["account", "list"]).await.len(), 1);

    // Rotation: LastPass invalidates the old hash at once; set-hash stores the new one.
    let new_hash = e.emu.emulator().rotate_provhash();
    assert_eq!(
        e.run(&["account", "check", "acme"]).await.status.code(),
        Some(1)
    );
    std::fs::write(&wrong, &new_hash).unwrap();
    e.ok(&[
        "account",
        "set-hash",
        "acme",
        "--provhash-file",
        path(&wrong),
    ])
    .await;
    e.ok(&["account", "check", "acme"]).await;

    e.ok(&["account", "disable", "acme"]).await;
    assert_eq!(e.json(&["account", "list"]).await[0]["enabled"], false);
    let none = e.run(&["sync", "--all"]).await;
    assert_eq!(none.status.code(), Some(1), "no enabled accounts");
    e.ok(&["account", "enable", "acme"]).await;

    let refused = e.run(&["account", "remove", "acme"]).await;
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(e.json(&["account", "list"]).await.len(), 1);
    e.ok(&["account", "remove", "acme", "--yes"]).await;
    assert!(e.json(&["account", "list"]).await.is_empty());
    assert_eq!(
        e.run(&["account", "check", "acme"]).await.status.code(),
        Some(1)
    );
}

#[tokio::test]
async fn the_hash_never_reaches_output_logs_or_the_database() {
    let e = env(20).await;
    e.linked().await;
    let mut all = String::new();
    for args in [
        vec!["-vv", "sync", "acme"],
        vec!["-vv", "account", "check", "acme"],
        vec!["-vv", "account", "list", "--format", "json"],
        vec!["-vv", "users", "--format", "csv"],
    ] {
        all.push_str(&text(&e.run(&args).await));
    }
    e.emu.emulator().rotate_provhash();
    all.push_str(&text(&e.run(&["-vv", "sync", "acme"]).await));
    assert!(all.contains("lastpass reply"), "debug logs were on: {all}");
    assert!(
        !all.contains(HASH) && !all.contains(&HASH[..20]),
        "hash leaked: {all}"
    );
    for entry in std::fs::read_dir(e.data()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(20).any(|w| w == &HASH.as_bytes()[..20]),
                "hash in {}",
                p.display()
            );
        }
    }
}

#[tokio::test]
async fn master_key_from_the_environment() {
    let e = env(10).await;
    let key = "ab".repeat(32);
    let mut c = e.cmd(&["init"]);
    c.env("LPGATE_MASTER_KEY", &key);
    assert!(c.output().unwrap().status.success());
    assert!(!e.data().join("master.key").exists());
    let hash = e.hash_file();
    let url = e.emu.base_url();
    let mut c = e.cmd(&[
        "account",
        "add",
        "acme",
        "--cid",
        &CID.to_string(),
        "--provhash-file",
        path(&hash),
        "--url",
        &url,
    ]);
    c.env("LPGATE_MASTER_KEY", &key);
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Without the key the stored hash is unreadable, and the message says why.
    let out = e.run(&["account", "check", "acme"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("master.key") || text(&out).contains("LPGATE_MASTER_KEY"),
        "{}",
        text(&out)
    );
}
