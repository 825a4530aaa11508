//! Each fault kind as a client sees it on the wire.

use std::time::{Duration, Instant};

use lpgate_emulator::{FaultSpec, Latency, Rate};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn http_500_then_recovery_and_counting() {
    let h = Harness::generated(5, 1).await;
    h.emu().set_faults(
        Some("getuserdata"),
        FaultSpec {
            http_500: Rate::next(2),
            ..FaultSpec::default()
        },
    );
    for _ in 0..2 {
        let r = h.call("getuserdata", None).await;
        assert_eq!(r.status, 500);
        assert!(String::from_utf8_lossy(&r.body).contains("<html>"));
    }
    // Other commands are unaffected.
    assert_eq!(h.call("getsfdata", None).await.status, 200);
    let r = h.call("getuserdata", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["total"], 5);
    assert_eq!(h.emu().requests("getuserdata"), 3);
    assert_eq!(h.emu().requests("getsfdata"), 1);
}

#[tokio::test]
async fn http_429_with_retry_after() {
    let h = Harness::generated(5, 1).await;
    h.emu().set_faults(
        None,
        FaultSpec {
            http_429: Rate::next(1),
            retry_after_secs: 17,
            ..FaultSpec::default()
        },
    );
    let r = h.call("getdetailedsfdata", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers.get("retry-after").unwrap(), "17");
    assert_eq!(h.call("getdetailedsfdata", None).await.status, 200);
}

#[tokio::test]
async fn faulted_writes_do_not_run_but_truncated_ones_do() {
    let h = Harness::empty().await;
    h.emu().set_faults(
        Some("batchadd"),
        FaultSpec {
            http_500: Rate::next(1),
            ..FaultSpec::default()
        },
    );
    h.call("batchadd", Some(json!([{"username": "a@example.com"}])))
        .await;
    assert!(h.emu().view().users.is_empty());
    h.emu().set_faults(
        Some("batchadd"),
        FaultSpec {
            truncate: Rate::next(1),
            ..FaultSpec::default()
        },
    );
    h.call("batchadd", Some(json!([{"username": "a@example.com"}])))
        .await;
    assert_eq!(h.emu().view().users.len(), 1);
}

#[tokio::test]
async fn truncated_body_is_framed_but_cut() {
    let h = Harness::generated(30, 1).await;
    let full = h.call("getuserdata", None).await.body;
    h.emu().set_faults(
        None,
        FaultSpec {
            truncate: Rate::share(1.0),
            ..FaultSpec::default()
        },
    );
    let r = h.call("getuserdata", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "text/xml;charset=UTF-8");
    assert_eq!(r.body.len(), full.len() / 2);
    assert_eq!(&full[..r.body.len()], &r.body[..]);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    h.emu().clear_faults();
    assert_eq!(h.call("getuserdata", None).await.body, full);
}

#[tokio::test]
async fn dropped_connection_is_a_body_error() {
    let h = Harness::generated(30, 1).await;
    h.emu().set_faults(
        Some("getuserdata"),
        FaultSpec {
            drop: Rate::next(1),
            ..FaultSpec::default()
        },
    );
    let body =
        serde_json::to_vec(&json!({"cid": CID, "provhash": HASH, "cmd": "getuserdata"})).unwrap();
    let resp = h
        .client
        .post(h.api_url())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "headers arrive");
    assert!(resp.bytes().await.is_err(), "the body fails mid-way");
    // The next request is fine (a fresh connection).
    let resp = h.client.post(h.api_url()).body(body).send().await.unwrap();
    assert!(resp.bytes().await.is_ok());
}

#[tokio::test]
async fn latency_delays_the_reply() {
    let h = Harness::generated(5, 1).await;
    h.emu().set_faults(
        Some("getuserdata"),
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(300))),
            ..FaultSpec::default()
        },
    );
    let t = Instant::now();
    assert_eq!(h.call("getuserdata", None).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    h.call("getsfdata", None).await;
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn faults_come_after_auth() {
    let h = Harness::generated(5, 1).await;
    h.emu().set_faults(
        None,
        FaultSpec {
            http_500: Rate::share(1.0),
            ..FaultSpec::default()
        },
    );
    let body =
        serde_json::to_vec(&json!({"cid": CID, "provhash": "bad", "cmd": "getuserdata"})).unwrap();
    let r = h.post_raw(body, "application/json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, fixture_bytes("auth-error.xml"));
}

#[tokio::test]
async fn faults_over_http_control_routes() {
    let h = Harness::generated(5, 1).await;
    let (s, _) = h
        .control(
            reqwest::Method::PUT,
            "/faults",
            Some(json!({"command": "getuserdata", "faults": {"http_429": {"next": 1}, "retry_after_secs": 3, "latency": {"fixed_ms": 1}}})),
        )
        .await;
    assert_eq!(s, 200);
    let r = h.call("getuserdata", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers.get("retry-after").unwrap(), "3");
    h.control(
        reqwest::Method::PUT,
        "/faults",
        Some(json!({"faults": {"http_500": {"share": 1.0}}})),
    )
    .await;
    assert_eq!(h.call("getsfdata", None).await.status, 500);
    let (s, _) = h.control(reqwest::Method::DELETE, "/faults", None).await;
    assert_eq!(s, 200);
    assert_eq!(h.call("getsfdata", None).await.status, 200);
    let (_, counts) = h.control(reqwest::Method::GET, "/requests", None).await;
    assert_eq!(counts["getuserdata"], 1);
    assert_eq!(counts["getsfdata"], 2);
}
