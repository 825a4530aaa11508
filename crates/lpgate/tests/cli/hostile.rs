//! Hostile input against `lpgate serve` over real HTTP on a real SQLite store: SQL sandbox
//! escapes, injection through filters and sort keys, path traversal, oversize and deeply
//! nested JSON, slow clients, token guessing, CSRF and cross-account access with an
//! account-scoped token. Each is refused with its documented error, and the store is
//! compared row for row before and after: nothing changed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::dashboard::{Browser, csrf_of};
use crate::helpers::{Env, env};
use crate::scim::{Scim, USER, error as scim_error, urlencode};
use crate::serve::{Server, second_account, start, start_with, token};

/// Every row of every table of the store, as text, sorted. Reads record when a token was
/// last used (`api_tokens.last_used_at`); that column is left out, nothing else is.
pub(crate) fn fingerprint(env: &Env) -> BTreeMap<String, Vec<String>> {
    let conn = rusqlite::Connection::open_with_flags(
        env.data().join("lpgate.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .filter(|c: &String| c != "last_used_at")
            .collect();
        if cols.is_empty() {
            continue;
        }
        let list = cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn
            .prepare(&format!("SELECT {list} FROM \"{t}\""))
            .unwrap();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..cols.len())
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        out.insert(t, rows);
    }
    out
}

/// Asserts the store equals `before`, naming the first table that differs.
fn unchanged(env: &Env, before: &BTreeMap<String, Vec<String>>) {
    let after = fingerprint(env);
    for (table, rows) in before {
        assert_eq!(after.get(table), Some(rows), "table {table} changed");
    }
    assert_eq!(after.len(), before.len(), "tables were added or removed");
}

