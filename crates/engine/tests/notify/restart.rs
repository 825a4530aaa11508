//! lpgate stopping between attempts, or while sending: the outbox keeps everything.

use lpgate_store::{DeliveryState, Store};
use lpgate_store_sqlite::SqliteStore;

use crate::helpers::*;

#[tokio::test]
async fn a_restart_between_attempts_loses_nothing() {
    let mut bed = bed().await;
    let rx = Receiver::start().await;
    rx.script(&[500]);
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(
        &routing,
        &[
            admin_granted("ann@acme.test"),
            admin_granted("bo@acme.test"),
        ],
    )
    .await;
    // The first request gets a 500, the second is accepted.
    let report = bed.deliver(&routing).await;
    assert_eq!((report.delivered, report.failed), (1, 1));
    assert_eq!(rx.got().len(), 2);

    // lpgate stops; a new process opens the same file.
    let path = bed.store_path();
    bed.store = SqliteStore::open(&path).await.unwrap();
    let before = bed.deliveries().await;
    assert_eq!(before.len(), 2);
    let pending: Vec<_> = before
        .iter()
        .filter(|d| d.state == DeliveryState::Pending)
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);

    bed.clock.advance(secs(30));
    assert_eq!(bed.deliver(&routing).await.delivered, 1);
    let after = bed.deliveries().await;
    assert!(after.iter().all(|d| d.state == DeliveryState::Delivered));
    let mut ids: Vec<String> = rx
        .got()
        .iter()
        .map(|r| r.header("x-lpgate-delivery").to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "two notifications, three requests");
}

#[tokio::test]
async fn stopping_after_sending_but_before_recording_redelivers_after_the_lease() {
    let mut bed = bed().await;
    let rx = Receiver::start().await;
    let routing = webhook_routing(&rx.url());
    bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
        .await;

    // A process claims the notification, sends it (the receiver takes it), and is killed
    // before it records the outcome.
    let claimed = bed
        .store
        .claim_deliveries(bed.clock.now(), bed.policy.lease, 50)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let d = &claimed[0];
    let body = lpgate_engine::deliver::webhook_body(d);
    let ts = bed.clock.now().timestamp();
    let resp = bed
        .http
        .post(rx.url())
        .header("X-Lpgate-Delivery", &d.delivery_id)
        .header("X-Lpgate-Timestamp", ts.to_string())
        .header(
            "X-Lpgate-Signature",
            lpgate_engine::deliver::sign(SECRET, ts, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let path = bed.store_path();
    bed.store = SqliteStore::open(&path).await.unwrap();

    // While the lease holds, another pass leaves it alone.
    bed.clock.advance(bed.policy.lease / 2);
    assert_eq!(bed.deliver(&routing).await, Default::default());
    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Pending);
    assert_eq!(d.attempts, 0);

    // Once it runs out, the notification goes again, with the same id.
    bed.clock.advance(bed.policy.lease / 2);
    assert_eq!(bed.deliver(&routing).await.delivered, 1);
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].header("x-lpgate-delivery"),
        got[1].header("x-lpgate-delivery")
    );
    assert_eq!(got[0].json()["id"], got[1].json()["id"]);
    assert_eq!(bed.only_delivery().await.state, DeliveryState::Delivered);
}
