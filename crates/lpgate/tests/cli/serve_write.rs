//! The write side of `lpgate serve` over real HTTP: JSON bodies checked before anything
//! happens, account administration, API-triggered syncs, plans (held, approved, applied)
//! against the emulator with the audit actor `token:NAME`, `POST /v1/query`, the proxy.

use std::time::Duration;

use lpgate_emulator::{CompanySpec, Credentials, Emulator, FaultSpec, Latency};
use serde_json::{Value, json};

use crate::helpers::{CID, Env, HASH, env};
use crate::serve::{Server, start};

async fn token(env: &Env, name: &str, scope: &str, account: Option<&str>) -> String {
    let mut args = vec!["token", "create", name, "--scope", scope];
    if let Some(a) = account {
        args.extend(["--account", a]);
    }
    env.ok(&args).await.trim().to_string()
}

/// One request; `body` is sent as `application/json` unless `content_type` says otherwise.
async fn call(
    s: &Server,
    method: &str,
    token: &str,
    path: &str,
    body: Option<&str>,
    content_type: Option<&str>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", s.base);
    let mut req = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PATCH" => client.patch(url),
        "DELETE" => client.delete(url),
        m => panic!("method {m}"),
    }
    .bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", content_type.unwrap_or("application/json"))
            .body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
    )
}

async fn get(s: &Server, token: &str, path: &str) -> (u16, Value) {
    call(s, "GET", token, path, None, None).await
}

async fn post(s: &Server, token: &str, path: &str, body: Value) -> (u16, Value) {
    call(s, "POST", token, path, Some(&body.to_string()), None).await
}

