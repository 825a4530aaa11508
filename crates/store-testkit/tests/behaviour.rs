//! The store behaviour suite: every test runs against SQLite and PostgreSQL (see
//! `lpgate_store_testkit::both!`), so the backends cannot drift apart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{NaiveDateTime, TimeZone, Utc};
use lpgate_domain::AccountZone;
use lpgate_store::{AccountEndpoint, EventRecord, NewAccount, StoreError, SyncWrite};
use lpgate_store_testkit::{Fresh, TestStore, both};

fn event(time: &str, action: &str) -> EventRecord {
    EventRecord {
        time: NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").unwrap(),
        username: "eve@x.io".into(),
        ip_address: "10.0.0.1".into(),
        action: action.into(),
        data: String::new(),
    }
}

async fn store_with_account<S: TestStore>() -> Option<(Fresh<S>, S, lpgate_store::AccountRow)> {
    let fresh = S::fresh().await?;
    let store = fresh.store.clone();
    let account = store
        .add_account(NewAccount {
            name: "acme".into(),
            cid: 1,
            endpoint: AccountEndpoint::Region("us".into()),
            provhash_sealed: vec![1, 2, 3],
            time_zone: "America/New_York".into(),
            sync_interval_secs: 900,
            now: Utc::now(),
        })
        .await
        .unwrap();
    Some((fresh, store, account))
}

fn write(
    account: &lpgate_store::AccountRow,
    run: lpgate_store::RunId,
    events: Vec<EventRecord>,
) -> SyncWrite {
    SyncWrite {
        events,
        ..SyncWrite::nothing(
            account.id,
            run,
            Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            AccountZone::default(),
        )
    }
}

async fn identical_events_are_kept_and_rereads_add_nothing<S: TestStore>() {
    let Some((_f, store, account)) = store_with_account::<S>().await else {
        return;
    };
    let burst = vec![
        event("2026-02-28 10:00:00", "Failed Login Attempt"),
        event("2026-02-28 10:00:00", "Failed Login Attempt"),
        event("2026-02-28 10:00:00", "Failed Login Attempt"),
        event("2026-02-28 09:00:00", "Login"),
    ];
    let run = store.begin_run(account.id, Utc::now()).await.unwrap();
    let r = store
        .commit_sync(write(&account, run, burst.clone()))
        .await
        .unwrap();
    assert_eq!(
        r.events, 4,
        "three identical failed logins are three events"
    );
    // The watermark is inclusive: the next read returns the same second again, plus one more.
    let mut again = burst[..3].to_vec();
    again.push(event("2026-02-28 10:00:00", "Failed Login Attempt"));
    let run = store.begin_run(account.id, Utc::now()).await.unwrap();
    let r = store
        .commit_sync(write(&account, run, again))
        .await
        .unwrap();
    assert_eq!(r.events, 1, "only the fourth failed login is new");
    assert_eq!(
        store
            .list_events(None, None, None, 100)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        store
            .event_watermark(account.id)
            .await
            .unwrap()
            .unwrap()
            .to_string(),
        "2026-02-28 10:00:00"
    );
}

