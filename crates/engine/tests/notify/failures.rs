//! Receivers that fail, are down, or lose their answer: retried on the backoff schedule, dead
//! after the last attempt, and always with the same delivery id.

use std::collections::HashSet;

use lpgate_engine::deliver::{BACKOFF, DeliveryPolicy};
use lpgate_store::{DeliveryState, Store};

use crate::helpers::*;

#[tokio::test]
async fn server_errors_are_retried_on_the_backoff_schedule_with_the_same_id() {
    let bed = bed().await;
    let rx = Receiver::start().await;
    rx.script(&[500, 500]);
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;
    let start = bed.clock.now();

    let report = bed.deliver(&routing).await;
    assert_eq!((report.delivered, report.failed, report.dead), (0, 1, 0));
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.attempts, 1);
    let error = d.last_error.clone().unwrap();
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(error.contains(&rx.addr.to_string()), "{error}");
    assert!(!error.contains("/hook"), "no URL path in errors: {error}");
    assert_eq!(d.next_attempt_at, start + chrono::Duration::seconds(30));

    // Not due yet: nothing is sent.
    bed.clock.advance(secs(29));
    assert_eq!(bed.deliver(&routing).await, Default::default());
    assert_eq!(rx.got().len(), 1);

    bed.clock.advance(secs(1));
    let report = bed.deliver(&routing).await;
    assert_eq!(report.failed, 1);
    let d = bed.only_delivery().await;
    assert_eq!(d.attempts, 2);
    assert_eq!(
        d.next_attempt_at,
        bed.clock.now() + chrono::Duration::from_std(BACKOFF[1]).unwrap()
    );

    bed.clock.advance(BACKOFF[1]);
    let report = bed.deliver(&routing).await;
    assert_eq!((report.delivered, report.failed, report.dead), (1, 0, 0));
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(d.attempts, 3);
    assert_eq!(d.last_error, None);

    let ids: Vec<String> = rx
        .got()
        .iter()
        .map(|r| r.header("x-lpgate-delivery").to_string())
        .collect();
    assert_eq!(ids, vec![d.delivery_id.clone(); 3]);
    // Each attempt is signed afresh with its own timestamp.
    let stamps: HashSet<String> = rx
        .got()
        .iter()
        .map(|r| r.header("x-lpgate-timestamp").to_string())
        .collect();
    assert_eq!(stamps.len(), 3);
}

#[tokio::test]
async fn receiver_down_keeps_it_pending_until_it_comes_up() {
    let bed = bed().await;
    let addr = closed_port().await;
    let routing = webhook_routing(&url_of(addr));
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;

    let report = bed.deliver(&routing).await;
    assert_eq!(report.failed, 1);
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Pending);
    let error = d.last_error.unwrap();
    assert!(
        error.starts_with(&format!("could not reach {addr}")),
        "{error}"
    );

    let rx = Receiver::start_on(addr).await;
    bed.clock.advance(secs(30));
    let report = bed.deliver(&routing).await;
    assert_eq!(report.delivered, 1);
    assert_eq!(rx.got().len(), 1);
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(d.attempts, 2);
}

#[tokio::test]
async fn dead_after_the_last_attempt_until_retried() {
    let mut bed = bed().await;
    bed.policy = DeliveryPolicy {
        backoff: vec![secs(60), secs(600)],
        ..bed.policy.clone()
    };
    let rx = Receiver::start().await;
    rx.script(&[503; 3]);
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;

    assert_eq!(bed.deliver(&routing).await.failed, 1);
    bed.clock.advance(secs(60));
    assert_eq!(bed.deliver(&routing).await.failed, 1);
    bed.clock.advance(secs(600));
    let report = bed.deliver(&routing).await;
    assert_eq!((report.delivered, report.failed, report.dead), (0, 0, 1));
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(d.attempts, 3);
    assert!(d.last_error.unwrap().contains("503"));

    // Dead stays dead, however long we wait.
    bed.clock.advance(secs(48 * 3600));
    assert_eq!(bed.deliver(&routing).await, Default::default());
    assert_eq!(rx.got().len(), 3);
    assert_eq!(
        bed.store
            .list_deliveries(Some(DeliveryState::Dead), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // `notifications retry --all-dead` makes it due now; the receiver is fine again.
    assert_eq!(
        bed.store
            .retry_deliveries(None, bed.clock.now())
            .await
            .unwrap(),
        1
    );
    let report = bed.deliver(&routing).await;
    assert_eq!(report.delivered, 1);
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(d.attempts, 4);
    let got = rx.got();
    assert_eq!(got.len(), 4);
    assert!(
        got.iter()
            .all(|r| r.header("x-lpgate-delivery") == d.delivery_id)
    );
}

#[tokio::test]
async fn the_default_policy_gives_up_after_ten_attempts_over_about_sixteen_hours() {
    let bed = bed().await;
    let rx = Receiver::start().await;
    rx.script(&[500; 20]);
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;
    let start = bed.clock.now();
    let mut dead = 0;
    for wait in std::iter::once(secs(0)).chain(BACKOFF) {
        bed.clock.advance(wait);
        dead += bed.deliver(&routing).await.dead;
    }
    assert_eq!(dead, 1);
    assert_eq!(rx.got().len(), 10);
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(d.attempts, 10);
    let hours = (bed.clock.now() - start).num_minutes() as f64 / 60.0;
    assert!((15.0..17.0).contains(&hours), "{hours}");
}

#[tokio::test]
async fn gone_is_dead_at_once() {
    let bed = bed().await;
    let rx = Receiver::start().await;
    rx.script(&[410]);
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;
    let report = bed.deliver(&routing).await;
    assert_eq!(report.dead, 1);
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(d.attempts, 1);
    assert!(d.last_error.unwrap().contains("410"));
}

#[tokio::test]
async fn a_lost_answer_is_redelivered_with_the_same_id() {
    let mut bed = bed().await;
    bed.policy.timeout = std::time::Duration::from_millis(300);
    bed.http = lpgate_engine::deliver::http_client(&bed.policy).unwrap();
    let rx = Receiver::start().await;
    // The receiver takes the request, then answers too late: lpgate records a failure.
    rx.delay(secs(2));
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;

    let report = bed.deliver(&routing).await;
    assert_eq!(report.failed, 1);
    let d = bed.only_delivery().await;
    assert!(d.last_error.unwrap().contains("timed out"));

    rx.delay(secs(0));
    bed.clock.advance(secs(30));
    assert_eq!(bed.deliver(&routing).await.delivered, 1);

    let got = rx.got();
    assert_eq!(got.len(), 2, "the receiver saw it twice");
    let ids: HashSet<&str> = got.iter().map(|r| r.header("x-lpgate-delivery")).collect();
    assert_eq!(ids.len(), 1, "with one id, so it keeps one");
    assert_eq!(got[0].json()["id"], got[1].json()["id"]);
}

#[tokio::test]
async fn an_unconfigured_channel_fails_until_the_config_names_it_again() {
    let bed = bed().await;
    let rx = Receiver::start().await;
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;

    let without = lpgate_engine::notify::Routing::default();
    let report = bed.deliver(&without).await;
    assert_eq!(report.failed, 1);
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(
        d.last_error.as_deref(),
        Some("channel \"hook\" is not configured")
    );

    bed.clock.advance(secs(30));
    assert_eq!(bed.deliver(&routing).await.delivered, 1);
    assert_eq!(rx.got().len(), 1);
}