async fn request(
    s: &Server,
    method: &str,
    token: Option<&str>,
    path: &str,
    body: Option<(&str, String)>,
) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), format!("{}{path}", s.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some((kind, b)) = body {
        req = req.header("content-type", kind).body(b);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn call(s: &Server, method: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let b = (!body.is_null()).then(|| ("application/json", body.to_string()));
    let (status, text) = request(s, method, Some(token), path, b).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
    )
}

async fn query(s: &Server, token: &str, sql: &str, extra: Value) -> (u16, Value) {
    let mut body = json!({ "sql": sql });
    if let Value::Object(m) = extra {
        body.as_object_mut().unwrap().extend(m);
    }
    call(s, "POST", token, "/v1/query", body).await
}

/// Two linked and synced accounts (`acme` and `beta`), tokens, and a running server.
struct World {
    env: Env,
    _beta: lpgate_emulator::RunningEmulator,
    server: Server,
    admin: String,
    /// `read`, limited to acme.
    acme: String,
    /// `write`, limited to acme.
    acme_write: String,
    /// `scim`, bound to acme.
    scim: String,
}

async fn world() -> World {
    let env = env(30).await;
    env.linked().await;
    let beta = second_account(&env).await;
    // beta has a domain acme does not (generated companies may share one).
    beta.emulator().invite("probe@beta-only.example").unwrap();
    env.ok(&["sync", "--all"]).await;
    // An HR list with one person in each account's email domain and one in neither.
    let domains = env
        .json(&[
            "query",
            "SELECT DISTINCT account, substr(email, instr(email, '@') + 1) AS domain FROM users",
        ])
        .await;
    let mut hr = String::from("email,name\nnobody@elsewhere.example,Nobody\n");
    for d in &domains {
        hr.push_str(&format!(
            "hr-{}@{},Staff of {}\n",
            d["account"].as_str().unwrap(),
            d["domain"].as_str().unwrap(),
            d["account"].as_str().unwrap()
        ));
    }
    let hr_file = env.dir.path().join("hr.csv");
    std::fs::write(&hr_file, hr).unwrap();
    env.ok(&["hr", "load", crate::helpers::path(&hr_file)])
        .await;
    let admin = token(&env, "admin", "admin", None).await;
    let acme = token(&env, "acme-read", "read", Some("acme")).await;
    let acme_write = token(&env, "acme-write", "write", Some("acme")).await;
    let scim = env
        .ok(&["scim", "token", "create", "--account", "acme"])
        .await
        .trim()
        .to_string();
    let server = start(&env).await;
    World {
        env,
        _beta: beta,
        server,
        admin,
        acme,
        acme_write,
        scim,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_sandbox_escapes_are_refused_and_change_nothing() {
    let w = world().await;
    let s = &w.server;
    let before = fingerprint(&w.env);

    // Writes, schema changes, attaching files, pragmas, extensions, transactions, internal
    // tables and the sealed hashes: 400 query_refused with SQLite's reason.
    for sql in [
        "DELETE FROM users",
        "UPDATE users SET admin = 1",
        "INSERT INTO accounts (account) VALUES ('x')",
        "DELETE FROM main.users",
        "UPDATE main.api_tokens SET revoked_at = NULL",
        "DROP TABLE main.audit",
        "DROP VIEW users",
        "CREATE TABLE evil (x)",
        "CREATE TEMP TABLE evil (x)",
        "CREATE TEMP VIEW evil AS SELECT * FROM main.accounts",
        "ATTACH DATABASE '/tmp/lpgate-hostile.sqlite' AS evil",
        "ATTACH DATABASE 'file::memory:' AS evil",
        "DETACH DATABASE main",
        "PRAGMA writable_schema = 1",
        "PRAGMA query_only = 0",
        "PRAGMA main.journal_mode = DELETE",
        "PRAGMA table_info(api_tokens)",
        "SELECT * FROM pragma_table_info('api_tokens')",
        "SELECT load_extension('/tmp/evil.so')",
        "SELECT load_extension('libc.so.6', 'system')",
        "VACUUM INTO '/tmp/lpgate-hostile-copy.sqlite'",
        "BEGIN IMMEDIATE",
        "SAVEPOINT x",
        "ANALYZE",
        "REINDEX",
        "SELECT * FROM main.api_tokens",
        "SELECT token_hash FROM main.api_tokens",
        "SELECT provhash_sealed FROM main.accounts",
        "SELECT * FROM main.accounts",
        "SELECT sql FROM sqlite_master",
        "SELECT * FROM main.audit",
        "SELECT readfile('/etc/passwd')",
        "SELECT writefile('/tmp/x', 'y')",
        "SELECT edit('x')",
        "UPDATE temp.lpgate_scope SET account_id = NULL",
        "INSERT INTO temp.lpgate_scope VALUES (NULL)",
        "SELECT 1; DELETE FROM main.users",
        "WITH x AS (SELECT 1) DELETE FROM main.users",
        "SELECT randomblob(100000000)",
        "SELECT zeroblob(100000000)",
        "SELECT printf('%.*c', 100000000, 'x')",
    ] {
        let (status, body) = query(s, &w.admin, sql, json!({})).await;
        assert_eq!(status, 400, "{sql}: {body}");
        assert_eq!(body["error"]["code"], "query_refused", "{sql}: {body}");
        assert!(
            !body["error"]["message"].as_str().unwrap().is_empty(),
            "{sql}"
        );
    }

    // A recursive CTE that never ends is cancelled at the time limit.
    let started = Instant::now();
    let (status, body) = query(
        s,
        &w.admin,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c",
        json!({"timeout_secs": 1.0}),
    )
    .await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["error"]["code"], "query_timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
    // So is a cartesian-product bomb over the views, and a sort of a bomb.
    for sql in [
        "SELECT COUNT(*) FROM users a, users b, users c, users d, users e, users f",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
         SELECT x FROM c ORDER BY x DESC LIMIT 1",
    ] {
        let (status, body) = query(s, &w.admin, sql, json!({"timeout_secs": 1.0})).await;
        assert_eq!(status, 408, "{sql}: {body}");
    }

    // Many rows are cut at the row limit and marked truncated.
    let (status, body) = query(
        s,
        &w.admin,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) \
         SELECT x FROM c",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["rows"].as_array().unwrap().len(), 10_000);
    assert_eq!(body["result"]["truncated"], true);
    // Large values within the row limit are refused by the result's size limit (32 MiB)
    // instead of being gathered in the server's memory.
    let (status, body) = query(
        s,
        &w.admin,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) \
         SELECT hex(randomblob(400000)) FROM c",
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "query_refused");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("larger than 32 MiB"), "{message}");

    // Sorting generated rows spills to a temporary file rather than memory: the server's
    // peak memory stays small while the query runs to its time limit.
    let (status, body) = query(
        s,
        &w.admin,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
         SELECT length(b) FROM (SELECT hex(randomblob(400000)) AS b FROM c ORDER BY b) LIMIT 1",
        json!({"timeout_secs": 3.0}),
    )
    .await;
    assert_eq!(status, 408, "{body}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.child.id())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(peak_kib < 400 * 1024, "the server peaked at {peak_kib} KiB");

    // The sandbox still answers ordinary queries afterwards.
    let (status, body) = query(s, &w.admin, "SELECT COUNT(*) FROM users", json!({})).await;
    assert_eq!(status, 200, "{body}");
    unchanged(&w.env, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_scoped_tokens_see_only_their_account_everywhere() {
    let w = world().await;
    let s = &w.server;
    let before = fingerprint(&w.env);

    // The SQL sandbox: every view shows acme's rows only, and the scope cannot be escaped.
    let (status, body) = query(
        s,
        &w.acme,
        "SELECT DISTINCT account FROM users UNION SELECT account FROM groups \
         UNION SELECT account FROM accounts UNION SELECT account FROM changes",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["rows"], json!([["acme"]]));
    let (_, all) = query(s, &w.admin, "SELECT COUNT(*) FROM users", json!({})).await;
    let (_, mine) = query(s, &w.acme, "SELECT COUNT(*) FROM users", json!({})).await;
    let (_, acme_only) = query(
        s,
        &w.admin,
        "SELECT COUNT(*) FROM users WHERE account = 'acme'",
        json!({}),
    )
    .await;
    assert_eq!(mine["result"]["rows"], acme_only["result"]["rows"]);
    // Counting through every view still works when confined to one account.
    for view in [
        "accounts",
        "sync_runs",
        "users",
        "users_history",
        "groups",
        "memberships",
        "folders",
        "folder_members",
        "events",
        "changes",
        "findings",
        "expired_passwords",
        "hr_people",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {view}");
        let (status, body) = query(s, &w.acme, &sql, json!({})).await;
        assert_eq!(status, 200, "{sql}: {body}");
        let sql = format!("SELECT COUNT(*) FROM {view} WHERE account_id IS NOT NULL OR 1");
        let (status, body) = query(s, &w.acme, &sql, json!({})).await;
        assert!(status == 200 || view == "hr_people", "{sql}: {body}");
    }
    assert_ne!(all["result"]["rows"], mine["result"]["rows"]);
    // The HR list belongs to no account: confined to acme, only acme's domains' staff.
    let hr_sql = "SELECT email FROM hr_people ORDER BY email";
    let (_, every) = query(s, &w.admin, hr_sql, json!({})).await;
    let (status, acme_hr) = query(s, &w.acme, hr_sql, json!({})).await;
    assert_eq!(status, 200, "{acme_hr}");
    let every = every["result"]["rows"].as_array().unwrap().clone();
    let acme_hr = acme_hr["result"]["rows"].as_array().unwrap().clone();
    let (_, acme_domains) = query(
        s,
        &w.acme,
        "SELECT DISTINCT substr(email, instr(email, '@')) FROM users",
        json!({}),
    )
    .await;
    let acme_domains: Vec<String> = acme_domains["result"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<Value> = every
        .iter()
        .filter(|r| {
            let email = r[0].as_str().unwrap();
            acme_domains.iter().any(|d| email.ends_with(d.as_str()))
        })
        .cloned()
        .collect();
    assert!(every.len() >= 4, "{every:?}");
    assert!(
        !expected.is_empty() && expected.len() < every.len(),
        "{every:?}"
    );
    assert_eq!(acme_hr, expected, "acme's domains: {acme_domains:?}");
    for sql in [
        "SELECT COUNT(*) FROM main.hr_people",
        // The tables behind the views, even only counted, would show other accounts' sizes.
        "SELECT COUNT(*) FROM main.users",
        "SELECT 1 FROM main.users LIMIT 1 OFFSET 35",
        "SELECT COUNT(*) FROM main.changes",
        "SELECT * FROM main.users WHERE account_id <> (SELECT account_id FROM temp.lpgate_scope)",
        "UPDATE temp.lpgate_scope SET account_id = NULL",
    ] {
        let (status, body) = query(s, &w.acme, sql, json!({})).await;
        assert_eq!(status, 400, "{sql}: {body}");
        assert_eq!(body["error"]["code"], "query_refused", "{sql}: {body}");
    }

    // REST: another account's items are 404, its lists 400, its writes refused.
    let (_, every) = call(
        s,
        "GET",
        &w.admin,
        "/v1/users?account=beta&limit=5",
        Value::Null,
    )
    .await;
    let beta_user = every["result"][0].clone();
    let beta_id = beta_user["id"].to_string();
    let beta_email = beta_user["email"].as_str().unwrap().to_string();
    let (_, groups) = call(s, "GET", &w.admin, "/v1/groups?account=beta", Value::Null).await;
    let beta_group = groups["result"][0]["id"].to_string();
    for (path, status) in [
        (format!("/v1/users/{beta_id}"), 404),
        (format!("/v1/users/{beta_id}/roles"), 404),
        (format!("/v1/groups/{beta_group}/members"), 404),
        ("/v1/accounts/beta".into(), 404),
        ("/v1/users?account=beta".into(), 400),
        ("/v1/changes?account=beta".into(), 400),
        ("/v1/reports/mfa?account=beta".into(), 400),
        ("/v1/audit?account=beta".into(), 400),
        ("/v1/folders?account=beta".into(), 400),
        ("/v1/events?account=beta".into(), 400),
    ] {
        let (got, body) = call(s, "GET", &w.acme, &path, Value::Null).await;
        assert_eq!(got, status, "{path}: {body}");
    }
    // The report without `account` is acme's alone.
    let (status, body) = call(s, "GET", &w.acme, "/v1/reports/mfa", Value::Null).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains("\"beta\""), "{body}");
    let (status, body) = call(
        s,
        "POST",
        &w.acme_write,
        "/v1/plans",
        json!({"account": "beta", "actions": [{"action": "disable", "email": beta_email}]}),
    )
    .await;
    assert!(matches!(status, 400 | 403 | 404), "{status}: {body}");
    for path in ["/v1/accounts/beta/sync", "/v1/accounts/beta/proxy"] {
        let (status, body) = call(
            s,
            "POST",
            &w.acme_write,
            path,
            json!({"cmd": "getuserdata"}),
        )
        .await;
        assert!(matches!(status, 403 | 404), "{path}: {status} {body}");
    }

    // SCIM: the acme token finds no beta user by id or by filter.
    let scim = Scim {
        server: s,
        token: w.scim.clone(),
    };
    let filter = urlencode(&format!("userName eq \"{beta_email}\""));
    let r = scim.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let r = scim.get(&format!("/Users/{}", beta_user["id"])).await;
    scim_error(&r, 404, None);
    let r = scim
        .patch(
            &format!("/Users/{}", beta_user["id"]),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    scim_error(&r, 404, None);

    // The dashboard signed in with the acme token: beta's user page is 404.
    let mut b = Browser::new(s);
    b.sign_in(&w.acme).await;
    let r = b.get(&format!("/ui/users/{beta_id}")).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = b.get("/ui/reports/mfa?account=beta").await;
    assert!(matches!(r.status, 400 | 404), "{}", r.status);
    unchanged(&w.env, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_traversal_and_hostile_bodies_are_refused() {
    let w = world().await;
    let s = &w.server;
    let before = fingerprint(&w.env);
    let (_, all) = call(s, "GET", &w.admin, "/v1/users?limit=1000", Value::Null).await;

    // REST query parameters are values, never SQL.
    for path in [
        "/v1/users?q=%27%20OR%201%3D1%20--",
        "/v1/users?q=%25%27%20OR%20%271%27%3D%271",
        "/v1/users?group=x%27%20OR%20%271%27%3D%271",
        "/v1/users?group=%22)%20OR%201%3D1%20--",
    ] {
        let (status, body) = call(s, "GET", &w.admin, path, Value::Null).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["result"], json!([]), "{path}");
    }
    for path in [
        "/v1/users?status=active%27%20OR%201%3D1--",
        "/v1/users?account=acme%27%20OR%201%3D1--",
        "/v1/users?sort=email;DROP%20TABLE%20users",
        "/v1/users?limit=1%20OR%201%3D1",
        "/v1/changes?kind=user.created%27--",
    ] {
        let (status, body) = call(s, "GET", &w.admin, path, Value::Null).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{path}");
    }

    // SCIM filters and sort keys: values stay values, unknown attributes and nesting beyond
    // the parser's depth limit are 400 invalidFilter.
    let scim = Scim {
        server: s,
        token: w.scim.clone(),
    };
    for filter in [
        r#"userName eq "x' OR '1'='1""#,
        r#"userName eq "x\" or userName pr or \"""#,
        r#"userName co "%' OR 1=1 --""#,
        r#"displayName sw "'); DROP TABLE users; --""#,
        r#"emails[value co "' OR 1=1 --"]"#,
        // An attribute no resource has matches nothing (it is not an error).
        r#"password eq "x""#,
    ] {
        let r = scim
            .get(&format!("/Users?filter={}", urlencode(filter)))
            .await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(r.body["totalResults"], 0, "{filter}: {}", r.body);
    }
    let deep = format!("{}userName pr{}", "not (".repeat(5000), ")".repeat(5000));
    let wide = vec!["userName pr"; 20_000].join(" and ");
    for filter in [
        "userName eq",
        "userName eq \"a\" or",
        "1=1",
        "userName eq 'x' OR 1=1",
        deep.as_str(),
    ] {
        let r = scim
            .call(
                "POST",
                "/Users/.search",
                Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter})),
                &[],
            )
            .await;
        assert_eq!(r.status, 400, "{filter}: {}", r.body);
        scim_error(&r, 400, Some("invalidFilter"));
    }
    let r = scim
        .call(
            "POST",
            "/Users/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": wide})),
            &[],
        )
        .await;
    assert!(matches!(r.status, 200 | 400), "{}", r.body);
    let scim_total = scim.get("/Users?count=1").await.body["totalResults"].clone();
    for sort in [
        "userName; DROP TABLE users",
        "name.familyName desc --",
        "password",
    ] {
        let r = scim
            .get(&format!("/Users?sortBy={}&count=1000", urlencode(sort)))
            .await;
        if r.status == 200 {
            assert_eq!(r.body["totalResults"], scim_total, "{sort}");
        } else {
            scim_error(&r, 400, None);
        }
    }

    // Static files: only the two compiled-in assets exist; nothing is read from disk.
    for path in [
        "/ui/assets/../../Cargo.toml",
        "/ui/assets/..%2f..%2fCargo.toml",
        "/ui/assets/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/ui/assets/..%5c..%5cCargo.toml",
        "/ui/assets/%2fetc%2fpasswd",
        "/ui/assets/....//....//etc/passwd",
        "/ui/assets/dashboard-1.css%00.js",
        "/ui/assets/htmx-2.0.4.min.js/../../../lpgate.sqlite",
        "/ui/assets/lpgate.sqlite",
        "/ui/assets/",
        "/ui/assets/%252e%252e%252fCargo.toml",
    ] {
        let (status, body) = request(s, "GET", None, path, None).await;
        assert!(matches!(status, 404 | 400), "{path}: {status}");
        assert!(
            !body.contains("[workspace]")
                && !body.contains("root:")
                && !body.contains("SQLite format"),
            "{path}: {body}"
        );
    }
    assert_eq!(
        request(s, "GET", None, "/ui/assets/dashboard-1.css", None)
            .await
            .0,
        200
    );

    // JSON nested far deeper than serde's recursion limit, and bodies over the limit: 400
    // invalid_body / 413 body_too_large on /v1, the SCIM error body on /scim/v2.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested_obj = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    for body in [&nested, &nested_obj] {
        let (status, text) = request(
            s,
            "POST",
            Some(&w.admin),
            "/v1/plans",
            Some(("application/json", body.clone())),
        )
        .await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("invalid_body"), "{text}");
        let (status, text) = request(
            s,
            "POST",
            Some(&w.admin),
            "/v1/query",
            Some((
                "application/json",
                format!("{{\"sql\": \"SELECT 1\", \"params\": {{\"a\": {body}}}}}"),
            )),
        )
        .await;
        assert_eq!(status, 400, "{text}");
        let r = scim.call("POST", "/Users", None, &[]).await;
        assert!(r.status >= 400);
        let (status, text) = request(
            s,
            "POST",
            Some(&w.scim),
            "/scim/v2/Users",
            Some(("application/scim+json", body.clone())),
        )
        .await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains("urn:ietf:params:scim:api:messages:2.0:Error"),
            "{text}"
        );
        let (status, text) = request(
            s,
            "PATCH",
            Some(&w.scim),
            &format!("/scim/v2/Users/{}", all["result"][0]["id"]),
            Some(("application/scim+json", body.clone())),
        )
        .await;
        assert!(matches!(status, 400 | 404), "{status}: {text}");
    }
    let big = json!({"sql": format!("SELECT '{}'", "x".repeat(2 * 1024 * 1024))}).to_string();
    let (status, text) = request(
        s,
        "POST",
        Some(&w.admin),
        "/v1/query",
        Some(("application/json", big.clone())),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("body_too_large"), "{text}");
    let huge_user = json!({"schemas": [USER], "userName": "big@example.com", "displayName": "x".repeat(2 * 1024 * 1024)});
    let r = scim.post("/Users", huge_user).await;
    scim_error(&r, 413, None);
    unchanged(&w.env, &before);
}

