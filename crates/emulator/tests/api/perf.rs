//! Scale checks, ignored by default because they are meant for release builds:
//! `cargo test -p lpgate-emulator --release -- --ignored --nocapture perf`.

use std::time::Instant;

use lpgate_emulator::{CompanySpec, Emulator};
use serde_json::json;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "scale check; run in release"]
async fn perf_100k_users() {
    let t = Instant::now();
    let emu = Emulator::generate(&CompanySpec::new(100_000, 1), creds());
    let gen_time = t.elapsed();
    let v = emu.view();
    println!(
        "generated {} users, {} groups, {} folders, {} events in {gen_time:?}",
        v.users.len(),
        v.groups.len(),
        v.folders.len(),
        v.event_count
    );
    drop(v);
    let h = Harness::start(emu).await;

    let full = h.call("getuserdata", None).await.body.len();
    println!("full listing: {:.1} MB", full as f64 / 1e6);

    // Server side alone (in-process).
    let t = Instant::now();
    let mut bytes = 0usize;
    for index in 0..50 {
        let body = serde_json::to_vec(&json!({"cid": CID, "provhash": HASH, "cmd": "getuserdata", "data": {"pagesize": 2000, "pageindex": index}})).unwrap();
        bytes += h.emu().call(&body).len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "in-process: {:.1} MB in {secs:.3}s = {:.0} MB/s",
        bytes as f64 / 1e6,
        bytes as f64 / secs / 1e6
    );

    // Over loopback HTTP: the wire rate (bodies read, not parsed).
    let t = Instant::now();
    let mut bytes = 0usize;
    for index in 0..50 {
        let r = h
            .call(
                "getuserdata",
                Some(json!({"pagesize": 2000, "pageindex": index})),
            )
            .await;
        assert_eq!(r.status, 200);
        bytes += r.body.len();
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = bytes as f64 / secs / 1e6;
    println!(
        "paged over HTTP: {:.1} MB in {secs:.3}s = {rate:.0} MB/s",
        bytes as f64 / 1e6
    );

    // Every page parses and together they hold every user.
    let mut users = 0u64;
    for index in 0..51 {
        let r = h
            .call(
                "getuserdata",
                Some(json!({"pagesize": 2000, "pageindex": index})),
            )
            .await;
        users += r.json()["count"].as_u64().unwrap();
    }
    assert_eq!(users, 100_000);
    if !cfg!(debug_assertions) {
        assert!(gen_time.as_secs_f64() < 1.0, "generation took {gen_time:?}");
        assert!(rate >= 100.0, "{rate} MB/s");
    }
}
