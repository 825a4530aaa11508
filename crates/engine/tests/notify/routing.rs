//! The whole path: changes and findings routed by subscription, queued, delivered to the
//! channels that asked for them.

use lpgate_domain::{Change, ChangeKind};
use lpgate_engine::notify::{Channel, ChannelKind, FindingNotice, Routing, Subscription};
use lpgate_engine::rules::Severity;
use lpgate_store::{DeliveryState, Store};

use crate::helpers::*;

fn change(kind: ChangeKind, subject: &str) -> Change {
    Change {
        kind,
        subject: subject.into(),
        related: None,
        before: None,
        after: None,
    }
}

#[tokio::test]
async fn routed_changes_and_findings_reach_the_channels_that_subscribed() {
    let bed = bed().await;
    let hook_rx = Receiver::start().await;
    let slack_rx = Receiver::start().await;
    let routing = Routing {
        channels: vec![
            Channel {
                name: "secops".into(),
                kind: ChannelKind::Webhook,
                url: hook_rx.url(),
                secret: Some(SECRET.into()),
            },
            Channel {
                name: "chat".into(),
                kind: ChannelKind::Slack,
                url: slack_rx.url(),
                secret: None,
            },
        ],
        subscriptions: vec![
            Subscription {
                channel: "secops".into(),
                findings: Some(Severity::High),
                changes: vec!["user.admin_granted".into(), "user.deprovisioned".into()],
            },
            Subscription {
                channel: "chat".into(),
                findings: None,
                changes: vec!["*".into()],
            },
        ],
    };
    routing.validate().unwrap();

    let changes = [
        change(ChangeKind::UserCreated, "new@acme.test"),
        change(ChangeKind::UserAdminGranted, "boss@acme.test"),
        change(ChangeKind::UserDeprovisioned, "gone@acme.test"),
    ];
    // secops: 2 of 3 changes; chat: all 3.
    assert_eq!(bed.queue_changes(&routing, &changes).await, 5);

    let row = serde_json::json!({});
    let notice = |severity| FindingNotice {
        opened: true,
        rule: "r",
        severity,
        description: "d",
        key: "k",
        row: &row,
    };
    let mut notes = routing.for_finding(bed.account.id, "acme", &notice(Severity::Medium));
    assert!(
        notes.is_empty(),
        "below secops' threshold, and chat takes no findings"
    );
    notes.extend(routing.for_finding(bed.account.id, "acme", &notice(Severity::Critical)));
    assert_eq!(notes.len(), 1);
    bed.store
        .enqueue_notifications(notes, bed.clock.now())
        .await
        .unwrap();

    let report = bed.deliver(&routing).await;
    assert_eq!((report.delivered, report.failed, report.dead), (6, 0, 0));

    let mut hook_events: Vec<String> = hook_rx
        .got()
        .iter()
        .map(|r| {
            let tolerance = secs(300);
            lpgate_engine::deliver::verify(
                SECRET,
                r.header("x-lpgate-timestamp"),
                r.header("x-lpgate-signature"),
                &r.body,
                bed.clock.now(),
                tolerance,
            )
            .unwrap();
            r.json()["event"].as_str().unwrap().to_string()
        })
        .collect();
    hook_events.sort();
    assert_eq!(
        hook_events,
        ["finding.opened", "user.admin_granted", "user.deprovisioned"]
    );

    let mut chat: Vec<String> = slack_rx
        .got()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap().to_string())
        .collect();
    chat.sort();
    assert_eq!(chat.len(), 3);
    assert!(chat[0].starts_with("user.admin_granted: *boss@acme.test* in account acme"));
    assert!(chat[1].starts_with("user.created: *new@acme.test*"));
    assert!(chat[2].starts_with("user.deprovisioned: *gone@acme.test*"));

    let all = bed.deliveries().await;
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|d| d.state == DeliveryState::Delivered));
    let mut ids: Vec<&str> = all.iter().map(|d| d.delivery_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "every notification has its own id");
}

#[tokio::test]
async fn many_notifications_go_in_batches_in_one_pass() {
    let bed = bed().await;
    let rx = Receiver::start().await;
    let routing = webhook_routing(&rx.url());
    let changes: Vec<Change> = (0..120)
        .map(|i| admin_granted(&format!("u{i}@acme.test")))
        .collect();
    assert_eq!(bed.queue_changes(&routing, &changes).await, 120);
    let report = bed.deliver(&routing).await;
    assert_eq!(report.delivered, 120);
    assert_eq!(rx.got().len(), 120);
    assert!(
        bed.store
            .list_deliveries(Some(DeliveryState::Pending), 500)
            .await
            .unwrap()
            .is_empty()
    );
}
