//! reporting: newest first, at most 10,000 per reply, `next` cursor returning every event
//! exactly once; filters; SIEM format; empty result.

use std::collections::HashSet;

use lpgate_emulator::{CompanySpec, Emulator};
use serde_json::{Value, json};

use crate::common::*;

async fn with_events(n: usize) -> Harness {
    let mut spec = CompanySpec::new(40, 11);
    spec.events = Some(n);
    Harness::start(Emulator::generate(&spec, creds())).await
}

/// Follows `next` until it is null; returns every page.
async fn all_pages(h: &Harness, base: Value) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut data = base.clone();
    loop {
        let r = h.cmd("reporting", data.clone()).await;
        assert_eq!(r["status"], "OK");
        let next = r["next"].clone();
        pages.push(r);
        if next.is_null() {
            break;
        }
        assert!(next.is_i64(), "next is an integer: {next}");
        data = base.clone();
        data["next"] = next;
    }
    pages
}

#[tokio::test]
async fn paging_returns_each_event_exactly_once() {
    let h = with_events(23_456).await;
    let base = json!({"user": "allusers", "format": "siem"});
    let pages = all_pages(&h, base).await;
    assert_eq!(pages.len(), 3);
    let mut ids = HashSet::new();
    let mut order = Vec::new();
    for p in &pages {
        let events = p["events"].as_array().unwrap();
        assert!(events.len() <= 10_000);
        for e in events {
            assert!(
                ids.insert(e["ID"].as_str().unwrap().to_owned()),
                "repeat {e}"
            );
            order.push(e["ID"].as_str().unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(ids.len(), 23_456);
    // Ids grow with time; wall-clock strings cannot be compared across the DST change on
    // 2026-11-01 01:00-02:00, which the 30 days before the anchor include.
    assert!(order.windows(2).all(|w| w[0] > w[1]), "newest first");
}

#[tokio::test]
async fn default_format_pages_and_numbers_events() {
    let h = with_events(12_345).await;
    let pages = all_pages(&h, json!({})).await;
    assert_eq!(pages.len(), 2);
    let first = pages[0]["data"].as_object().unwrap();
    assert_eq!(first.len(), 10_000);
    assert!(first.contains_key("Event1") && first.contains_key("Event10000"));
    assert_eq!(pages[1]["data"].as_object().unwrap().len(), 2_345);
    // The cursor is the epoch-microsecond time of the next older event: the second page's
    // first event is at that time (US/Eastern wall clock, to the second).
    let next = pages[0]["next"].as_i64().unwrap();
    let t = chrono::DateTime::from_timestamp_micros(next)
        .unwrap()
        .with_timezone(&chrono_tz::America::New_York)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert_eq!(pages[1]["data"]["Event1"]["Time"], t);
}

#[tokio::test]
async fn from_to_window_and_empty_result() {
    let h = with_events(500).await;
    let r = h
        .cmd(
            "reporting",
            json!({"from": "2026-10-20 00:00:00", "to": "2026-10-25 23:59:59"}),
        )
        .await;
    let events = r["data"].as_object().unwrap();
    assert!(!events.is_empty());
    for e in events.values() {
        let t = e["Time"].as_str().unwrap();
        assert!(
            ("2026-10-20 00:00:00".."2026-10-26 00:00:00").contains(&t),
            "{t}"
        );
    }
    let r = h
        .cmd(
            "reporting",
            json!({"from": "2020-01-01 00:00:00", "to": "2020-01-02 00:00:00"}),
        )
        .await;
    assert_eq!(r, json!({"status": "OK", "next": null, "data": []}));
    let r = h.cmd("reporting", json!({"from": "yesterday"})).await;
    assert_eq!(r["status"], "FAIL");
}

#[tokio::test]
async fn user_admin_and_search_filters() {
    let h = with_events(2_000).await;
    let admin = h
        .emu()
        .view()
        .users
        .iter()
        .find(|u| u.admin)
        .unwrap()
        .username
        .clone();
    let r = h.cmd("reporting", json!({"user": admin})).await;
    let events = r["data"].as_object().unwrap();
    assert!(!events.is_empty());
    assert!(events.values().all(|e| e["Username"] == admin.as_str()));

    let r = h.cmd("reporting", json!({"admin": "1"})).await;
    let admin_events = r["data"].as_object().unwrap();
    assert!(!admin_events.is_empty());
    assert!(
        admin_events
            .values()
            .all(|e| e["Action"] != "Login" && e["Action"] != "Failed Login Attempt")
    );

    let r = h.cmd("reporting", json!({"search": "failed login"})).await;
    let failed = r["data"].as_object().unwrap();
    assert!(!failed.is_empty());
    assert!(
        failed
            .values()
            .all(|e| e["Action"] == "Failed Login Attempt")
    );
}

#[tokio::test]
async fn control_actions_show_up_in_reporting() {
    let h = Harness::generated(10, 12).await;
    let v = h.emu().view();
    let someone = v
        .users
        .iter()
        .find(|u| !u.disabled && !u.admin)
        .unwrap()
        .username
        .clone();
    h.emu().failed_login(&someone).unwrap();
    let e = h.last_event().await;
    assert_eq!(e["Action"], "Failed Login Attempt");
    assert_eq!(e["Username"], someone.as_str());
    assert_eq!(e["Time"], "2026-11-01 10:00:00");
    assert!(e["IP_Address"].as_str().unwrap().starts_with("10."));
    h.emu().set_admin(&someone, true).unwrap();
    let e = h.last_event().await;
    assert_eq!(e["Action"], "Make Admin");
    assert_eq!(e["Data"], someone.as_str());
    h.emu().set_admin(&someone, false).unwrap();
    assert_eq!(h.last_event().await["Action"], "Remove Admin");
}