async fn accounts_conflicts_and_not_found<S: TestStore>() {
    let Some((_f, store, _account)) = store_with_account::<S>().await else {
        return;
    };
    let dup = store
        .add_account(NewAccount {
            name: "acme".into(),
            cid: 2,
            endpoint: AccountEndpoint::Url("http://127.0.0.1:1".into()),
            provhash_sealed: vec![9],
            time_zone: "Europe/Dublin".into(),
            sync_interval_secs: 600,
            now: Utc::now(),
        })
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup}");
    assert!(dup.to_string().contains("acme"));
    let missing = store.account("nope").await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }));
    assert!(missing.to_string().contains("nope"));
    store.set_account_enabled("acme", false).await.unwrap();
    assert!(!store.account("acme").await.unwrap().enabled);
    store.remove_account("acme").await.unwrap();
    assert!(store.list_accounts().await.unwrap().is_empty());
    assert!(matches!(
        store.remove_account("acme").await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn reopening_migrates_once_and_keeps_data<S: TestStore>() {
    let Some(fresh) = S::fresh().await else {
        return;
    };
    let location = fresh.location.clone();
    {
        let store = fresh.store;
        store
            .add_account(NewAccount {
                name: "keep".into(),
                cid: 3,
                endpoint: AccountEndpoint::Region("eu".into()),
                provhash_sealed: vec![7],
                time_zone: "Europe/Dublin".into(),
                sync_interval_secs: 600,
                now: Utc::now(),
            })
            .await
            .unwrap();
    }
    let store = S::open_at(&location).await;
    let a = store.account("keep").await.unwrap();
    assert_eq!(a.endpoint, AccountEndpoint::Region("eu".into()));
    assert_eq!(a.time_zone, "Europe/Dublin");
}

async fn a_late_failure_never_overturns_a_delivery<S: TestStore>() {
    use lpgate_store::{DeliveryOutcome, DeliveryState, NewNotification};
    let Some((_f, store, account)) = store_with_account::<S>().await else {
        return;
    };
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    store
        .enqueue_notifications(
            vec![NewNotification {
                delivery_id: "d1".into(),
                channel: "secops".into(),
                event: "user.created".into(),
                account: Some(account.id),
                payload: serde_json::json!({"subject": "a@b.c"}),
            }],
            now,
        )
        .await
        .unwrap();
    let claimed = store
        .claim_deliveries(now, std::time::Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // Claimed: not due again until the lease ends, even with an absurd lease.
    assert!(
        store
            .claim_deliveries(now, std::time::Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let id = claimed[0].id;
    store
        .record_delivery(id, now, DeliveryOutcome::Delivered)
        .await
        .unwrap();
    // Another process whose attempt timed out records a failure afterwards.
    store
        .record_delivery(
            id,
            now,
            DeliveryOutcome::Failed {
                error: "timed out".into(),
                retry_at: Some(now),
            },
        )
        .await
        .unwrap();
    let all = store.list_deliveries(None, 10).await.unwrap();
    assert_eq!(all[0].state, DeliveryState::Delivered);
    assert!(
        store
            .claim_deliveries(
                now + chrono::Duration::hours(1),
                std::time::Duration::MAX,
                10
            )
            .await
            .unwrap()
            .is_empty()
    );
}

/// The data version is steady while nothing is written and moves with every commit, whether
/// this store's own writer or another handle on the same store made it (another handle's
/// write reaches a PostgreSQL store's version by NOTIFY, a moment after its commit).
async fn data_version_moves_with_every_commit_from_any_handle<S: TestStore>() {
    let Some((fresh, store, _)) = store_with_account::<S>().await else {
        return;
    };
    let v1 = store.data_version().unwrap();
    assert_eq!(store.data_version().unwrap(), v1);
    store.set_account_enabled("acme", false).await.unwrap();
    let v2 = store.data_version().unwrap();
    assert_ne!(v2, v1);
    assert_eq!(store.data_version().unwrap(), v2);
    // Another handle (as another lpgate process would be) writes.
    let other = S::open_at(&fresh.location).await;
    // Opening may migrate nothing, but the version must move with the write that follows.
    let before = store.data_version().unwrap();
    other.set_account_enabled("acme", true).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.data_version().unwrap() == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_ne!(store.data_version().unwrap(), before);
}

/// The automations lock is one holder's across store handles (processes, workers), is
/// independent of the sync lock (applying a plan takes that one), and is free again once
/// dropped.
async fn the_automations_lock_has_one_holder_beside_the_sync_lock<S: TestStore>() {
    let Some((fresh, one, a)) = store_with_account::<S>().await else {
        return;
    };
    let two = S::open_at(&fresh.location).await;
    let held = one.try_lock_automations(a.id).await.unwrap();
    match two.try_lock_automations(a.id).await {
        Err(StoreError::Busy(message)) => {
            assert!(message.contains("automations"), "{message}")
        }
        other => panic!("a second holder: {:?}", other.map(|_| ())),
    }
    // Applying a plan takes the sync lock while the automations lock is held.
    let sync = two.try_lock_account(a.id).await.unwrap();
    drop(sync);
    drop(held);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match two.try_lock_automations(a.id).await {
            Ok(_) => break,
            Err(StoreError::Busy(_)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

both!(
    the_automations_lock_has_one_holder_beside_the_sync_lock,
    identical_events_are_kept_and_rereads_add_nothing,
    accounts_conflicts_and_not_found,
    reopening_migrates_once_and_keeps_data,
    a_late_failure_never_overturns_a_delivery,
    data_version_moves_with_every_commit_from_any_handle,
);

/// Workers sharing a store take turns: of two claiming a due account at once exactly one
/// gets it; nobody gets it again until the lease ends or the next due time comes.
async fn scheduled_syncs_are_claimed_by_one_worker_at_a_time<S: TestStore>() {
    let Some((fresh, one, account)) = store_with_account::<S>().await else {
        return;
    };
    let two = S::open_at(&fresh.location).await;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let min = |m: i64| t0 + chrono::Duration::minutes(m);
    // Never scheduled: due at the first due time given.
    assert!(
        !one.claim_due(account.id, t0, min(5), min(10))
            .await
            .unwrap()
    );
    let (a, b) = tokio::join!(
        one.claim_due(account.id, min(5), min(5), min(10)),
        two.claim_due(account.id, min(5), min(5), min(10))
    );
    assert!(
        a.unwrap() ^ b.unwrap(),
        "exactly one worker claims a due account"
    );
    // Leased until minute 10.
    assert!(
        !two.claim_due(account.id, min(9), min(0), min(20))
            .await
            .unwrap()
    );
    // The claimant died: the lease ends and another worker takes the account over.
    assert!(
        two.claim_due(account.id, min(10), min(0), min(20))
            .await
            .unwrap()
    );
    // It synced and set the next due time.
    two.set_next_due(account.id, min(60)).await.unwrap();
    assert!(
        !one.claim_due(account.id, min(59), min(0), min(70))
            .await
            .unwrap()
    );
    assert!(
        one.claim_due(account.id, min(60), min(0), min(70))
            .await
            .unwrap()
    );
    // Removing the account forgets its schedule.
    one.remove_account("acme").await.unwrap();
}

both!(scheduled_syncs_are_claimed_by_one_worker_at_a_time);