fn active_plain(e: &Env, n: usize) -> Vec<String> {
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

fn disabled(e: &Env, who: &[String]) -> usize {
    e.emu
        .emulator()
        .view()
        .users
        .iter()
        .filter(|u| who.contains(&u.username) && u.disabled)
        .count()
}

async fn audit(s: &Server, admin: &str) -> Vec<Value> {
    let (status, body) = get(s, admin, "/v1/audit?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["result"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_400s_naming_the_field_and_change_nothing() {
    let e = env(30).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let admin = token(&e, "root", "admin", None).await;
    let server = start(&e).await;
    let who = active_plain(&e, 1);
    let sent_before = e.emu.emulator().requests("deluser") + e.emu.emulator().requests("batchadd");

    let good_action = json!({"action": "suspend", "email": who[0]});
    let cases: Vec<(&str, String, Option<&str>, Option<&str>)> = vec![
        // (path, body, content type, field)
        ("/v1/plans", "{\"account\": \"acme\", ".into(), None, None),
        ("/v1/plans", json!({"account": "acme", "actions": [good_action]}).to_string(), Some("text/plain"), None),
        ("/v1/plans", json!({"actions": [good_action]}).to_string(), None, Some("account")),
        ("/v1/plans", json!({"account": 7, "actions": [good_action]}).to_string(), None, Some("account")),
        ("/v1/plans", json!({"account": "acme", "actions": [good_action], "colour": 1}).to_string(), None, Some("colour")),
        ("/v1/plans", json!({"account": "acme", "actions": [good_action, {"action": "suspend"}]}).to_string(), None, Some("actions[1].email")),
        ("/v1/plans", json!({"account": "acme", "actions": [{"action": "suspend", "email": 5}]}).to_string(), None, Some("actions[0].email")),
        ("/v1/plans", json!({"account": "acme", "actions": [{"action": "explode", "email": who[0]}]}).to_string(), None, Some("actions[0].action")),
        ("/v1/plans", json!({"account": "acme", "actions": [{"action": "suspend", "email": "nobody"}]}).to_string(), None, Some("actions[0].email")),
        ("/v1/plans", json!({"account": "acme", "actions": [{"action": "suspend", "email": who[0], "sudo": true}]}).to_string(), None, Some("actions[0].sudo")),
        ("/v1/plans", json!({"account": "acme", "actions": []}).to_string(), None, Some("actions")),
        ("/v1/plans", json!({"account": "zeta", "actions": [good_action]}).to_string(), None, Some("account")),
        ("/v1/accounts", json!({"name": "b", "provhash": HASH, "url": e.emu.base_url()}).to_string(), None, Some("cid")),
        ("/v1/accounts", json!({"name": "b", "cid": "x", "provhash": HASH}).to_string(), None, Some("cid")),
        ("/v1/accounts", json!({"name": "no spaces", "cid": 1, "provhash": HASH}).to_string(), None, Some("name")),
        ("/v1/accounts", json!({"name": "b", "cid": 1, "provhash": HASH, "interval_secs": 5}).to_string(), None, Some("interval_secs")),
        ("/v1/query", json!({"sql": "SELECT 1", "max_rows": -1}).to_string(), None, Some("max_rows")),
        ("/v1/query", json!({}).to_string(), None, Some("sql")),
        ("/v1/accounts/acme/proxy", json!({"cmd": "getuserdata", "extra": 1}).to_string(), None, Some("extra")),
        ("/v1/accounts/acme/proxy", json!({"cmd": "../x"}).to_string(), None, Some("cmd")),
    ];
    for (path, body, ct, field) in &cases {
        let (status, reply) = call(&server, "POST", &admin, path, Some(body), *ct).await;
        assert_eq!(status, 400, "{path} {body}: {reply}");
        assert_eq!(
            reply["error"]["code"], "invalid_body",
            "{path} {body}: {reply}"
        );
        match field {
            Some(f) => assert_eq!(reply["error"]["field"], *f, "{path} {body}: {reply}"),
            None => assert!(reply["error"].get("field").is_none(), "{reply}"),
        }
    }
    let (status, reply) = call(
        &server,
        "PATCH",
        &admin,
        "/v1/accounts/acme",
        Some(r#"{"enabled": "no"}"#),
        None,
    )
    .await;
    assert_eq!(
        (status, reply["error"]["field"].clone()),
        (400, json!("enabled")),
        "{reply}"
    );
    // Oversize: 413.
    let big = format!(r#"{{"sql": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let (status, reply) = call(&server, "POST", &admin, "/v1/query", Some(&big), None).await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply["error"]["code"], "body_too_large");

    // Nothing happened: no plan, no audit entry, no new account, nothing sent, acme enabled.
    assert_eq!(
        get(&server, &admin, "/v1/plans").await.1["result"],
        json!([])
    );
    assert!(audit(&server, &admin).await.is_empty());
    let (_, accounts) = get(&server, &admin, "/v1/accounts").await;
    assert_eq!(accounts["result"].as_array().unwrap().len(), 1);
    assert_eq!(accounts["result"][0]["enabled"], true);
    assert_eq!(
        e.emu.emulator().requests("deluser") + e.emu.emulator().requests("batchadd"),
        sent_before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_over_http_act_on_the_emulator_hold_approve_and_audit() {
    let e = env(60).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    // Hold any plan removing more than 2 users.
    let config = e.data().join("lpgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("max_removals = 25", "max_removals = 2"),
    )
    .unwrap();
    let admin = token(&e, "root", "admin", None).await;
    let writer = token(&e, "hr-bot", "write", Some("acme")).await;
    let reader = token(&e, "viewer", "read", None).await;
    let server = start(&e).await;
    let who = active_plain(&e, 5);

    // A read token cannot plan.
    let body = json!({"account": "acme", "actions": [{"action": "suspend", "email": who[0]}]});
    let (status, reply) = post(&server, &reader, "/v1/plans", body.clone()).await;
    assert_eq!(status, 403, "{reply}");

    // Plan (nothing sent), then apply: the emulator changes.
    let body = json!({"account": "acme", "actions": [
        {"action": "suspend", "email": who[0]},
        {"action": "suspend", "email": who[1].to_uppercase()},
    ]});
    let (status, plan) = post(&server, &writer, "/v1/plans", body).await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["result"]["state"], "ready");
    assert_eq!(plan["result"]["created_by"], "token:hr-bot");
    assert_eq!(plan["result"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(disabled(&e, &who[..2]), 0, "planning sends nothing");
    let id = plan["result"]["id"].as_i64().unwrap();
    let (status, applied) = post(
        &server,
        &writer,
        &format!("/v1/plans/{id}/apply"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["result"]["state"], "applied", "{applied}");
    assert_eq!(applied["result"]["report"]["done"], 2);
    assert_eq!(disabled(&e, &who[..2]), 2, "the emulator changed");
    let (_, shown) = get(&server, &writer, &format!("/v1/plans/{id}")).await;
    assert!(
        shown["result"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "done")
    );

    // Over the limit: held (202); apply is 409 and sends nothing; an admin approves; apply.
    let body = json!({"account": "acme", "actions": who[2..5].iter()
        .map(|w| json!({"action": "suspend", "email": w})).collect::<Vec<_>>()});
    let (status, held) = post(&server, &writer, "/v1/plans", body).await;
    assert_eq!(status, 202, "{held}");
    assert_eq!(held["result"]["state"], "held");
    let hid = held["result"]["id"].as_i64().unwrap();
    let (status, reply) = post(
        &server,
        &writer,
        &format!("/v1/plans/{hid}/apply"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["error"]["code"], "plan_held");
    assert_eq!(disabled(&e, &who[2..5]), 0);
    let (status, _) = post(
        &server,
        &writer,
        &format!("/v1/plans/{hid}/approve"),
        json!({"by": "x"}),
    )
    .await;
    assert_eq!(status, 403, "a write token cannot approve");
    let (status, approved) = post(
        &server,
        &admin,
        &format!("/v1/plans/{hid}/approve"),
        json!({"by": "Dana"}),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["result"]["state"], "approved");
    let (status, again) = post(
        &server,
        &admin,
        &format!("/v1/plans/{hid}/approve"),
        json!({"by": "Dana"}),
    )
    .await;
    assert_eq!(status, 409, "{again}");
    let (status, applied) = post(
        &server,
        &writer,
        &format!("/v1/plans/{hid}/apply"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(disabled(&e, &who[2..5]), 3);

    // The audit names the token; the CLI's chain check still passes.
    let entries = audit(&server, &admin).await;
    let by_token = |action: &str| {
        entries
            .iter()
            .filter(|a| {
                a["actor"] == "token:hr-bot" && a["action"].as_str().unwrap().starts_with(action)
            })
            .count()
    };
    assert_eq!(by_token("plan.create"), 2, "{entries:?}");
    assert_eq!(
        by_token("suspend"),
        5,
        "one entry per suspended user: {entries:?}"
    );
    assert!(entries.iter().any(|a| a["action"] == "plan.approve"
        && a["actor"] == "token:root"
        && a["summary"].as_str().unwrap().contains("Dana")));
    assert!(e.ok(&["audit", "verify"]).await.contains("chain intact"));
    // The scoped writer reads its account's audit; an unscoped read token may not.
    assert_eq!(get(&server, &writer, "/v1/audit").await.0, 200);
    assert_eq!(get(&server, &reader, "/v1/audit").await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_syncs_queries_and_the_proxy_over_http() {
    let e = env(30).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let beta_emu = Emulator::generate(
        &CompanySpec::new(12, 5),
        Credentials {
            cid: CID + 1,
            provhash: HASH.into(),
        },
    )
    .start(([127, 0, 0, 1], 0).into())
    .await
    .unwrap();
    let admin = token(&e, "root", "admin", None).await;
    let acme_admin = token(&e, "acme-admin", "admin", Some("acme")).await;
    let acme_read = token(&e, "acme-read", "read", Some("acme")).await;
    let server = start(&e).await;

    // Add beta: a wrong hash is refused by LastPass and nothing is saved.
    let mut body = json!({"name": "beta", "cid": CID + 1, "provhash": "f".repeat(64),
        "url": beta_emu.base_url(), "interval_secs": 600});
    let (status, reply) = post(&server, &admin, "/v1/accounts", body.clone()).await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(get(&server, &admin, "/v1/accounts/beta").await.0, 404);
    body["provhash"] = json!(HASH);
    let (status, _) = post(&server, &acme_admin, "/v1/accounts", body.clone()).await;
    assert_eq!(
        status, 403,
        "an account-scoped admin token cannot add accounts"
    );
    let (status, added) = post(&server, &admin, "/v1/accounts", body.clone()).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["result"]["id"], "beta");
    assert_eq!(added["result"]["users"], 12);
    assert!(
        !added.to_string().contains(HASH),
        "the hash is never echoed"
    );
    assert_eq!(post(&server, &admin, "/v1/accounts", body).await.0, 409);
    // It is sealed with the installation's key: the CLI can use it.
    assert!(
        e.ok(&["account", "check", "beta"])
            .await
            .contains("credentials work")
    );

    // PATCH: interval, enabled, rename.
    let patch = |b: Value| {
        let b = b.to_string();
        let (s, t) = (&server, admin.clone());
        async move { call(s, "PATCH", &t, "/v1/accounts/beta", Some(&b), None).await }
    };
    let (status, patched) = patch(json!({"interval_secs": 3600, "enabled": false})).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["result"]["sync_interval_secs"], 3600);
    assert_eq!(patched["result"]["enabled"], false);
    let (status, _) = call(
        &server,
        "PATCH",
        &acme_admin,
        "/v1/accounts/acme",
        Some(r#"{"enabled": false}"#),
        None,
    )
    .await;
    assert_eq!(status, 403);

    // Sync through the API: 202 with the run id, a second trigger while it runs is 409.
    beta_emu.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(1500))),
            ..Default::default()
        },
    );
    let (status, started) = post(&server, &admin, "/v1/accounts/beta/sync", json!({})).await;
    assert_eq!(status, 202, "{started}");
    let run_id = started["result"]["run_id"].as_i64().unwrap();
    let (status, reply) = post(&server, &admin, "/v1/accounts/beta/sync", json!({})).await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(
        post(&server, &acme_read, "/v1/accounts/acme/sync", json!({}))
            .await
            .0,
        403
    );
    let mut outcome = Value::Null;
    for _ in 0..100 {
        let (status, run) = get(&server, &admin, &format!("/v1/sync-runs/{run_id}")).await;
        assert_eq!(status, 200, "{run}");
        outcome = run["result"]["outcome"].clone();
        if outcome != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(outcome, "succeeded");
    assert_eq!(
        get(&server, &acme_read, &format!("/v1/sync-runs/{run_id}"))
            .await
            .0,
        404
    );
    let (_, users) = get(&server, &admin, "/v1/users?account=beta&limit=1000").await;
    let beta_users = users["result"].as_array().unwrap().len();
    // The emulator's 12 users, plus its pending invitations (staged users).
    assert!(beta_users >= 12, "{users}");

    // Query: scoped to the token's account; refusals are 400 query_refused.
    let sql = json!({"sql": "SELECT COUNT(*) AS n FROM users"});
    let (_, all) = post(&server, &admin, "/v1/query", sql.clone()).await;
    let (status, mine) = post(&server, &acme_read, "/v1/query", sql).await;
    assert_eq!(status, 200, "{mine}");
    let n = |v: &Value| v["result"]["rows"][0][0].as_i64().unwrap();
    assert_eq!(n(&all) - n(&mine), beta_users as i64, "{all} {mine}");
    let acme_sql = json!({"sql": "SELECT COUNT(*) FROM users WHERE account = 'acme'"});
    assert_eq!(
        n(&post(&server, &admin, "/v1/query", acme_sql).await.1),
        n(&mine)
    );
    for bad in ["DELETE FROM users", "SELECT * FROM accounts_internal_nope"] {
        let (status, reply) = post(&server, &admin, "/v1/query", json!({"sql": bad})).await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["error"]["code"], "query_refused", "{reply}");
    }

    // Proxy: admin only; the emulator's reply unchanged; audited without the data's values.
    let data = json!({"pagesize": 5, "pageindex": 0});
    let (status, _) = post(
        &server,
        &acme_read,
        "/v1/accounts/acme/proxy",
        json!({"cmd": "getuserdata"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &server,
        &acme_admin,
        "/v1/accounts/beta/proxy",
        json!({"cmd": "getuserdata"}),
    )
    .await;
    assert_eq!(status, 404, "another account is not visible");
    let (status, proxied) = post(
        &server,
        &acme_admin,
        "/v1/accounts/acme/proxy",
        json!({"cmd": "getuserdata", "data": data}),
    )
    .await;
    assert_eq!(status, 200, "{proxied}");
    let direct = e.emu.emulator().call(
        json!({"cid": CID, "provhash": HASH, "cmd": "getuserdata", "data": data})
            .to_string()
            .as_bytes(),
    );
    let direct: Value = serde_json::from_slice(&direct).unwrap();
    assert_eq!(proxied, direct);
    let entries = audit(&server, &admin).await;
    let p = entries
        .iter()
        .find(|a| a["action"] == "proxy")
        .expect("a proxy audit entry");
    assert_eq!(p["actor"], "token:acme-admin");
    assert_eq!(p["target"], "getuserdata");
    assert_eq!(p["account"], "acme");
    assert_eq!(p["outcome"], "ok");
    assert!(!p["summary"].as_str().unwrap().contains('5'), "{p}");
    assert!(
        entries
            .iter()
            .any(|a| a["action"] == "account.add" && a["actor"] == "token:root")
    );

    // Rename, then delete.
    let (status, renamed) = patch(json!({"name": "gamma"})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["result"]["id"], "gamma");
    assert_eq!(
        get(&server, &admin, "/v1/users?account=gamma&limit=1000")
            .await
            .1["result"]
            .as_array()
            .unwrap()
            .len(),
        beta_users
    );
    let (status, _) = call(
        &server,
        "DELETE",
        &acme_admin,
        "/v1/accounts/gamma",
        None,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, gone) = call(&server, "DELETE", &admin, "/v1/accounts/gamma", None, None).await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(get(&server, &admin, "/v1/accounts/gamma").await.0, 404);
    assert!(e.ok(&["audit", "verify"]).await.contains("chain intact"));
}

/// Every newest-first list (changes, events, findings, audit) pages with a cursor: walking
/// pages of two gives exactly the one-page list, in the same order; a cursor of one list is
/// a 400 on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_first_lists_page_without_skips_or_repeats() {
    let e = env(30).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    // A second sync records changes: six new hires.
    let hires: Vec<Value> = (0..6)
        .map(|i| json!({"username": format!("hire{i}@example.com"), "fullname": "New Hire"}))
        .collect();
    crate::serve::emu_call(&e, "batchadd", Value::Array(hires));
    e.ok(&["sync", "acme"]).await;
    let admin = token(&e, "admin", "admin", None).await;
    let server = start(&e).await;
    // Audited calls, so the audit log has several pages too.
    for _ in 0..5 {
        let (status, reply) = post(
            &server,
            &admin,
            "/v1/accounts/acme/proxy",
            json!({"cmd": "getsfdata"}),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
    }
    let mut cursors = Vec::new();
    for list in ["/v1/changes", "/v1/events", "/v1/findings", "/v1/audit"] {
        let (status, whole) = call(
            &server,
            "GET",
            &admin,
            &format!("{list}?limit=1000"),
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{list}: {whole}");
        assert!(whole["next_cursor"].is_null(), "{list}: {whole}");
        let whole = whole["result"].as_array().unwrap().clone();
        assert!(
            whole.len() > 4,
            "{list} has too few rows to page: {}",
            whole.len()
        );
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let path = match &cursor {
                None => format!("{list}?limit=2"),
                Some(c) => format!("{list}?limit=2&cursor={c}"),
            };
            let (status, page) = call(&server, "GET", &admin, &path, None, None).await;
            assert_eq!(status, 200, "{path}: {page}");
            let rows = page["result"].as_array().unwrap();
            assert!(rows.len() <= 2);
            walked.extend(rows.iter().cloned());
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if let Some(c) = &cursor {
                cursors.push((list, c.clone()));
            } else {
                break;
            }
        }
        assert_eq!(walked, whole, "{list}: pages differ from the whole list");
    }
    // A cursor belongs to its list.
    let (list, cursor) = cursors.first().unwrap();
    let other = if *list == "/v1/changes" {
        "/v1/audit"
    } else {
        "/v1/changes"
    };
    let (status, reply) = call(
        &server,
        "GET",
        &admin,
        &format!("{other}?cursor={cursor}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["error"]["field"], "cursor");
}

/// `[serve] max_body_bytes` (here from `LPGATE_SERVE_MAX_BODY_BYTES`) is the 413 limit, and the
/// 413 says it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_limit_is_configurable() {
    let e = env(5).await;
    e.linked().await;
    let admin = token(&e, "admin", "admin", None).await;
    let server = crate::serve::start_with(&e, &[("LPGATE_SERVE_MAX_BODY_BYTES", "4096")]).await;
    let body = |n: usize| format!(r#"{{"sql": "SELECT 1 -- {}"}}"#, "x".repeat(n));
    let (status, reply) = call(
        &server,
        "POST",
        &admin,
        "/v1/query",
        Some(&body(8000)),
        None,
    )
    .await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply["error"]["code"], "body_too_large");
    assert!(
        reply["error"]["message"].as_str().unwrap().contains("4096"),
        "{reply}"
    );
    let (status, reply) = call(
        &server,
        "POST",
        &admin,
        "/v1/query",
        Some(&body(2000)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
}
