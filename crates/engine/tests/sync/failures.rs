//! Failed, partial and shrunken polls write nothing but a failed run; concurrent syncs refuse.

use std::time::Duration;

use lpgate_emulator::{FaultSpec, Latency, Rate};
use lpgate_engine::{SyncError, SyncOptions};
use lpgate_lastpass::DeleteAction;
use lpgate_store::{RunOutcome, UserQuery};

use crate::helpers::{bed, client_for, t};
use lpgate_store_testkit::{TestStore, both};

async fn statuses<S: TestStore>(b: &crate::helpers::Bed<S>) -> Vec<(String, String)> {
    b.store
        .list_users(UserQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.email, u.status))
        .collect()
}

async fn a_failed_poll_changes_nothing<S: TestStore>() {
    let Some(b) = bed::<S>(150, 7).await else {
        return;
    };
    b.sync_at(t(1, 1)).await.unwrap();
    let before = statuses(&b).await;
    // Some users leave, but LastPass fails mid-listing: nobody may be marked deprovisioned.
    let view = b.emulator().view();
    b.client
        .delete_user(&view.users[3].username, DeleteAction::Remove)
        .await
        .unwrap();
    b.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            http_500: Rate::share(1.0),
            ..Default::default()
        },
    );
    let err = b.sync_at(t(2, 1)).await.unwrap_err();
    assert!(matches!(err, SyncError::Fetch { .. }), "{err}");
    assert!(err.to_string().contains("getuserdata"), "{err}");
    assert_eq!(statuses(&b).await, before);
    let runs = b.store.list_runs(None, 5).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Failed);
    assert!(
        runs[0].error.as_deref().unwrap().contains("HTTP 500"),
        "{:?}",
        runs[0].error
    );
    assert!(
        b.store
            .list_changes(None, None, None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A partial listing (one page fails after retries) is the same: nothing written.
    b.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            drop: Rate::share(0.6),
            ..Default::default()
        },
    );
    let flaky = client_for(&b.emu.base_url(), |c| {
        c.page_size = 10;
        c.retry.max_attempts = 1;
    });
    let err = b
        .sync_with(t(2, 2), &flaky, &SyncOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Fetch { .. }), "{err}");
    assert_eq!(statuses(&b).await, before);

    // Once LastPass answers, the next run completes normally and sees the departure.
    b.emulator().clear_faults();
    let ok = b.sync_at(t(2, 3)).await.unwrap();
    assert_eq!(
        ok.run.changes as usize,
        ok.changes_by_kind.values().sum::<usize>()
    );
    assert_eq!(
        ok.changes_by_kind
            .get(&lpgate_domain::ChangeKind::UserDeprovisioned),
        Some(&1)
    );
}

async fn far_fewer_users_is_an_error_not_departures<S: TestStore>() {
    let Some(b) = bed::<S>(60, 8).await else {
        return;
    };
    b.sync_at(t(1, 1)).await.unwrap();
    let view = b.emulator().view();
    for u in view.users.iter().take(40) {
        b.client
            .delete_user(&u.username, DeleteAction::Delete)
            .await
            .unwrap();
    }
    let err = b.sync_at(t(2, 1)).await.unwrap_err();
    assert!(matches!(err, SyncError::Shrunk { gone: 40, .. }), "{err}");
    assert!(err.to_string().contains("refusing"), "{err}");
    assert!(statuses(&b).await.iter().all(|(_, s)| s != "deprovisioned"));
    let runs = b.store.list_runs(None, 1).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Failed);
    let ok = b
        .sync_with(
            t(2, 2),
            &b.client,
            &SyncOptions {
                allow_shrink: true,
                ..SyncOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        ok.changes_by_kind
            .get(&lpgate_domain::ChangeKind::UserDeprovisioned),
        Some(&40)
    );
}

