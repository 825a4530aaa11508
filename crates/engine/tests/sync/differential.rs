//! The same company synced into SQLite and into PostgreSQL, with the same changes between
//! syncs: every read the server and the command line make must answer the same (same rows,
//! same order, same cursors, same view rows). Search ranks are computed differently (bm25 and
//! ts_rank), so search is compared as the set of hits.

use std::collections::BTreeSet;
use std::fmt::Debug;

use lpgate_lastpass::{DeleteAction, GroupChange};
use lpgate_store::{
    AccountId, FindingQuery, QueryRequest, ScimUserQuery, Store, TextOp, UserFilter, UserKey,
    UserPageQuery, UserQuery, UserSort,
};
use lpgate_store_testkit::{PostgresStore, SqliteStore, TestStore};

use crate::helpers::{Bed, bed, t};

/// Applies the same changes to a bed's emulated company, then syncs it.
async fn churn<S: TestStore>(b: &Bed<S>, users: &[String]) {
    let e = b.emulator();
    e.set_admin(&users[0], true).unwrap();
    e.set_multifactor(&users[1], None).unwrap();
    b.client
        .batch_change_groups(&[GroupChange {
            username: users[2].clone(),
            add: vec!["Differential".into()],
            del: vec![],
        }])
        .await
        .unwrap();
    // Two departures in one sync: PostgreSQL writes them in one statement each step.
    for gone in &users[3..5] {
        b.client
            .delete_user(gone, DeleteAction::Remove)
            .await
            .unwrap();
    }
    b.sync_at(t(5, 0)).await.unwrap();
}

fn same<T: PartialEq + Debug>(what: &str, a: T, b: T) {
    assert_eq!(a, b, "{what}: SQLite (left) and PostgreSQL (right) differ");
}

/// Every page of a keyset walk.
async fn walk<S: Store>(
    store: &S,
    mut q: UserPageQuery,
) -> (Vec<lpgate_store::UserRow>, Vec<UserKey>) {
    let mut rows = Vec::new();
    let mut keys = Vec::new();
    loop {
        let page = store.page_users(q.clone()).await.unwrap();
        let k = store.page_user_keys(q.clone()).await.unwrap();
        assert_eq!(page.len(), k.len());
        let Some(last) = page.last() else { break };
        q.after = Some((last.account.clone(), last.email.clone()));
        rows.extend(page);
        keys.extend(k);
    }
    (rows, keys)
}

