//! `notifications list|retry|deliver`, and the delivery pass at the end of `sync`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::helpers::{env, text};

/// A minimal HTTP receiver on a thread: answers 200 to every request and keeps the
/// `X-Lpgate-Delivery` header of each.
fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, length) = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (None, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (Some(i + 4), length);
                }
            };
            let Some(head_end) = head_end else { continue };
            while buf.len() < head_end + length {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
            if let Some(id) = head
                .lines()
                .find_map(|l| l.strip_prefix("x-lpgate-delivery:"))
            {
                seen.lock().unwrap().push(id.trim().to_string());
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, got)
}

fn add_channel(config: &std::path::Path, url: &str, findings: &str) {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(&format!(
        "\n[[notifications.channels]]\nname = \"secops\"\nkind = \"webhook\"\nurl = \"{url}\"\n\
         secret = \"s3cret\"\n\n[[notifications.subscriptions]]\nchannel = \"secops\"\n\
         findings = \"{findings}\"\nchanges = [\"*\"]\n"
    ));
    std::fs::write(config, text).unwrap();
}

#[tokio::test]
async fn list_retry_and_deliver() {
    let e = env(20).await;
    e.linked().await;
    assert!(e.json(&["notifications", "list"]).await.is_empty());

    let bad = e.run(&["notifications", "list", "--state", "lost"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("\"lost\""), "{}", text(&bad));

    let missing = e.run(&["notifications", "retry", "999"]).await;
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        text(&missing).contains("no notification with id 999"),
        "{}",
        text(&missing)
    );

    // A channel whose receiver is down: the sync's findings are queued and stay pending.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    add_channel(&e.data().join("lpgate.toml"), &down, "info");
    let sync = e.run(&["sync", "acme"]).await;
    assert!(sync.status.success(), "{}", text(&sync));
    let stderr = String::from_utf8_lossy(&sync.stderr).to_string();
    assert!(
        stderr.contains("notifications: 0 delivered, ") && stderr.contains(" will be retried"),
        "{stderr}"
    );

    let pending = e
        .json(&["notifications", "list", "--state", "pending"])
        .await;
    assert!(!pending.is_empty(), "the built-in rules find something");
    for n in &pending {
        assert_eq!(n["channel"], "secops");
        assert_eq!(n["account"], "acme");
        assert_eq!(n["attempts"], 1);
        let error = n["last_error"].as_str().unwrap();
        assert!(error.contains("could not reach"), "{error}");
        assert!(n["event"].as_str().unwrap().starts_with("finding."));
    }
    assert!(
        e.json(&["notifications", "list", "--state", "dead"])
            .await
            .is_empty()
    );

    // Point the channel at a live receiver, make one due now, deliver.
    let (url, got) = receiver();
    let config = e.data().join("lpgate.toml");
    let fixed = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&down, &url);
    std::fs::write(&config, fixed).unwrap();
    let id = pending[0]["id"].as_i64().unwrap();
    let retry = e.run(&["notifications", "retry", &id.to_string()]).await;
    assert!(retry.status.success(), "{}", text(&retry));
    assert!(text(&retry).contains("1 notification(s) due again"));

    let report = e.json(&["notifications", "deliver"]).await;
    assert_eq!(report[0]["delivered"], 1, "{report:?}");
    assert_eq!(report[0]["dead"], 0);
    assert_eq!(
        got.lock().unwrap().as_slice(),
        [pending[0]["delivery_id"].as_str().unwrap().to_string()]
    );
    let delivered = e
        .json(&["notifications", "list", "--state", "delivered"])
        .await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["id"], id);

    // A delivered notification cannot be retried.
    let again = e.run(&["notifications", "retry", &id.to_string()]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).contains("already delivered"),
        "{}",
        text(&again)
    );
}

#[tokio::test]
async fn sync_delivers_what_it_queued() {
    let e = env(20).await;
    e.linked().await;
    let (url, got) = receiver();
    add_channel(&e.data().join("lpgate.toml"), &url, "info");
    let sync = e.run(&["sync", "acme"]).await;
    assert!(sync.status.success(), "{}", text(&sync));
    let queued = e.json(&["notifications", "list"]).await;
    assert!(!queued.is_empty());
    let stderr = String::from_utf8_lossy(&sync.stderr).to_string();
    assert!(
        stderr.contains(&format!(
            "notifications: {} delivered, 0 will be retried, 0 dead",
            queued.len()
        )),
        "{stderr}"
    );
    assert!(queued.iter().all(|n| n["state"] == "delivered"));
    assert_eq!(got.lock().unwrap().len(), queued.len());
}

/// `lpgate serve` delivers what is queued outside a sync (here a held plan's `plan.held`)
/// within a scheduler tick, not at the account's next sync (15 minutes away here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_delivers_between_syncs() {
    use std::time::Duration;

    let e = env(60).await;
    e.linked().await;
    let hook = crate::invariants::receiver(0, Duration::ZERO);
    crate::invariants::add_webhook(&e, &hook.url);
    let config = e.data().join("lpgate.toml");
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("changes = [\"*\"]", "changes = [\"plan.held\"]")
        .replace("max_removals = 25", "max_removals = 1");
    std::fs::write(&config, toml).unwrap();
    e.ok(&["sync", "acme"]).await;
    let log = e.dir.path().join("serve.log");
    let serve = crate::invariants::Serve::start(&e, &log).await;
    // The first tick has passed with nothing to send; then a plan is held.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let who: Vec<String> = e
        .emu
        .emulator()
        .view()
        .users
        .iter()
        .filter(|u| !u.admin && !u.disabled)
        .take(3)
        .map(|u| u.username.clone())
        .collect();
    let mut args = vec!["plan", "suspend"];
    args.extend(who.iter().map(String::as_str));
    let out = e.run(&args).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let mut events = Vec::new();
    for _ in 0..40 {
        events = hook
            .got
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|(_, event, _)| event.clone())
            .collect();
        if events.iter().any(|e| e == "plan.held") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        events.iter().any(|e| e == "plan.held"),
        "not delivered within 10 s: {events:?}"
    );
    let runs = crate::invariants::query(&e, "SELECT COUNT(*) AS n FROM sync_runs").await;
    assert_eq!(runs[0]["n"], 1, "no sync ran meanwhile");
    drop(serve);
}