async fn two_syncs_of_one_account_never_run_at_once<S: TestStore>() {
    let Some(b) = bed::<S>(40, 9).await else {
        return;
    };
    b.sync_at(t(1, 1)).await.unwrap();
    b.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(400))),
            ..Default::default()
        },
    );
    let (first, second) = tokio::join!(b.sync_at(t(2, 1)), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.sync_at(t(2, 1)).await
    });
    first.unwrap();
    let err = second.unwrap_err();
    assert!(matches!(err, SyncError::Busy { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("another sync of this account is running"),
        "{err}"
    );
    // Once the first is done, the lock is free again.
    b.emulator().clear_faults();
    b.sync_at(t(2, 2)).await.unwrap();
}

/// A LastPass stand-in whose listing can skip a user who still exists, as offset paging does
/// when someone else leaves while the pages are read.
async fn skipping_server(skip: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    use axum::body::Bytes;
    let app = axum::Router::new().route(
        "/enterpriseapi.php",
        axum::routing::post(move |body: Bytes| {
            let skip = skip.clone();
            async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let user = |id: &str, email: &str| {
                    serde_json::json!({id: {"username": email, "neverloggedin": false, "disabled": false, "admin": false, "groups": []}})
                };
                let reply = match v["cmd"].as_str().unwrap() {
                    "getuserdata" if v["data"]["username"].is_string() => {
                        let email = v["data"]["username"].as_str().unwrap();
                        serde_json::json!({"total": 1, "count": 1, "Users": user("7", email)})
                    }
                    "getuserdata" => {
                        let mut users = serde_json::Map::new();
                        for i in 0..30 {
                            if i == 7 && skip.load(std::sync::atomic::Ordering::SeqCst) {
                                continue;
                            }
                            users.extend(user(&i.to_string(), &format!("u{i}@x.io")).as_object().unwrap().clone());
                        }
                        let n = users.len();
                        serde_json::json!({"total": n, "count": n, "Users": users})
                    }
                    "getsfdata" => serde_json::json!([]),
                    _ => serde_json::json!({"status": "OK", "next": null, "data": []}),
                };
                reply.to_string()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn a_user_the_listing_skipped_is_not_taken_for_a_departure<S: TestStore>() {
    let Some(b) = bed::<S>(5, 11).await else {
        return;
    };
    let skip = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let url = skipping_server(skip.clone()).await;
    let c = client_for(&url, |_| {});
    b.sync_with(t(1, 1), &c, &SyncOptions::default())
        .await
        .unwrap();
    skip.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = b
        .sync_with(t(1, 2), &c, &SyncOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Inconsistent { ref email, .. } if email == "u7@x.io"),
        "{err}"
    );
    assert!(statuses(&b).await.iter().all(|(_, s)| s != "deprovisioned"));
    let runs = b.store.list_runs(None, 1).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Failed);
}

async fn a_first_sync_that_fails_midway_leaves_nothing_behind<S: TestStore>() {
    let Some(b) = bed::<S>(120, 12).await else {
        return;
    };
    // Pages stream into the first snapshot's transaction as they arrive; a page failing later
    // must roll every earlier one back.
    b.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            http_500: Rate::share(0.5),
            ..Default::default()
        },
    );
    let flaky = client_for(&b.emu.base_url(), |c| {
        c.page_size = 10;
        c.page_concurrency = 1;
        c.retry.max_attempts = 1;
    });
    let mut failed = 0;
    for hour in 1..6 {
        match b
            .sync_with(t(1, hour), &flaky, &SyncOptions::default())
            .await
        {
            Err(err) => {
                assert!(matches!(err, SyncError::Fetch { .. }), "{err}");
                assert!(
                    b.store
                        .list_users(UserQuery::default())
                        .await
                        .unwrap()
                        .is_empty(),
                    "a partial first snapshot was kept"
                );
                failed += 1;
            }
            Ok(report) => {
                assert!(report.baseline);
                break;
            }
        }
    }
    assert!(failed > 0);
    b.emulator().clear_faults();
    let ok = b.sync_at(t(2, 1)).await.unwrap();
    assert_eq!(
        b.store
            .list_users(UserQuery::default())
            .await
            .unwrap()
            .len(),
        b.expected_users()
    );
    assert_eq!(ok.run.changes, 0);
}

/// The emails the store lists as having an expired master password, and when it read them.
async fn stored_expired<S: TestStore>(
    b: &crate::helpers::Bed<S>,
) -> (Vec<String>, serde_json::Value) {
    let q = |sql: &str| lpgate_store::QueryRequest {
        sql: sql.into(),
        ..Default::default()
    };
    let rows = b
        .store
        .query(q("SELECT email FROM expired_passwords ORDER BY email"))
        .await
        .unwrap();
    let read = b
        .store
        .query(q("SELECT expired_passwords_read_at FROM accounts"))
        .await
        .unwrap();
    (
        rows.rows
            .iter()
            .map(|r| r[0].as_str().unwrap().to_string())
            .collect(),
        read.rows[0][0].clone(),
    )
}

async fn expired_master_passwords_are_read_when_due_and_kept_when_only_that_read_fails<
    S: TestStore,
>() {
    let Some(b) = bed::<S>(60, 11).await else {
        return;
    };
    let cutoff = b.emulator().now() - chrono::TimeDelta::days(365);
    let mut expected: Vec<String> = b
        .emulator()
        .view()
        .users
        .iter()
        .filter(|u| u.last_pw_change < cutoff)
        .map(|u| u.username.clone())
        .collect();
    expected.sort();
    assert!(
        expected.len() >= 2,
        "the generated company has expired passwords"
    );
    // The first sync reads the list, in its transaction.
    b.sync_at(t(1, 1)).await.unwrap();
    let (first, read) = stored_expired(&b).await;
    assert_eq!(first, expected);
    assert_eq!(read, serde_json::json!("2026-03-01 01:00:00"));

    // Someone renews their master password. An hour later the stored list is younger than
    // `expired_passwords_every` (6 h by default): the sync does not read it again.
    b.emulator()
        .change_master_password(&expected[0], 90)
        .unwrap();
    b.sync_at(t(1, 2)).await.unwrap();
    assert_eq!(stored_expired(&b).await, (first.clone(), read.clone()));

    // Seven hours on it is due, but it cannot be read: the sync still succeeds and the
    // previous list stays, with its older read time.
    b.emulator().set_faults(
        Some("expiredmasterpwlist"),
        FaultSpec {
            http_500: Rate::share(1.0),
            ..Default::default()
        },
    );
    let fast = client_for(&b.emu.base_url(), |c| c.retry.max_attempts = 1);
    b.sync_with(t(1, 8), &fast, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(stored_expired(&b).await, (first.clone(), read));
    assert_eq!(
        b.store.list_runs(None, 1).await.unwrap()[0].outcome,
        RunOutcome::Succeeded
    );

    // Still due an hour later, and readable: the renewed password is gone from the list.
    b.emulator().clear_faults();
    b.sync_at(t(1, 9)).await.unwrap();
    let (now, read) = stored_expired(&b).await;
    assert_eq!(now, first[1..].to_vec());
    assert_eq!(read, serde_json::json!("2026-03-01 09:00:00"));

    // Read at every sync (0): the same list read again keeps its rows and moves the read
    // time; one more renewal leaves the list at the next sync.
    let every = SyncOptions {
        expired_passwords_every: Duration::ZERO,
        ..SyncOptions::default()
    };
    b.sync_with(t(1, 10), &b.client, &every).await.unwrap();
    assert_eq!(
        stored_expired(&b).await,
        (now.clone(), serde_json::json!("2026-03-01 10:00:00"))
    );
    b.emulator()
        .change_master_password(&expected[1], 90)
        .unwrap();
    b.sync_with(t(1, 11), &b.client, &every).await.unwrap();
    assert_eq!(
        stored_expired(&b).await,
        (
            first[2..].to_vec(),
            serde_json::json!("2026-03-01 11:00:00")
        )
    );
}

both!(
    a_failed_poll_changes_nothing,
    far_fewer_users_is_an_error_not_departures,
    two_syncs_of_one_account_never_run_at_once,
    a_user_the_listing_skipped_is_not_taken_for_a_departure,
    a_first_sync_that_fails_midway_leaves_nothing_behind,
    expired_master_passwords_are_read_when_due_and_kept_when_only_that_read_fails,
);
