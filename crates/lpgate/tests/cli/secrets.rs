//! No secret leaks: a representative end-to-end run — accounts added with known provisioning
//! hashes (one wrong), API and SCIM tokens, webhook secrets (inline and from a file) and a
//! Slack URL whose path is its secret; syncs, `serve` with REST, SCIM, plans, queries and the
//! dashboard; notifications whose deliveries fail — with every log line (at debug level),
//! error message, HTTP response, webhook request body, audit entry and every byte of the data
//! directory kept. None of the secrets appears anywhere, raw or trivially encoded (hex,
//! base64), except the master key in its own key file.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::dashboard::Browser;
use crate::helpers::{CID, Env, HASH, env, path};
use crate::scim::{PATCH, USER};

const WEBHOOK_SECRET: &str = "whsec_7f3a9c2e51b84d06a1e2c3d4f5a6b7c8";
const FILE_SECRET: &str = "whsec_file_0b1c2d3e4f5a6b7c8d9e0f1a2b3c";
const SLACK_PATH: &str = "/services/T0SECRET9/B0SECRET9/xoxSlackPathSecret4711";
const WRONG_HASH: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/// A receiver that answers every request 500 (deliveries fail and are retried) and keeps
/// each request's headers and body, without its request line (a Slack URL's path is the
/// secret the receiver itself knows).
fn failing_receiver() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(std::time::Duration::from_millis(300)))
                .unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 4 && request_complete(&buf) {
                    break;
                }
            }
            let start = buf.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
            seen.lock().unwrap().extend_from_slice(&buf[start..]);
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope",
            );
        }
    });
    (base, got)
}

fn request_complete(buf: &[u8]) -> bool {
    let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    buf.len() >= i + 4 + length
}

/// Everything the run produced, as labelled byte strings.
#[derive(Default)]
struct Evidence(Vec<(String, Vec<u8>)>);

impl Evidence {
    fn add(&mut self, label: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.0.push((label.into(), bytes.into()));
    }

    fn output(&mut self, label: &str, out: &Output) {
        self.add(format!("{label} (stdout)"), out.stdout.clone());
        self.add(format!("{label} (stderr)"), out.stderr.clone());
    }
}

/// A secret and the forms it could leak in: as is, upper case, hex and base64 of its bytes,
/// and for a hex secret (a provisioning hash, the master key) its decoded bytes too.
fn forms(secret: &str) -> Vec<Vec<u8>> {
    let b64 = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let mut raw: Vec<Vec<u8>> = vec![secret.as_bytes().to_vec()];
    let hex_decoded: Option<Vec<u8>> = (secret.len().is_multiple_of(2)
        && secret.bytes().all(|b| b.is_ascii_hexdigit()))
    .then(|| {
        (0..secret.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&secret[i..i + 2], 16).unwrap())
            .collect()
    });
    raw.extend(hex_decoded);
    let mut out = Vec::new();
    for bytes in raw {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        out.push(hex.clone().into_bytes());
        out.push(hex.to_uppercase().into_bytes());
        for engine in &b64 {
            // Inside a longer encoded text the secret's last characters depend on what
            // follows it: look for the ones that do not (4 per 3 bytes, rounded down).
            let e = engine.encode(&bytes);
            out.push(e.as_bytes()[..bytes.len() * 4 / 3].to_vec());
        }
        if let Ok(s) = String::from_utf8(bytes.clone()) {
            out.push(s.to_uppercase().into_bytes());
        }
        out.push(bytes);
    }
    out.retain(|f| f.len() >= 12);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn run_logged(env: &Env, ev: &mut Evidence, args: &[&str]) -> Output {
    let mut c = env.cmd(args);
    c.env("LPGATE_LOG", "debug");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    ev.output(&format!("lpgate {}", args.join(" ")), &out);
    out
}

