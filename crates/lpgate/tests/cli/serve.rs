//! `lpgate serve` over real HTTP: token auth and scopes, account isolation, keyset pagination
//! under concurrent syncs, bad input, failed-auth rate limiting, graceful shutdown.

use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use lpgate_emulator::{CompanySpec, Credentials, Emulator};
use serde_json::Value;

use crate::helpers::{CID, Env, env, path};

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lpgate serve --bind 127.0.0.1:0 --no-scheduler` and waits for its ready line.
pub(crate) async fn start(env: &Env) -> Server {
    start_with(env, &[]).await
}

/// [`start`] with extra environment variables (`LPGATE_*` settings).
pub(crate) async fn start_with(env: &Env, vars: &[(&str, &str)]) -> Server {
    let mut cmd = env.cmd(&["serve", "--bind", "127.0.0.1:0", "--no-scheduler"]);
    cmd.envs(vars.iter().copied());
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
    let base = line
        .trim()
        .strip_prefix("lpgate serving on ")
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
        .to_string();
    assert!(!base.ends_with(":0"), "{base}");
    Server { child, base }
}

pub(crate) async fn token(env: &Env, name: &str, scope: &str, account: Option<&str>) -> String {
    let mut args = vec!["token", "create", name, "--scope", scope];
    if let Some(a) = account {
        args.extend(["--account", a]);
    }
    env.ok(&args).await.trim().to_string()
}

pub(crate) async fn get(s: &Server, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{path}", s.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

/// Links a second account, `beta`, backed by its own emulated company.
pub(crate) async fn second_account(env: &Env) -> lpgate_emulator::RunningEmulator {
    let creds = Credentials {
        cid: CID + 1,
        provhash: crate::helpers::HASH.into(),
    };
    let emu = Emulator::generate(&CompanySpec::new(12, 5), creds)
        .start(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    env.ok(&[
        "account",
        "add",
        "beta",
        "--cid",
        &(CID + 1).to_string(),
        "--provhash-file",
        path(&env.hash_file()),
        "--url",
        &emu.base_url(),
    ])
    .await;
    emu
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_scopes_isolation_and_bad_input() {
    let env = env(30).await;
    env.linked().await;
    let _beta = second_account(&env).await;
    env.ok(&["sync", "--all"]).await;
    let admin = token(&env, "admin", "admin", None).await;
    let acme = token(&env, "acme-read", "read", Some("acme")).await;
    let scim = token(&env, "idp", "scim", None).await;
    let server = start(&env).await;

    // Health needs no token.
    assert_eq!(get(&server, None, "/healthz").await.0, 200);
    assert_eq!(get(&server, None, "/readyz").await.0, 200);

    // 401 without, with a malformed and with a wrong token; 403 for the wrong scope.
    let (status, body) = get(&server, None, "/v1/users").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(get(&server, Some("nope"), "/v1/users").await.0, 401);
    let wrong = format!("lpg_{}", "A".repeat(43));
    assert_eq!(get(&server, Some(&wrong), "/v1/users").await.0, 401);
    let (status, body) = get(&server, Some(&scim), "/v1/users").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    // The admin token sees both accounts; the acme token sees only acme.
    let (_, all) = get(&server, Some(&admin), "/v1/accounts").await;
    let names: BTreeSet<&str> = all["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["acme", "beta"]));
    assert!(all["next_cursor"].is_null());
    let (_, mine) = get(&server, Some(&acme), "/v1/accounts").await;
    assert_eq!(mine["result"].as_array().unwrap().len(), 1);
    assert_eq!(mine["result"][0]["id"], "acme");
    assert!(mine["result"][0].get("provhash_sealed").is_none());
    let (status, one) = get(&server, Some(&acme), "/v1/accounts/acme").await;
    assert_eq!(status, 200);
    assert_eq!(one["result"]["last_sync"]["outcome"], "succeeded", "{one}");
    assert_eq!(get(&server, Some(&acme), "/v1/accounts/beta").await.0, 404);

    let (_, users) = get(&server, Some(&acme), "/v1/users?limit=1000").await;
    let users = users["result"].as_array().unwrap().clone();
    assert!(!users.is_empty());
    assert!(users.iter().all(|u| u["account"] == "acme"));
    let (_, every) = get(&server, Some(&admin), "/v1/users?limit=1000").await;
    let beta_user = every["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["account"] == "beta")
        .unwrap()
        .clone();
    let beta_id = beta_user["id"].to_string();
    assert_eq!(
        get(&server, Some(&admin), &format!("/v1/users/{beta_id}"))
            .await
            .0,
        200
    );
    let (status, body) = get(&server, Some(&acme), &format!("/v1/users/{beta_id}")).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = get(&server, Some(&acme), "/v1/users?account=beta").await;
    assert_eq!(status, 400);
    for path in ["/v1/groups", "/v1/findings", "/v1/changes?since=30d"] {
        let (status, body) = get(&server, Some(&acme), path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            body["result"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["account"] == "acme"),
            "{path}: {body}"
        );
    }
    let (_, groups) = get(&server, Some(&admin), "/v1/groups").await;
    assert!(
        groups["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["account"] == "beta")
    );

    // Bad input: 400 naming the field.
    for (path, field) in [
        ("/v1/users?cursor=garbage!", "cursor"),
        ("/v1/users?limit=0", "limit"),
        ("/v1/users?limit=5000", "limit"),
        ("/v1/users?status=happy", "status"),
        ("/v1/users?admin=maybe", "admin"),
        ("/v1/users?colour=red", "colour"),
        ("/v1/changes?since=yesterday", "since"),
        ("/v1/changes?kind=user.exploded", "kind"),
    ] {
        let (status, body) = get(&server, Some(&admin), path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["field"], field, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter");
    }
    let (status, body) = get(&server, Some(&admin), "/v1/nothing").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");

    // Revoked tokens stop working (after the 30 s cache for a token already used; this one
    // was never used).
    let fresh = token(&env, "fresh", "read", None).await;
    env.ok(&["token", "revoke", "fresh"]).await;
    assert_eq!(get(&server, Some(&fresh), "/v1/users").await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_bad_tokens_are_rate_limited() {
    let env = env(5).await;
    env.linked().await;
    let good = token(&env, "good", "read", None).await;
    let server = start(&env).await;
    let wrong = format!("lpg_{}", "B".repeat(43));
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(get(&server, Some(&wrong), "/v1/accounts").await.0);
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");
    let res = reqwest::Client::new()
        .get(format!("{}/v1/accounts", server.base))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        429,
        "blocked address, even with a good token"
    );
    assert!(res.headers().get("retry-after").is_some());
    // Health checks stay open.
    assert_eq!(get(&server, None, "/healthz").await.0, 200);
}

/// LastPass API call to the emulator in-process.
pub(crate) fn emu_call(env: &Env, cmd: &str, data: Value) {
    let body = serde_json::json!({
        "cid": CID, "provhash": crate::helpers::HASH, "cmd": cmd, "data": data
    });
    let reply = env
        .emu
        .emulator()
        .call(serde_json::to_string(&body).unwrap().as_bytes());
    let reply = String::from_utf8_lossy(&reply).to_string();
    assert!(reply.contains("OK"), "{cmd}: {reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_neither_skip_nor_repeat_while_syncs_run() {
    let env = env(60).await;
    env.linked().await;
    env.ok(&["sync", "acme"]).await;
    let reader = token(&env, "reader", "read", None).await;
    let server = start(&env).await;
    let before: HashSet<String> = env
        .emu
        .emulator()
        .view()
        .users
        .iter()
        .map(|u| u.username.clone())
        .collect();

    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    let mut removed = HashSet::new();
    loop {
        let path = match &cursor {
            None => "/v1/users?limit=7".to_string(),
            Some(c) => format!("/v1/users?limit=7&cursor={c}"),
        };
        let (status, page) = get(&server, Some(&reader), &path).await;
        assert_eq!(status, 200, "{page}");
        let rows = page["result"].as_array().unwrap();
        assert!(rows.len() <= 7);
        seen.extend(
            rows.iter()
                .map(|u| u["email"].as_str().unwrap().to_string()),
        );
        // Between pages the company changes and a sync records it: new users sort before
        // and after the cursor, and a user is removed.
        round += 1;
        emu_call(
            &env,
            "batchadd",
            serde_json::json!([
                {"username": format!("aaa-{round}@example.com"), "fullname": "Early"},
                {"username": format!("zzz-{round}@example.com"), "fullname": "Late"},
            ]),
        );
        let victim = env.emu.emulator().view().users[round * 3].username.clone();
        emu_call(
            &env,
            "deluser",
            serde_json::json!({"username": victim, "deleteaction": 2}),
        );
        removed.insert(victim);
        env.ok(&["sync", "acme"]).await;
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
        assert!(round < 100, "runaway pagination");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row was returned twice");
    let throughout: HashSet<&String> = before.difference(&removed).collect();
    for email in &throughout {
        assert!(unique.contains(email), "{email} was skipped");
    }
    assert!(round > 5, "the walk spanned several syncs");
}

async fn first_page(server: &Server, reader: &str) -> Vec<Value> {
    let (status, page) = get(server, Some(reader), "/v1/users?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    page["result"].as_array().unwrap().clone()
}

/// The server keeps users' JSON between requests; a sync by another process (the CLI) must
/// still show at once in single reads and in pages: renamed, removed and added users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_show_a_sync_by_another_process_at_once() {
    let env = env(30).await;
    env.linked().await;
    env.ok(&["sync", "acme"]).await;
    let reader = token(&env, "reader", "read", None).await;
    let server = start(&env).await;
    let first = first_page(&server, &reader).await;
    let renamed = first[3].clone();
    let removed = first[5].clone();
    let id = |u: &Value| u["id"].as_i64().unwrap();
    // Read twice, so both answers come from the cache the second time.
    for _ in 0..2 {
        let (status, one) = get(
            &server,
            Some(&reader),
            &format!("/v1/users/{}", id(&renamed)),
        )
        .await;
        assert_eq!((status, &one["result"]), (200, &renamed));
    }
    assert_eq!(first_page(&server, &reader).await, first);

    emu_call(
        &env,
        "updateuser",
        serde_json::json!({"username": renamed["email"], "fullname": "Someone Else"}),
    );
    emu_call(
        &env,
        "deluser",
        serde_json::json!({"username": removed["email"], "deleteaction": 2}),
    );
    emu_call(
        &env,
        "batchadd",
        serde_json::json!([{"username": "aaaa-first@example.com", "fullname": "New Hire"}]),
    );
    env.ok(&["sync", "acme"]).await;

    let (status, one) = get(
        &server,
        Some(&reader),
        &format!("/v1/users/{}", id(&renamed)),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["result"]["fullname"], "Someone Else");
    let (status, gone) = get(
        &server,
        Some(&reader),
        &format!("/v1/users/{}", id(&removed)),
    )
    .await;
    // LastPass no longer lists the user: lpgate keeps it as deprovisioned.
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["result"]["status"], "deprovisioned");
    let after = first_page(&server, &reader).await;
    assert_eq!(after[0]["email"], "aaaa-first@example.com");
    let row = after.iter().find(|u| id(u) == id(&renamed)).unwrap();
    assert_eq!(row["fullname"], "Someone Else");
    let row = after.iter().find(|u| id(u) == id(&removed)).unwrap();
    assert_eq!(row["status"], "deprovisioned");
    assert_eq!(after.len(), first.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_cleanly() {
    let env = env(5).await;
    env.linked().await;
    let mut server = start(&env).await;
    assert_eq!(get(&server, None, "/healthz").await.0, 200);
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || {
        let s = server.child.wait().unwrap();
        (s, server)
    })
    .await
    .unwrap()
    .0;
    assert!(status.success(), "{status:?}");
}