async fn query<S: Store>(
    store: &S,
    sql: &str,
    account: Option<AccountId>,
) -> lpgate_store::QueryResult {
    store
        .query(QueryRequest {
            sql: sql.into(),
            account,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_answer_every_read_alike() {
    let Some(pg) = bed::<PostgresStore>(90, 41).await else {
        return;
    };
    let lite = bed::<SqliteStore>(90, 41).await.unwrap();
    let view = lite.emulator().view();
    let picked: Vec<String> = view
        .users
        .iter()
        .filter(|u| !u.admin && !u.disabled && !u.multifactor.is_empty())
        .take(5)
        .map(|u| u.username.clone())
        .collect();
    lite.sync_at(t(1, 0)).await.unwrap();
    pg.sync_at(t(1, 0)).await.unwrap();
    churn(&lite, &picked).await;
    // The emulators stamp events with their own (wall) clocks: make sure the two sets of
    // changes fall in different seconds, so nothing below depends on them being alike.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    churn(&pg, &picked).await;
    lite.store.settled().await.unwrap();
    let (l, p) = (&lite.store, &pg.store);

    for q in [
        UserQuery::default(),
        UserQuery {
            admin_only: true,
            ..Default::default()
        },
        UserQuery {
            status: Some("Deprovisioned".into()),
            ..Default::default()
        },
        UserQuery {
            group: Some("Differential".into()),
            ..Default::default()
        },
        UserQuery {
            as_of: Some(t(3, 0)),
            ..Default::default()
        },
        UserQuery {
            as_of: Some(t(6, 0)),
            admin_only: true,
            ..Default::default()
        },
    ] {
        same(
            &format!("list_users {q:?}"),
            l.list_users(q.clone()).await.unwrap(),
            p.list_users(q).await.unwrap(),
        );
    }
    let group = view.groups.keys().next().unwrap().clone();
    for q in [
        UserPageQuery {
            limit: 7,
            ..Default::default()
        },
        UserPageQuery {
            limit: 5,
            status: Some("active".into()),
            admin: Some(false),
            ..Default::default()
        },
        UserPageQuery {
            limit: 3,
            group: Some(group.clone()),
            ..Default::default()
        },
        UserPageQuery {
            limit: 4,
            text: Some("a".into()),
            updated_since: Some(t(4, 0)),
            ..Default::default()
        },
    ] {
        let (lr, lk) = walk(l, q.clone()).await;
        let (pr, pk) = walk(p, q.clone()).await;
        same(&format!("page_users {q:?}"), &lr, &pr);
        same(&format!("page_user_keys {q:?}"), &lk, &pk);
    }
    // Free-text word filters, and the dashboard's sorted pages (by offset).
    for q in [
        UserPageQuery {
            limit: 6,
            words: Some("a".into()),
            ..Default::default()
        },
        UserPageQuery {
            limit: 50,
            words: Some(picked[0].split('.').next().unwrap().into()),
            ..Default::default()
        },
        UserPageQuery {
            limit: 50,
            words: Some(" -- ".into()),
            ..Default::default()
        },
    ] {
        let (lr, lk) = walk(l, q.clone()).await;
        let (pr, pk) = walk(p, q.clone()).await;
        same(&format!("page_users {q:?}"), &lr, &pr);
        same(&format!("page_user_keys {q:?}"), &lk, &pk);
    }
    for order in lpgate_store::UserOrder::ALL {
        for descending in [false, true] {
            for offset in [0, 13] {
                let q = UserPageQuery {
                    limit: 20,
                    sort: Some((order, descending)),
                    offset,
                    status: (offset > 0).then(|| "active".to_string()),
                    ..Default::default()
                };
                same(
                    &format!("sorted page_users {q:?}"),
                    l.page_users(q.clone()).await.unwrap(),
                    p.page_users(q.clone()).await.unwrap(),
                );
                same(
                    &format!("sorted page_user_keys {q:?}"),
                    l.page_user_keys(q.clone()).await.unwrap(),
                    p.page_user_keys(q).await.unwrap(),
                );
            }
        }
    }
    let all = l.list_users(UserQuery::default()).await.unwrap();
    let ids: Vec<i64> = all.iter().rev().map(|u| u.id).chain([999_999]).collect();
    same(
        "users_by_ids",
        l.users_by_ids(ids.clone()).await.unwrap(),
        p.users_by_ids(ids).await.unwrap(),
    );
    same(
        "user_by_id",
        l.user_by_id(all[3].id).await.unwrap(),
        p.user_by_id(all[3].id).await.unwrap(),
    );
    let groups = l.list_groups(None).await.unwrap();
    same("list_groups", &groups, &p.list_groups(None).await.unwrap());
    same(
        "group_by_id",
        l.group_by_id(groups[0].id.clone()).await.unwrap(),
        p.group_by_id(groups[0].id.clone()).await.unwrap(),
    );
    same(
        "list_folders",
        l.list_folders(None).await.unwrap(),
        p.list_folders(None).await.unwrap(),
    );
    let changes = l.list_changes(None, None, None, None, 1000).await.unwrap();
    assert!(!changes.is_empty());
    same(
        "list_changes",
        &changes,
        &p.list_changes(None, None, None, None, 1000).await.unwrap(),
    );
    same(
        "list_changes page",
        l.list_changes(None, Some(t(2, 0)), None, Some(changes[1].id), 2)
            .await
            .unwrap(),
        p.list_changes(None, Some(t(2, 0)), None, Some(changes[1].id), 2)
            .await
            .unwrap(),
    );
    // The changes were made on two emulators, whose clocks stamped their events up to a
    // second apart: events are compared without their times (their order and ids still).
    let untimed = |e: Vec<lpgate_store::EventRow>| -> Vec<(i64, String, String, String, String)> {
        e.into_iter()
            .map(|e| (e.id, e.username, e.ip_address, e.action, e.data))
            .collect()
    };
    let (le, pe) = (
        l.list_events(None, None, None, 10_000).await.unwrap(),
        p.list_events(None, None, None, 10_000).await.unwrap(),
    );
    let (lb, pb) = (Some((le[5].time, le[5].id)), Some((pe[5].time, pe[5].id)));
    same("list_events", untimed(le), untimed(pe));
    same(
        "list_events page",
        untimed(l.list_events(None, None, lb, 7).await.unwrap()),
        untimed(p.list_events(None, None, pb, 7).await.unwrap()),
    );
    same(
        "list_runs",
        format!("{:?}", l.list_runs(None, 10).await.unwrap()),
        format!("{:?}", p.list_runs(None, 10).await.unwrap()),
    );
    same(
        "snapshot group names",
        l.group_names(lite.account.id).await.unwrap(),
        p.group_names(pg.account.id).await.unwrap(),
    );
    let emails: Vec<String> = all.iter().take(10).map(|u| u.email.clone()).collect();
    same(
        "load_users",
        format!(
            "{:?}",
            l.load_users(lite.account.id, emails.clone()).await.unwrap()
        ),
        format!("{:?}", p.load_users(pg.account.id, emails).await.unwrap()),
    );
    let mut lm = l.metrics().await.unwrap();
    let mut pm = p.metrics().await.unwrap();
    // Run durations come from the clock passed in; both are equal.
    for m in [&mut lm, &mut pm] {
        m.sync_durations
            .iter_mut()
            .for_each(|h| h.sum = h.sum.round());
        m.last_sync
            .iter_mut()
            .for_each(|s| s.seconds = s.seconds.round());
    }
    same("metrics", lm, pm);

    // The documented views, row for row.
    for sql in [
        "SELECT * FROM users ORDER BY email",
        "SELECT * FROM users_history ORDER BY email, valid_from",
        "SELECT * FROM memberships ORDER BY email, group_name",
        "SELECT * FROM groups ORDER BY name",
        "SELECT * FROM folders ORDER BY id",
        "SELECT * FROM folder_members ORDER BY folder_id, email",
        "SELECT id, account_id, account, username, ip_address, action, data FROM events ORDER BY id",
        "SELECT * FROM changes ORDER BY id",
        "SELECT * FROM sync_runs ORDER BY id",
        "SELECT account, cid, enabled, time_zone, created_at, last_synced_at FROM accounts",
        "SELECT email FROM users WHERE admin = 1 AND NOT mfa ORDER BY email",
        "SELECT COUNT(*) AS n, SUM(mp_strength) AS s FROM users WHERE status <> 'deprovisioned'",
    ] {
        let (a, b) = (query(l, sql, None).await, query(p, sql, None).await);
        same(&format!("view query {sql}"), a, b);
        let (a, b) = (
            query(l, sql, Some(lite.account.id)).await,
            query(p, sql, Some(pg.account.id)).await,
        );
        same(&format!("scoped view query {sql}"), a, b);
    }

    // Rules and their findings.
    let config = lpgate_engine::rules::RuleConfig::default();
    let routing = Default::default();
    for b in [
        lpgate_engine::rules::check_account(l, lite.account.id, "acme", &config, &routing, t(5, 1))
            .await
            .map(|s| s.opened),
        lpgate_engine::rules::check_account(p, pg.account.id, "acme", &config, &routing, t(5, 1))
            .await
            .map(|s| s.opened),
    ] {
        assert!(b.unwrap() > 0);
    }
    // A rule's SQL has no ORDER BY, so the order its rows (and so its findings) come in is
    // the database's choice: compare the findings as a set.
    let findings =
        |s: Vec<lpgate_store::FindingRow>| -> BTreeSet<(String, String, String, String)> {
            s.into_iter()
                .map(|f| (f.rule, f.severity, f.key, f.row.to_string()))
                .collect()
        };
    let fq = FindingQuery {
        limit: 1000,
        ..Default::default()
    };
    same(
        "findings",
        findings(l.list_findings(fq.clone()).await.unwrap()),
        findings(p.list_findings(fq).await.unwrap()),
    );

    // Search: the same hits (ranks differ by design).
    for text in ["a", "jo", picked[0].split('@').next().unwrap(), &group] {
        let hits = |h: Vec<lpgate_store::SearchHit>| -> BTreeSet<(String, String, String, String)> {
            h.into_iter()
                .map(|h| (h.kind, h.key, h.title, h.detail))
                .collect()
        };
        same(
            &format!("search {text:?}"),
            hits(l.search(text.to_string(), None, 10_000).await.unwrap()),
            hits(p.search(text.to_string(), None, 10_000).await.unwrap()),
        );
    }

    // SCIM reads.
    for (filter, sort, descending, offset, limit) in [
        (UserFilter::All, UserSort::Id, false, 0, Some(10)),
        (UserFilter::All, UserSort::Email, true, 5, Some(7)),
        (
            UserFilter::Or(vec![
                UserFilter::Email(TextOp::StartsWith, picked[0][..3].to_string()),
                UserFilter::Not(Box::new(UserFilter::Active(true))),
            ]),
            UserSort::Email,
            false,
            0,
            None,
        ),
        (
            UserFilter::Email(
                TextOp::EndsWith,
                picked[1][picked[1].len() - 6..].to_string(),
            ),
            UserSort::Id,
            false,
            0,
            Some(3),
        ),
    ] {
        let q = |account| ScimUserQuery {
            account,
            filter: filter.clone(),
            sort,
            descending,
            offset,
            limit,
        };
        same(
            &format!("scim_users {filter:?}"),
            l.scim_users(q(lite.account.id)).await.unwrap(),
            p.scim_users(q(pg.account.id)).await.unwrap(),
        );
    }
    same(
        "scim_groups",
        l.scim_groups(lite.account.id, true).await.unwrap(),
        p.scim_groups(pg.account.id, true).await.unwrap(),
    );
}