async fn http(
    ev: &mut Evidence,
    method: &str,
    base: &str,
    token: Option<&str>,
    path: &str,
    body: Option<(&str, Value)>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method.parse().unwrap(), format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some((kind, b)) = body {
        req = req.header("content-type", kind).body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = format!("{:?}", res.headers());
    let text = res.text().await.unwrap();
    ev.add(format!("{method} {path} (headers)"), headers);
    ev.add(format!("{method} {path} ({status})"), text.clone());
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_logs_errors_responses_or_files() {
    let env = env(30).await;
    let mut ev = Evidence::default();
    let (hook, received) = failing_receiver();

    // Accounts: one with the right hash, one with a wrong one (refused).
    assert!(run_logged(&env, &mut ev, &["init"]).await.status.success());
    let url = env.emu.base_url();
    let out = run_logged(
        &env,
        &mut ev,
        &[
            "account",
            "add",
            "acme",
            "--cid",
            &CID.to_string(),
            "--provhash-file",
            path(&env.hash_file()),
            "--url",
            &url,
        ],
    )
    .await;
    assert!(out.status.success());
    let wrong = env.dir.path().join("wrong.txt");
    std::fs::write(&wrong, format!("{WRONG_HASH}\n")).unwrap();
    let out = run_logged(
        &env,
        &mut ev,
        &[
            "account",
            "add",
            "bad",
            "--cid",
            &CID.to_string(),
            "--provhash-file",
            path(&wrong),
            "--url",
            &url,
        ],
    )
    .await;
    assert!(!out.status.success(), "a wrong hash is refused");

    // Channels: a signed webhook with an inline secret, one with a secret file, and Slack.
    let secret_file = env.dir.path().join("webhook-secret");
    std::fs::write(&secret_file, format!("{FILE_SECRET}\n")).unwrap();
    let config = env.data().join("lpgate.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[notifications.channels]]\nname = \"secops\"\nkind = \"webhook\"\nurl = \"{hook}/hook\"\n\
         secret = \"{WEBHOOK_SECRET}\"\n\n[[notifications.channels]]\nname = \"filed\"\n\
         kind = \"webhook\"\nurl = \"{hook}/filed\"\nsecret_file = \"{}\"\n\n\
         [[notifications.channels]]\nname = \"chat\"\nkind = \"slack\"\nurl = \"{hook}{SLACK_PATH}\"\n\n\
         [[notifications.subscriptions]]\nchannel = \"secops\"\nfindings = \"low\"\nchanges = [\"*\"]\n\n\
         [[notifications.subscriptions]]\nchannel = \"filed\"\nchanges = [\"*\"]\n\n\
         [[notifications.subscriptions]]\nchannel = \"chat\"\nchanges = [\"*\"]\n",
        secret_file.display()
    ));
    std::fs::write(&config, text).unwrap();

    // Syncs (the first queues notifications; their deliveries fail), tokens, listings.
    assert!(
        run_logged(&env, &mut ev, &["sync", "acme"])
            .await
            .status
            .success()
    );
    // A token is printed once, by the command that creates it: that stdout is its only
    // intended appearance and is not kept.
    let mut token = async |args: &[&str]| {
        let mut c = env.cmd(args);
        c.env("LPGATE_LOG", "debug");
        let out = tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap();
        assert!(out.status.success());
        ev.add(format!("lpgate {} (stderr)", args.join(" ")), out.stderr);
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let admin = token(&["token", "create", "admin", "--scope", "admin"]).await;
    let reader = token(&[
        "token",
        "create",
        "reader",
        "--scope",
        "read",
        "--account",
        "acme",
    ])
    .await;
    let scim = token(&["scim", "token", "create", "--account", "acme"]).await;
    for args in [
        &["notifications", "deliver"][..],
        &["notifications", "list", "--format", "json"],
        &["token", "list", "--format", "json"],
        &["account", "list", "--format", "json"],
        &["account", "check", "acme"],
        &["config", "show"],
        &["users", "--format", "json"],
        &["query", "SELECT * FROM accounts"],
        &["query", "SELECT provhash_sealed FROM main.accounts"],
        &["audit", "--format", "json"],
    ] {
        run_logged(&env, &mut ev, args).await;
    }

    // The server, logging at debug level.
    let log = env.dir.path().join("serve.log");
    let mut cmd = env.cmd(&["serve", "--bind", "127.0.0.1:0"]);
    cmd.env("LPGATE_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("lpgate serving on ")
        .unwrap()
        .to_string();
    let b = base.as_str();
    for p in [
        "/v1/accounts",
        "/v1/accounts/acme",
        "/v1/users?limit=5",
        "/v1/changes",
        "/v1/audit",
        "/metrics",
    ] {
        http(&mut ev, "GET", b, Some(&admin), p, None).await;
    }
    http(&mut ev, "GET", b, Some(&reader), "/v1/accounts/acme", None).await;
    http(
        &mut ev,
        "GET",
        b,
        Some(&format!("{admin}x")),
        "/v1/users",
        None,
    )
    .await;
    http(&mut ev, "GET", b, Some(HASH), "/v1/users", None).await;
    http(
        &mut ev,
        "POST",
        b,
        Some(&admin),
        "/v1/query",
        Some(("application/json", json!({"sql": "SELECT * FROM accounts"}))),
    )
    .await;
    http(
        &mut ev,
        "POST",
        b,
        Some(&admin),
        "/v1/accounts/acme/proxy",
        Some((
            "application/json",
            json!({"cmd": "getuserdata", "data": {"pagesize": 1}}),
        )),
    )
    .await;
    http(
        &mut ev,
        "POST",
        b,
        Some(&admin),
        "/v1/accounts/acme/proxy",
        Some(("application/json", json!({"cmd": "nosuchcommand"}))),
    )
    .await;
    http(
        &mut ev,
        "POST",
        b,
        Some(&admin),
        "/v1/accounts/acme/sync",
        Some(("application/json", json!({}))),
    )
    .await;
    // A plan, applied.
    let (_, users) = http(
        &mut ev,
        "GET",
        b,
        Some(&admin),
        "/v1/users?status=active&admin=false&limit=3",
        None,
    )
    .await;
    let victim = users["result"][0]["email"].as_str().unwrap().to_string();
    let (status, plan) = http(
        &mut ev,
        "POST",
        b,
        Some(&admin),
        "/v1/plans",
        Some((
            "application/json",
            json!({"account": "acme", "actions": [{"action": "suspend", "email": victim}]}),
        )),
    )
    .await;
    assert!(status == 201 || status == 202, "{plan}");
    let id = plan["result"]["id"].to_string();
    http(
        &mut ev,
        "POST",
        b,
        Some(&admin),
        &format!("/v1/plans/{id}/apply"),
        None,
    )
    .await;
    // SCIM: create, read, deactivate, a bad token.
    let (status, created) = http(
        &mut ev, "POST", b, Some(&scim), "/scim/v2/Users",
        Some(("application/scim+json", json!({"schemas": [USER], "userName": "new.hire@example.com", "name": {"givenName": "New", "familyName": "Hire"}}))),
    )
    .await;
    assert!(status == 201 || status == 503, "{created}");
    http(
        &mut ev,
        "GET",
        b,
        Some(&scim),
        "/scim/v2/Users?count=5",
        None,
    )
    .await;
    if let Some(sid) = created["id"].as_str() {
        http(
            &mut ev, "PATCH", b, Some(&scim), &format!("/scim/v2/Users/{sid}"),
            Some(("application/scim+json", json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}))),
        )
        .await;
    }
    http(&mut ev, "GET", b, Some(&admin), "/scim/v2/Users", None).await;
    // The dashboard.
    let server = crate::serve::Server {
        child,
        base: base.clone(),
    };
    let mut browser = Browser::new(&server);
    browser.sign_in(&admin).await;
    for p in [
        "/ui",
        "/ui/notifications",
        "/ui/audit",
        "/ui/runs",
        "/ui/changes",
        "/ui/plans",
        &format!("/ui/plans/{id}"),
    ] {
        let r = browser.get(p).await;
        ev.add(format!("GET {p} (dashboard {})", r.status), r.body);
    }
    drop(server);

    // After the server: deliveries fail again, a notification retried, a second sync.
    for args in [
        &["notifications", "retry", "--all-dead"][..],
        &["notifications", "deliver"],
        &["sync", "acme"],
        &["notifications", "list", "--format", "json"],
        &["audit", "--format", "json"],
    ] {
        run_logged(&env, &mut ev, args).await;
    }

    // Everything kept: logs, the receiver's requests, every file of the data directory.
    ev.add("serve.log", std::fs::read(&log).unwrap());
    ev.add("webhook requests", received.lock().unwrap().clone());
    let mut key = String::new();
    for entry in std::fs::read_dir(env.data()).unwrap() {
        let p = entry.unwrap().path();
        if !p.is_file() {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        // The configuration file is where the administrator wrote the inline secret.
        if p.file_name().unwrap() == "lpgate.toml" {
            continue;
        }
        if p.file_name().unwrap() == "master.key" {
            key = String::from_utf8(bytes).unwrap().trim().to_string();
            continue;
        }
        ev.add(p.display().to_string(), bytes);
    }
    assert!(!key.is_empty(), "the master key file was read");

    // The run did what it claims: logs were written, deliveries failed and were recorded.
    let all: Vec<u8> = ev.0.iter().flat_map(|(_, b)| b.clone()).collect();
    assert!(contains(&all, b"DEBUG"), "debug logs were captured");
    assert!(contains(&all, b"500"), "failed deliveries were recorded");
    assert!(!received.lock().unwrap().is_empty(), "webhooks were sent");
    assert!(ev.0.len() > 60, "{} pieces of evidence", ev.0.len());

    let secrets: Vec<(&str, String)> = vec![
        ("provisioning hash", HASH.to_string()),
        ("wrong provisioning hash", WRONG_HASH.to_string()),
        ("webhook secret", WEBHOOK_SECRET.to_string()),
        ("webhook secret from a file", FILE_SECRET.to_string()),
        (
            "Slack URL path",
            SLACK_PATH.trim_start_matches('/').to_string(),
        ),
        ("admin token", admin.clone()),
        ("admin token's random part", admin[4..].to_string()),
        ("read token", reader.clone()),
        ("SCIM token", scim.clone()),
        ("SCIM token's random part", scim[4..].to_string()),
        ("master key", key.clone()),
    ];
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        for form in forms(secret) {
            for (label, bytes) in &ev.0 {
                if contains(bytes, &form) {
                    leaks.push(format!(
                        "{what} in {label} as {:?}",
                        String::from_utf8_lossy(&form)
                    ));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
