//! What a webhook receiver gets, and that it can check it.

use lpgate_engine::deliver::{self, VerifyError};
use lpgate_store::{DeliveryState, Store};

use crate::helpers::*;

#[tokio::test]
async fn webhook_arrives_signed_and_verify_refuses_tampering_and_replays() {
    let bed = bed().await;
    let rx = Receiver::start().await;
    let routing = webhook_routing(&rx.url());
    assert_eq!(
        bed.queue_changes(&routing, &[admin_granted("ann@acme.test")])
            .await,
        1
    );
    let queued = bed.only_delivery().await;

    let report = bed.deliver(&routing).await;
    assert_eq!((report.delivered, report.failed, report.dead), (1, 0, 0));

    let got = rx.got();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("x-lpgate-delivery"), queued.delivery_id);
    assert_eq!(r.header("x-lpgate-event"), "user.admin_granted");
    let ts = r.header("x-lpgate-timestamp");
    let sig = r.header("x-lpgate-signature");
    assert_eq!(ts, bed.clock.now().timestamp().to_string());
    assert!(sig.starts_with("v1=") && sig.len() == 67, "{sig}");

    let body = r.json();
    assert_eq!(body["id"], queued.delivery_id.as_str());
    assert_eq!(body["event"], "user.admin_granted");
    assert_eq!(body["account"], "acme");
    assert_eq!(body["created_at"], "2026-03-02T09:00:00Z");
    assert_eq!(body["data"]["subject"], "ann@acme.test");
    assert_eq!(body["data"]["before"], "user");
    assert_eq!(body["data"]["after"], "admin");

    // The receiver's checks.
    let tolerance = secs(300);
    let now = bed.clock.now();
    assert_eq!(
        deliver::verify(SECRET, ts, sig, &r.body, now, tolerance),
        Ok(())
    );
    let mut tampered = r.body.to_vec();
    let at = tampered.iter().position(|b| *b == b'a').unwrap();
    tampered[at] = b'b';
    assert_eq!(
        deliver::verify(SECRET, ts, sig, &tampered, now, tolerance),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        deliver::verify("not-the-secret", ts, sig, &r.body, now, tolerance),
        Err(VerifyError::Mismatch)
    );
    // The same request replayed ten minutes later.
    let later = now + chrono::Duration::minutes(10);
    assert!(matches!(
        deliver::verify(SECRET, ts, sig, &r.body, later, tolerance),
        Err(VerifyError::Stale { age_secs: 600 })
    ));
    // A timestamp moved forward to look fresh no longer matches the signature.
    let moved = (now.timestamp() + 600).to_string();
    assert_eq!(
        deliver::verify(SECRET, &moved, sig, &r.body, later, tolerance),
        Err(VerifyError::Mismatch)
    );

    let d = bed.only_delivery().await;
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(d.attempts, 1);
    assert_eq!(d.last_error, None);
    assert_eq!(d.delivered_at, Some(now));

    // Nothing is due any more: a second pass sends nothing.
    let report = bed.deliver(&routing).await;
    assert_eq!(report, Default::default());
    assert_eq!(rx.got().len(), 1);
}

#[tokio::test]
async fn slack_gets_a_readable_unsigned_message() {
    use lpgate_engine::notify::{Channel, ChannelKind, FindingNotice, Routing, Subscription};
    use lpgate_engine::rules::Severity;

    let bed = bed().await;
    let rx = Receiver::start().await;
    let routing = Routing {
        channels: vec![Channel {
            name: "slack".into(),
            kind: ChannelKind::Slack,
            url: rx.url(),
            secret: None,
        }],
        subscriptions: vec![Subscription {
            channel: "slack".into(),
            findings: Some(Severity::Medium),
            changes: vec!["*".into()],
        }],
    };
    let row = serde_json::json!({"email": "bob@acme.test"});
    let mut notes = routing.for_finding(
        bed.account.id,
        "acme",
        &FindingNotice {
            opened: true,
            rule: "admin_without_mfa",
            severity: Severity::High,
            description: "Admins must use multifactor <always> & everywhere.",
            key: "bob@acme.test",
            row: &row,
        },
    );
    // Queued after the finding, so listed first (newest first) and sent second.
    notes.extend(routing.for_changes(bed.account.id, "acme", &[admin_granted("cy@acme.test")]));
    bed.store
        .enqueue_notifications(notes, bed.clock.now())
        .await
        .unwrap();

    let report = bed.deliver(&routing).await;
    assert_eq!(report.delivered, 2);
    let mut got = rx.got();
    got.sort_by_key(|r| r.header("x-lpgate-event").to_string());
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(
            r.header("x-lpgate-signature"),
            "",
            "Slack requests are not signed"
        );
        assert_eq!(r.header("x-lpgate-delivery").len(), 32);
        let body = r.json();
        assert_eq!(body.as_object().unwrap().len(), 1, "only text: {body}");
    }
    let finding = got[0].json()["text"].as_str().unwrap().to_string();
    assert_eq!(got[0].header("x-lpgate-event"), "finding.opened");
    let first_line = finding.lines().next().unwrap();
    assert_eq!(
        first_line,
        "[HIGH] Finding opened: *admin_without_mfa* for bob@acme.test in account acme"
    );
    assert!(
        finding.contains("Admins must use multifactor &lt;always&gt; &amp; everywhere."),
        "{finding}"
    );
    assert!(finding.contains(got[0].header("x-lpgate-delivery")));

    let change = got[1].json()["text"].as_str().unwrap().to_string();
    let lines: Vec<&str> = change.lines().collect();
    assert_eq!(
        lines[0],
        "user.admin_granted: *cy@acme.test* in account acme"
    );
    assert_eq!(lines[1], "user → admin");
}
