//! What only the PostgreSQL store has to prove: its sandbox holds against PostgreSQL's own
//! escape hatches, several processes can start (migrate) at once, and the outbox and sync
//! locks are shared correctly between processes (separate store handles stand for them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use lpgate_store::{
    AccountEndpoint, AccountId, NewAccount, NewNotification, QueryRequest, Store, StoreError,
    SyncWrite,
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

/// A synced user with only what search reads set.
fn user(email: &str, fullname: &str) -> lpgate_store::Fingerprinted<lpgate_domain::UserRecord> {
    lpgate_store::Fingerprinted {
        record: lpgate_domain::UserRecord {
            email: email.into(),
            lastpass_id: Some("1".into()),
            fullname: fullname.into(),
            status: lpgate_domain::AccountStatus::Active,
            admin: false,
            disabled: false,
            never_logged_in: false,
            invited_only: false,
            mp_strength: None,
            total_score: None,
            created: None,
            last_pw_change: None,
            last_login: None,
            duo_username: None,
            multifactor: None,
            linked: None,
            password_reset_required: false,
            sites: None,
            notes: None,
            formfills: None,
            applications: None,
            attachments: None,
            groups: vec![],
        },
        fingerprint: 1,
    }
}

/// A sync's write that changes nothing, to fill in.
fn nothing(account: AccountId, run: lpgate_store::RunId, now: DateTime<Utc>) -> SyncWrite {
    SyncWrite::nothing(account, run, now, lpgate_domain::AccountZone::default())
}

/// Writes one sync of `users`, `groups` and `folders` (id, name) into the account.
async fn sync(
    store: &PostgresStore,
    account: AccountId,
    users: Vec<lpgate_store::Fingerprinted<lpgate_domain::UserRecord>>,
    groups: &[&str],
    folders: &[(&str, &str)],
) {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let run = store.begin_run(account, now).await.unwrap();
    store
        .commit_sync(SyncWrite {
            upsert_users: users,
            upsert_folders: folders
                .iter()
                .map(|(id, name)| lpgate_store::Fingerprinted {
                    record: lpgate_domain::FolderRecord {
                        id: (*id).into(),
                        name: (*name).into(),
                        deleted: false,
                        score: None,
                        members: vec![],
                    },
                    fingerprint: 1,
                })
                .collect(),
            groups: groups.iter().map(|g| (*g).to_string()).collect(),
            ..nothing(account, run, now)
        })
        .await
        .unwrap();
}

/// (kind, account, key) of each hit, in order.
fn ranked(hits: &[lpgate_store::SearchHit]) -> Vec<(String, String, String)> {
    hits.iter()
        .map(|h| (h.kind.clone(), h.account.clone(), h.key.clone()))
        .collect()
}

fn hit(kind: &str, account: &str, key: &str) -> (String, String, String) {
    (kind.into(), account.into(), key.into())
}