/// Reads what the server sends until it closes the connection or `limit` passes; `None`
/// when it was still open at the limit.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_are_served() {
    let env = env(5).await;
    env.linked().await;
    env.ok(&["sync", "acme"]).await;
    let admin = token(&env, "admin", "admin", None).await;
    let scim_token = env
        .ok(&["scim", "token", "create", "--account", "acme"])
        .await
        .trim()
        .to_string();
    let server = start_with(
        &env,
        &[
            ("LPGATE_SERVE_HEADER_TIMEOUT_SECS", "1"),
            ("LPGATE_SERVE_BODY_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    let before = fingerprint(&env);
    let addr = server.base.strip_prefix("http://").unwrap().to_string();

    // Headers that never end: the connection is closed at the header deadline.
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"GET /v1/users HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let got = read_until_closed(&mut stalled, Duration::from_secs(6)).await;
    assert!(got.is_some(), "a stalled request kept its connection open");
    assert!(started.elapsed() < Duration::from_secs(4));

    // A kept-alive connection left idle after its answer is closed at the same deadline.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let got = read_until_closed(&mut idle, Duration::from_secs(6))
        .await
        .expect("an idle kept-alive connection stayed open");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(started.elapsed() < Duration::from_secs(4));

    // Headers trickled a byte at a time: the deadline runs from the first byte, so feeding
    // it does not extend it.
    let mut trickle = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    let head =
        b"GET /v1/users HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed = false;
    for byte in head {
        if trickle.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut probe = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(100), trickle.read(&mut probe)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            _ => {}
        }
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    assert!(closed, "a trickled request kept its connection open");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // A body that stops half-way: 408 in the API's envelope, and on SCIM the SCIM error.
    for (path, token, kind, marker) in [
        ("/v1/query", &admin, "application/json", "request_timeout"),
        (
            "/scim/v2/Users",
            &scim_token,
            "application/scim+json",
            "urn:ietf:params:scim:api:messages:2.0:Error",
        ),
    ] {
        let mut slow = TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {kind}\r\nContent-Length: 500\r\n\r\n{{\"sql\": "
        );
        slow.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let got = read_until_closed(&mut slow, Duration::from_secs(6))
            .await
            .expect("a stalled body kept its connection open");
        assert!(got.starts_with("HTTP/1.1 408"), "{path}: {got}");
        assert!(got.contains(marker), "{path}: {got}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    // Many stalled clients at once do not keep others from being served.
    let mut idle = Vec::new();
    for _ in 0..100 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        idle.push(c);
    }
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(format!("{}/v1/accounts", server.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(idle);
    unchanged(&env, &before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_guessing_and_csrf_are_refused() {
    let w = world().await;
    let s = &w.server;
    let before = fingerprint(&w.env);

    // Tokens are stored only as keyed hashes: the database holds no token, and a guess that
    // shares the real token's prefix is refused like any other.
    let db = std::fs::read(w.env.data().join("lpgate.sqlite")).unwrap();
    for t in [&w.admin, &w.acme, &w.scim] {
        let needle = t.as_bytes();
        assert!(!db.windows(needle.len()).any(|win| win == needle));
        let secret = &t[4..];
        assert!(!db.windows(secret.len()).any(|win| win == secret.as_bytes()));
    }
    let near = format!("{}A", &w.admin[..w.admin.len() - 1]);
    let near = if near == w.admin {
        format!("{}B", &w.admin[..w.admin.len() - 1])
    } else {
        near
    };
    let mut statuses = Vec::new();
    for guess in [near.as_str(), "lpg_", "Bearer", "", "lpg_%00"]
        .iter()
        .cycle()
        .take(10)
    {
        statuses.push(request(s, "GET", Some(guess), "/v1/accounts", None).await.0);
    }
    assert!(statuses.iter().all(|st| *st == 401), "{statuses:?}");
    // The eleventh failure from this address is rate limited — the real token too, on /v1,
    // SCIM and the dashboard's sign-in alike.
    let (status, body) = call(s, "GET", &w.admin, "/v1/accounts", Value::Null).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = request(s, "GET", Some(&w.scim), "/scim/v2/Users", None).await;
    assert_eq!(status, 429);

    // CSRF: a signed-in browser's session does not carry a cross-site form. Use a fresh
    // server (this address is now blocked).
    drop(w.server);
    let server = start(&w.env).await;
    let mut b = Browser::new(&server);
    let csrf = b.sign_in(&w.admin).await;
    let mut other = Browser::new(&server);
    let other_csrf = other.sign_in(&w.admin).await;
    assert_ne!(csrf, other_csrf);
    for form in [
        vec![("by", "mallory")],
        vec![("by", "mallory"), ("csrf", "")],
        vec![("by", "mallory"), ("csrf", other_csrf.as_str())],
        vec![("by", "mallory"), ("csrf", &csrf[..csrf.len() - 1])],
    ] {
        for path in [
            "/ui/plans/1/approve",
            "/ui/plans/1/apply",
            "/ui/notifications/1/retry",
            "/ui/sign-out",
        ] {
            let r = b.post(path, &form).await;
            assert_eq!(r.status, 403, "{path} {form:?}: {}", r.body);
        }
    }
    // Actions are POST only: a link or an image cannot trigger one.
    let r = b.get("/ui/plans/1/approve").await;
    assert_eq!(r.status, 405, "{}", r.body);
    // Signing in needs the sign-in form's own CSRF cookie and token (no login CSRF).
    let mut fresh = Browser::new(&server);
    let r = fresh
        .post("/ui/sign-in", &[("token", &w.admin), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The session still works with its own token.
    let page = b.get("/ui").await;
    assert_eq!(page.status, 200);
    assert_eq!(csrf_of(&page.body), csrf);
    unchanged(&w.env, &before);
}
