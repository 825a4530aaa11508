//! What only the PostgreSQL store has to prove: its sandbox holds against PostgreSQL's own
//! escape hatches, several processes can start (migrate) at once, and the outbox and sync
//! locks are shared correctly between processes (separate store handles stand for them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use lpgate_store::{
    AccountEndpoint, AccountId, NewAccount, NewNotification, QueryRequest, Store, StoreError,
};
use lpgate_store_testkit::{PostgresStore, fresh_database, server_url};

fn account(name: &str) -> NewAccount {
    NewAccount {
        name: name.into(),
        cid: 7,
        endpoint: AccountEndpoint::Region("us".into()),
        provhash_sealed: vec![1, 2, 3],
        time_zone: "UTC".into(),
        sync_interval_secs: 900,
        now: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
    }
}

async fn fresh() -> Option<(String, PostgresStore)> {
    let url = fresh_database(&server_url()?).await;
    let store = PostgresStore::open(&url).await.unwrap();
    Some((url, store))
}

fn q(sql: &str, account: Option<AccountId>) -> QueryRequest {
    QueryRequest {
        sql: sql.into(),
        account,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_role_cannot_reach_tables_or_leave_its_scope() {
    let Some((_url, store)) = fresh().await else {
        return;
    };
    let a = store.add_account(account("a")).await.unwrap();
    store.add_account(account("b")).await.unwrap();
    for sql in [
        // Back to the login role, then read an internal table: the login role is the
        // sandbox role itself, so there is nothing to go back to.
        "SELECT set_config('role', 'none', true), query_to_xml('SELECT * FROM public.accounts', true, true, '')",
        "SELECT * FROM public.accounts",
        "SELECT * FROM public.sandbox_role",
        "SELECT * FROM public.sandbox_scope",
        "SELECT provhash_sealed FROM public.accounts",
        "WITH x AS (DELETE FROM public.audit RETURNING 1) SELECT * FROM x",
        "SELECT pg_read_file('/etc/passwd')",
        "RESET ROLE",
        "SET ROLE NONE",
        "COMMIT",
    ] {
        let err = store.query(q(sql, None)).await.expect_err(sql);
        assert!(matches!(err, StoreError::QueryRefused(_)), "{sql}: {err:?}");
    }
    // A scope cannot be widened from inside the query.
    let r = store
        .query(q(
            "SELECT set_config('lpgate.account', '', true) AS s, (SELECT COUNT(*) FROM accounts) AS n",
            Some(a.id),
        ))
        .await
        .unwrap();
    assert_eq!(r.rows[0][1], serde_json::json!(1));
    let all = store
        .query(q("SELECT COUNT(*) FROM accounts", None))
        .await
        .unwrap();
    assert_eq!(all.rows[0][0], serde_json::json!(2));
    let slow = store
        .query(QueryRequest {
            sql: "SELECT pg_sleep(5)".into(),
            limits: lpgate_store::QueryLimits {
                timeout: Duration::from_millis(200),
                max_rows: 10,
            },
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(slow, StoreError::QueryTimeout { .. }), "{slow:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_processes_migrate_one_database_at_once() {
    let Some(server) = server_url() else {
        return;
    };
    let url = fresh_database(&server).await;
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::open(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for o in opens {
        stores.push(o.await.unwrap().unwrap());
    }
    stores[0].add_account(account("x")).await.unwrap();
    for s in &stores {
        assert_eq!(s.list_accounts().await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_claim_the_same_delivery() {
    let Some((url, one)) = fresh().await else {
        return;
    };
    let two = PostgresStore::open(&url).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let notes: Vec<NewNotification> = (0..200)
        .map(|i| NewNotification {
            delivery_id: format!("d{i}"),
            channel: "c".into(),
            event: "user.created".into(),
            account: None,
            payload: serde_json::json!({ "i": i }),
        })
        .collect();
    one.enqueue_notifications(notes, now).await.unwrap();
    let lease = Duration::from_secs(60);
    let mut claimed = Vec::new();
    for _ in 0..10 {
        let (a, b) = tokio::join!(
            one.claim_deliveries(now, lease, 15),
            two.claim_deliveries(now, lease, 15)
        );
        claimed.extend(a.unwrap().into_iter().map(|d| d.id));
        claimed.extend(b.unwrap().into_iter().map(|d| d.id));
    }
    let n = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), n, "a delivery was claimed twice");
    assert_eq!(n, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_lock_is_held_across_processes_and_freed_when_dropped() {
    let Some((url, one)) = fresh().await else {
        return;
    };
    let two = PostgresStore::open(&url).await.unwrap();
    let a = one.add_account(account("a")).await.unwrap();
    let held = one.try_lock_account(a.id).await.unwrap();
    let busy = two.try_lock_account(a.id).await.err().unwrap();
    assert!(matches!(busy, StoreError::Busy(_)), "{busy:?}");
    drop(held);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match two.try_lock_account(a.id).await {
            Ok(_) => break,
            Err(StoreError::Busy(_)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}