// PostgreSQL ranks by tier and a fixed order (store-postgres/src/search.rs), reading users in
// index order when that is enough. Each query below is shaped to answer from one of its three
// reads: all matches at once, the first ones in index order, or every match ranked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_ranks_names_first_then_in_account_and_key_order() {
    let Some((_url, store)) = fresh().await else {
        return;
    };
    let a = store.add_account(account("a")).await.unwrap();
    let b = store.add_account(account("b")).await.unwrap();
    // In "a": twelve people named Jamie, and twelve whose address alone has "jam" and sorts
    // before theirs.
    let mut users: Vec<_> = (10..22)
        .map(|i| user(&format!("jamie.doe{i}@a.io"), &format!("Jamie Doe{i}")))
        .collect();
    users.extend((10..22).map(|i| user(&format!("bo.jam{i}@a.io"), "Bo Lee")));
    users.push(user("zed.quill@a.io", "Zed Quill"));
    users.push(user("quill.zed@a.io", "Ann Quill"));
    sync(
        &store,
        a.id,
        users,
        &["Jam Band"],
        &[("77", "Jam sessions")],
    )
    .await;
    sync(
        &store,
        b.id,
        vec![
            user("jamie.roe@b.io", "Jamie Roe"),
            user("zed.quill@b.io", "Zed Quill"),
        ],
        &[],
        &[],
    )
    .await;

    // Every match fits the first read: names first (folder, group, then users by account
    // and address), then the address-only match.
    let hits = store.search("zed quill".into(), None, 20).await.unwrap();
    assert_eq!(
        ranked(&hits),
        vec![
            hit("user", "a", "zed.quill@a.io"),
            hit("user", "b", "zed.quill@b.io"),
            hit("user", "a", "quill.zed@a.io"),
        ]
    );
    assert_eq!(hits[0].title, "Zed Quill");
    assert_eq!(hits[0].detail, "active");
    assert!(hits[0].rank < hits[2].rank, "lower rank is better");

    // "doe": the first read in index order holds enough name matches.
    let hits = store.search("doe".into(), None, 3).await.unwrap();
    assert_eq!(
        ranked(&hits),
        vec![
            hit("user", "a", "jamie.doe10@a.io"),
            hit("user", "a", "jamie.doe11@a.io"),
            hit("user", "a", "jamie.doe12@a.io"),
        ]
    );

    // "jam": in index order the address-only matches (bo.jam…) come first and fill the first
    // read, so every match is ranked: the folder and group, then the people named Jamie.
    let hits = store.search("jam".into(), None, 5).await.unwrap();
    assert_eq!(
        ranked(&hits),
        vec![
            hit("folder", "a", "77"),
            hit("group", "a", "Jam Band"),
            hit("user", "a", "jamie.doe10@a.io"),
            hit("user", "a", "jamie.doe11@a.io"),
            hit("user", "a", "jamie.doe12@a.io"),
        ]
    );
    assert_eq!(hits[0].detail, "0 members");
    // Past the twelve Jamies of "a" and the one of "b" come the address-only matches.
    let hits = store.search("jam".into(), None, 17).await.unwrap();
    assert_eq!(
        ranked(&hits[13..]),
        vec![
            hit("user", "a", "jamie.doe21@a.io"),
            hit("user", "b", "jamie.roe@b.io"),
            hit("user", "a", "bo.jam10@a.io"),
            hit("user", "a", "bo.jam11@a.io"),
        ]
    );

    // More groups match than the first read takes (500): the key index is walked instead.
    let c = store.add_account(account("c")).await.unwrap();
    // Stored out of key order (the first hundred come in a later sync), so that the first
    // read is not already the answer.
    let teams: Vec<String> = (0..600).map(|i| format!("Team {i:03}")).collect();
    let teams: Vec<&str> = teams.iter().map(String::as_str).collect();
    sync(&store, c.id, vec![], &teams[100..], &[]).await;
    sync(&store, c.id, vec![], &teams, &[]).await;
    let hits = store.search("tea".into(), None, 3).await.unwrap();
    assert_eq!(
        ranked(&hits),
        vec![
            hit("group", "c", "Team 000"),
            hit("group", "c", "Team 001"),
            hit("group", "c", "Team 002"),
        ]
    );
    let hits = store.search("team 59".into(), None, 20).await.unwrap();
    assert_eq!(hits.len(), 10, "Team 590 to Team 599");
    assert_eq!(hits[9].key, "Team 599");

    // One account's hits only.
    let hits = store
        .search("jam".into(), Some("b".into()), 5)
        .await
        .unwrap();
    assert_eq!(ranked(&hits), vec![hit("user", "b", "jamie.roe@b.io")]);
    assert!(
        store
            .search("jam".into(), Some("nobody".into()), 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search("jam".into(), None, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

// A first snapshot leaves PostgreSQL with statistics on the users' search vectors (gathered
// after the write, when there were none), so a search never plans blind until autovacuum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_snapshot_gives_postgresql_statistics_on_users() {
    let Some((url, store)) = fresh().await else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let stats = || async {
        client
            .query_one(
                "SELECT COUNT(*) FROM pg_stats WHERE tablename = 'users' AND attname = 'search'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(stats().await, 0, "a new database has none");
    let a = store.add_account(account("a")).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let run = store.begin_run(a.id, now).await.unwrap();
    let writer = store
        .begin_baseline(a.id, lpgate_domain::AccountZone::default(), now)
        .await
        .unwrap();
    assert!(
        writer.add_users(
            (0..50)
                .map(|i| user(&format!("u{i}@a.io"), &format!("User {i}")))
                .collect()
        )
    );
    let run = writer
        .finish(SyncWrite {
            users_fetched: 50,
            ..nothing(a.id, run, now)
        })
        .await
        .unwrap();
    assert_eq!(run.users, 50);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stats().await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no statistics on users.search 20 s after a first snapshot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
