//! See and watch: the query sandbox, free-text search, rules and the finding lifecycle, over
//! a store synced from the emulator.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lpgate_domain::AccountZone;
use lpgate_engine::notify::{Channel, ChannelKind, Routing, Subscription};
use lpgate_engine::rules::{self, RuleConfig, Severity};
use lpgate_store::{
    AccountEndpoint, FindingQuery, HrPerson, NewAccount, QueryLimits, QueryRequest, StoreError,
};

use crate::helpers::{Bed, HASH, bed, t};
use lpgate_store_testkit::{TestStore, both};

fn q(sql: &str) -> QueryRequest {
    QueryRequest {
        sql: sql.into(),
        ..Default::default()
    }
}

async fn count<S: TestStore>(b: &Bed<S>, sql: &str) -> i64 {
    let r = b.store.query(q(sql)).await.unwrap();
    r.rows[0][0].as_i64().unwrap()
}

async fn synced<S: TestStore>(users: usize, seed: u64) -> Option<Bed<S>> {
    let b = bed::<S>(users, seed).await?;
    b.sync_at(t(1, 0)).await.unwrap();
    b.store.settled().await;
    Some(b)
}

async fn views_answer_and_hostile_queries_are_refused_without_effect<S: TestStore>() {
    let Some(b) = synced::<S>(60, 21).await else {
        return;
    };
    let users = count(&b, "SELECT COUNT(*) FROM users").await;
    assert_eq!(users as usize, b.expected_users());
    assert!(count(&b, "SELECT COUNT(*) FROM memberships").await > 0);
    assert!(count(&b, "SELECT COUNT(*) FROM folder_members").await > 0);
    for view in [
        "accounts",
        "sync_runs",
        "users_history",
        "groups",
        "folders",
        "events",
        "changes",
        "findings",
        "hr_people",
    ] {
        b.store
            .query(q(&format!("SELECT * FROM {view} LIMIT 1")))
            .await
            .unwrap_or_else(|e| panic!("{view}: {e}"));
    }
    let hostile = [
        "DELETE FROM users",
        "UPDATE users SET admin = 1",
        "INSERT INTO hr_people (email, status) VALUES ('x@y.z', 'active')",
        "DROP TABLE users",
        "CREATE TABLE t (x)",
        "CREATE TEMP TABLE t (x)",
        "ATTACH DATABASE '/tmp/lpgate-evil.sqlite' AS evil",
        "PRAGMA writable_schema = 1",
        "PRAGMA main.user_version",
        "SELECT load_extension('/tmp/evil.so')",
        "SELECT * FROM main.users",
        "SELECT * FROM main.accounts",
        "SELECT provhash_sealed FROM accounts",
        "SELECT * FROM sqlite_master",
        "SELECT * FROM search",
        "SELECT 1; DELETE FROM users",
        "VACUUM INTO '/tmp/lpgate-copy.sqlite'",
        "BEGIN IMMEDIATE",
        "SELECT readfile('/etc/passwd')",
        "SELECT randomblob(100000000)",
    ];
    for sql in hostile {
        let err = b.store.query(q(sql)).await.expect_err(sql);
        assert!(
            matches!(err, StoreError::QueryRefused(_)),
            "{sql}: expected a refusal, got {err:?}"
        );
    }
    assert!(!std::path::Path::new("/tmp/lpgate-copy.sqlite").exists());
    assert!(!std::path::Path::new("/tmp/lpgate-evil.sqlite").exists());
    assert_eq!(count(&b, "SELECT COUNT(*) FROM users").await, users);
    assert_eq!(
        count(&b, "SELECT COUNT(*) FROM users WHERE admin").await,
        b.emulator().view().users.iter().filter(|u| u.admin).count() as i64
    );
    let err = b
        .store
        .query(q("UPDATE main.users SET admin = 1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("documented views"), "{err}");
}

async fn runaway_queries_stop_at_their_limits<S: TestStore>() {
    let Some(b) = synced::<S>(20, 22).await else {
        return;
    };
    let forever = QueryRequest {
        sql:
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
                .into(),
        limits: QueryLimits {
            timeout: Duration::from_millis(300),
            max_rows: 10,
        },
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let err = b.store.query(forever).await.unwrap_err();
    assert!(matches!(err, StoreError::QueryTimeout { .. }), "{err:?}");
    assert!(err.to_string().contains("0.3 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The connection is still good afterwards.
    assert!(count(&b, "SELECT COUNT(*) FROM users").await > 0);
    let many = b
        .store
        .query(QueryRequest {
            sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) SELECT x FROM c"
                .into(),
            limits: QueryLimits {
                timeout: Duration::from_secs(5),
                max_rows: 10,
            },
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(many.rows.len(), 10);
    assert!(many.truncated);
    assert_eq!(many.columns, vec!["x".to_string()]);
}

/// `query_all` (how an account's rules run after each sync): the answers in order, each
/// query under its own limits and the account's scope, stopping at the first failure; the
/// same statements run again on the connection that cached them.
async fn several_queries_run_in_one_call_and_stop_at_the_first_failure<S: TestStore>() {
    let Some(b) = synced::<S>(40, 24).await else {
        return;
    };
    let scoped = |sql: &str, timeout_ms: u64| QueryRequest {
        sql: sql.into(),
        account: Some(b.account.id),
        limits: QueryLimits {
            timeout: Duration::from_millis(timeout_ms),
            max_rows: 1000,
        },
        ..Default::default()
    };
    let users = count(&b, "SELECT COUNT(*) FROM users").await;
    for round in 0..7 {
        let answers = b
            .store
            .query_all(vec![
                scoped("SELECT COUNT(*) FROM users", 5000),
                scoped("SELECT COUNT(DISTINCT account_id) FROM memberships", 5000),
                scoped(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c",
                    200,
                ),
                scoped("SELECT COUNT(*) FROM users", 5000),
            ])
            .await
            .unwrap();
        assert_eq!(answers.len(), 3, "round {round}: stops at the failure");
        let first = answers[0].as_ref().unwrap();
        assert_eq!(first.rows[0][0].as_i64(), Some(users), "round {round}");
        let second = answers[1].as_ref().unwrap();
        assert_eq!(second.rows[0][0].as_i64(), Some(1), "round {round}");
        let err = answers[2].as_ref().unwrap_err();
        assert!(
            matches!(err, StoreError::QueryTimeout { secs } if (*secs - 0.2).abs() < 1e-9),
            "round {round}: {err:?}"
        );
    }
    // A refused statement fails in its place; queries of different scopes still answer.
    let answers = b
        .store
        .query_all(vec![
            q("SELECT COUNT(*) FROM users"),
            scoped("DELETE FROM users", 5000),
        ])
        .await
        .unwrap();
    assert_eq!(
        answers[0].as_ref().unwrap().rows[0][0].as_i64(),
        Some(users)
    );
    assert!(
        matches!(answers[1], Err(StoreError::QueryRefused(_))),
        "{:?}",
        answers[1]
    );
    // One scope, a refusal in the middle: the reads before it answer, nothing after it runs.
    let answers = b
        .store
        .query_all(vec![
            scoped("SELECT COUNT(*) FROM users", 5000),
            scoped("DELETE FROM users", 5000),
            scoped("SELECT COUNT(*) FROM users", 5000),
        ])
        .await
        .unwrap();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(
        answers[0].as_ref().unwrap().rows[0][0].as_i64(),
        Some(users)
    );
    assert!(matches!(answers[1], Err(StoreError::QueryRefused(_))));
    // A refusal first: it alone answers.
    let answers = b
        .store
        .query_all(vec![
            scoped("UPDATE users SET fullname = ''", 5000),
            scoped("SELECT COUNT(*) FROM users", 5000),
        ])
        .await
        .unwrap();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(matches!(answers[0], Err(StoreError::QueryRefused(_))));
    assert_eq!(count(&b, "SELECT COUNT(*) FROM users").await, users);
    assert!(b.store.query_all(Vec::new()).await.unwrap().is_empty());
    if S::NAME == "postgres" {
        // Short reads: never JIT-compiled (the connection option), and planned with their
        // parameters' values (the sandbox session's setting).
        let r = b
            .store
            .query(scoped(
                "SELECT current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plans",
                5000,
            ))
            .await
            .unwrap();
        assert_eq!(
            r.rows,
            vec![vec![
                serde_json::json!("off"),
                serde_json::json!("force_custom_plan")
            ]]
        );
    }
}

async fn account_scope_confines_every_view<S: TestStore>() {
    let Some(b) = synced::<S>(30, 23).await else {
        return;
    };
    let beta = b
        .store
        .add_account(NewAccount {
            name: "beta".into(),
            cid: 424242,
            endpoint: AccountEndpoint::Url(b.emu.base_url()),
            provhash_sealed: b
                .key
                .seal(&lpgate_lastpass::ProvisioningHash::new(HASH).unwrap()),
            time_zone: "America/New_York".into(),
            sync_interval_secs: 900,
            now: t(1, 0),
        })
        .await
        .unwrap();
    lpgate_engine::sync_account(
        &b.store,
        &b.client,
        &beta,
        AccountZone::default(),
        &Default::default(),
        || t(1, 1),
        |_| {},
    )
    .await
    .unwrap();
    b.store.settled().await;
    let all = count(&b, "SELECT COUNT(*) FROM users").await;
    let scoped = |id| QueryRequest {
        sql: "SELECT COUNT(*), COUNT(DISTINCT account) FROM users".into(),
        account: Some(id),
        ..Default::default()
    };
    let r = b.store.query(scoped(beta.id)).await.unwrap();
    assert_eq!(r.rows[0][0].as_i64().unwrap() * 2, all);
    assert_eq!(r.rows[0][1].as_i64(), Some(1));
    for view in [
        "memberships",
        "folder_members",
        "accounts",
        "sync_runs",
        "events",
    ] {
        let r = b
            .store
            .query(QueryRequest {
                sql: format!("SELECT DISTINCT account_id FROM {view}"),
                account: Some(b.account.id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            r.rows,
            vec![vec![serde_json::json!(b.account.id.0)]],
            "{view}"
        );
    }
    // The HR list belongs to no account: confined to one, only its users' domains' staff.
    let member = b
        .store
        .query(q("SELECT email FROM users ORDER BY email LIMIT 1"))
        .await
        .unwrap()
        .rows[0][0]
        .as_str()
        .unwrap()
        .to_string();
    let at = member.find('@').unwrap();
    let person = |email: String| HrPerson {
        email,
        name: None,
        status: "active".into(),
        department: None,
    };
    b.store
        .load_hr(
            vec![
                person(member.clone()),
                person(format!("new.hire{}", &member[at..])),
                person("someone@elsewhere.example".into()),
            ],
            t(1, 2),
        )
        .await
        .unwrap();
    let hr = |account| QueryRequest {
        sql: "SELECT email FROM hr_people ORDER BY email".into(),
        account,
        ..Default::default()
    };
    assert_eq!(b.store.query(hr(None)).await.unwrap().rows.len(), 3);
    let mine: Vec<String> = b
        .store
        .query(hr(Some(beta.id)))
        .await
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.iter().all(|e| e.ends_with(&member[at..])), "{mine:?}");
    // Nor can a confined query count the whole list behind the view.
    let err = b
        .store
        .query(QueryRequest {
            sql: "SELECT COUNT(*) FROM main.hr_people".into(),
            account: Some(beta.id),
            ..Default::default()
        })
        .await;
    assert!(err.is_err(), "{err:?}");
}

async fn search_finds_people_groups_and_folders_ranked<S: TestStore>() {
    let Some(b) = synced::<S>(200, 24).await else {
        return;
    };
    let view = b.emulator().view();
    let person = view
        .users
        .iter()
        .find(|u| u.fullname.split_whitespace().count() >= 2)
        .unwrap();
    let hits = b
        .store
        .search(person.fullname.clone(), None, 10)
        .await
        .unwrap();
    assert_eq!(
        hits[0].key, person.username,
        "full name ranks its owner first"
    );
    assert_eq!(hits[0].kind, "user");
    // Prefixes: every hit has a word starting with it.
    let first = person
        .fullname
        .split_whitespace()
        .next()
        .unwrap()
        .to_lowercase();
    let prefix: String = first.chars().take(3).collect();
    let hits = b.store.search(prefix.clone(), None, 50).await.unwrap();
    assert!(!hits.is_empty());
    for h in &hits {
        let words = format!("{} {}", h.title, h.key.split('@').next().unwrap()).to_lowercase();
        assert!(
            words
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w.starts_with(&prefix)),
            "{prefix} in {h:?}"
        );
    }
    // The address's words before the @.
    let local = person.username.split('@').next().unwrap();
    let hits = b.store.search(local.into(), None, 5).await.unwrap();
    assert!(hits.iter().any(|h| h.key == person.username));
    // Groups and folders by name.
    let group = view.groups.keys().next().unwrap().clone();
    let hits = b.store.search(group.clone(), None, 5).await.unwrap();
    assert!(
        hits.iter().any(|h| h.kind == "group" && h.key == group),
        "{hits:?}"
    );
    let folder = &view.folders[0];
    let hits = b.store.search(folder.name.clone(), None, 5).await.unwrap();
    assert!(
        hits.iter()
            .any(|h| h.kind == "folder" && h.key == folder.id.to_string()),
        "{hits:?}"
    );
    // Kept current by the next sync: a rename is found under the new name only.
    b.client
        .update_user(&lpgate_lastpass::UserUpdate {
            username: person.username.clone(),
            fullname: Some("Zephyrine Quackenbush".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    b.sync_at(t(2, 0)).await.unwrap();
    let hits = b
        .store
        .search("zephyr quack".into(), None, 5)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].key, person.username);
    let old = b
        .store
        .search(person.fullname.clone(), None, 50)
        .await
        .unwrap();
    assert!(
        old.iter()
            .all(|h| h.key != person.username || h.title != person.fullname)
    );
    assert!(
        b.store
            .search("qqqqzzzz".into(), None, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        b.store.search(" -- ".into(), None, 5).await,
        Err(StoreError::QueryRefused(_))
    ));
    assert!(
        b.store
            .search("zephyr".into(), Some("nobody".into()), 5)
            .await
            .unwrap()
            .is_empty()
    );
}

fn keys(m: &[rules::RuleMatches], rule: &str) -> BTreeSet<String> {
    m.iter()
        .find(|x| x.rule.name == rule)
        .unwrap_or_else(|| panic!("{rule} did not run"))
        .rows
        .iter()
        .map(|(k, _)| k.clone())
        .collect()
}

async fn every_builtin_rule_finds_exactly_the_expected_rows<S: TestStore>() {
    let Some(b) = bed::<S>(300, 25).await else {
        return;
    };
    let e = b.emulator();
    let view = e.view();
    let usable = |u: &&lpgate_emulator::UserView| !u.disabled && !u.neverloggedin;
    // Make sure every rule has something to find.
    let plain: Vec<String> = view
        .users
        .iter()
        .filter(usable)
        .filter(|u| !u.admin)
        .map(|u| u.username.clone())
        .collect();
    for who in &plain[..7] {
        e.set_admin(who, true).unwrap();
    }
    e.set_multifactor(&plain[0], None).unwrap();
    e.change_master_password(&plain[8], 20).unwrap();
    b.client.disable_users(&[plain[9].clone()]).await.unwrap();
    b.client
        .require_master_password_change(&plain[10])
        .await
        .unwrap();
    b.sync_at(t(1, 0)).await.unwrap();
    b.store.settled().await;
    let view = e.view();
    let zone = AccountZone::default();
    let now: DateTime<Utc> = t(1, 0) + chrono::Duration::days(20);
    let active = |u: &&lpgate_emulator::UserView| !u.disabled && !u.neverloggedin;

    // HR: everyone active except three people; one of them is listed as terminated.
    let mut hr: Vec<HrPerson> = view
        .users
        .iter()
        .filter(active)
        .skip(3)
        .map(|u| HrPerson {
            email: u.username.clone(),
            name: None,
            status: "active".into(),
            department: None,
        })
        .collect();
    let first_three: Vec<String> = view
        .users
        .iter()
        .filter(active)
        .take(3)
        .map(|u| u.username.clone())
        .collect();
    hr.push(HrPerson {
        email: first_three[0].clone(),
        name: None,
        status: "terminated".into(),
        department: None,
    });
    b.store.load_hr(hr, now).await.unwrap();

    let config = RuleConfig::default();
    let m = rules::evaluate(
        &b.store,
        Some(b.account.id),
        &config.rules().unwrap(),
        &config,
        now,
    )
    .await
    .unwrap();
    let set = |it: &mut dyn Iterator<Item = String>| it.collect::<BTreeSet<_>>();

    let expect = set(&mut view
        .users
        .iter()
        .filter(|u| u.admin && active(u) && u.multifactor.is_empty())
        .map(|u| u.username.clone()));
    assert!(!expect.is_empty());
    assert_eq!(keys(&m, "admin-without-mfa"), expect);

    let expect = set(&mut view
        .users
        .iter()
        .filter(|u| u.admin && u.neverloggedin)
        .map(|u| u.username.clone()));
    assert_eq!(keys(&m, "admin-never-logged-in"), expect);

    let cutoff = now - chrono::Duration::days(90);
    let expect = set(&mut view
        .users
        .iter()
        .filter(active)
        .filter(|u| u.last_login.is_some_and(|l| zone.to_utc(l) < cutoff))
        .map(|u| u.username.clone()));
    assert!(!expect.is_empty());
    assert_eq!(keys(&m, "inactive-user"), expect);

    let expect = set(&mut view
        .users
        .iter()
        .filter(|u| active(u) && u.mpstrength < 50)
        .map(|u| u.username.clone()));
    assert!(expect.contains(&plain[8]));
    assert_eq!(keys(&m, "weak-master-password"), expect);

    let expect = set(&mut view
        .users
        .iter()
        .filter(|u| u.password_reset_required)
        .map(|u| u.username.clone()));
    assert!(expect.contains(&plain[10]));
    assert_eq!(keys(&m, "password-reset-pending"), expect);
    let soon = rules::evaluate(
        &b.store,
        Some(b.account.id),
        &config.rules().unwrap(),
        &config,
        t(1, 0) + chrono::Duration::days(5),
    )
    .await
    .unwrap();
    assert!(
        keys(&soon, "password-reset-pending").is_empty(),
        "not yet 14 days"
    );

    let in_folder = |email: &str| {
        view.folders
            .iter()
            .any(|f| f.members.iter().any(|m| m.username == email))
    };
    let expect = set(&mut view
        .users
        .iter()
        .filter(|u| u.disabled && (!u.groups.is_empty() || in_folder(&u.username)))
        .map(|u| u.username.clone()));
    assert_eq!(keys(&m, "disabled-user-with-access"), expect);

    let is_active = |email: &str| view.users.iter().any(|u| u.username == email && active(&u));
    let expect = set(&mut view
        .folders
        .iter()
        .filter(|f| !f.deleted)
        .filter(|f| {
            !f.members
                .iter()
                .any(|m| m.perms.can_administer && is_active(&m.username))
        })
        .map(|f| f.id.to_string()));
    assert_eq!(keys(&m, "folder-without-admin"), expect);

    let admins = view.users.iter().filter(|u| u.admin && active(u)).count();
    assert!(admins > 5);
    assert_eq!(
        keys(&m, "too-many-super-admins"),
        BTreeSet::from(["acme".to_string()])
    );

    let hr_active: BTreeSet<String> = view
        .users
        .iter()
        .filter(active)
        .skip(3)
        .map(|u| u.username.clone())
        .collect();
    // Pending invitations are staged users too.
    let expect = set(&mut view
        .users
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| u.username.clone())
        .chain(view.invited.iter().cloned())
        .filter(|e| !hr_active.contains(e)));
    assert!(expect.contains(&first_three[0]) && expect.contains(&first_three[2]));
    assert_eq!(keys(&m, "not-in-hr"), expect);
}

async fn findings_open_stay_and_resolve_across_syncs_with_notifications<S: TestStore>() {
    let Some(b) = bed::<S>(80, 26).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    let e = b.emulator();
    let routing = Routing {
        channels: vec![Channel {
            name: "secops".into(),
            kind: ChannelKind::Webhook,
            url: "http://127.0.0.1:9/hook".into(),
            secret: Some("s3cret".into()),
        }],
        subscriptions: vec![Subscription {
            channel: "secops".into(),
            findings: Some(Severity::High),
            changes: vec!["user.admin_granted".into()],
        }],
    };
    let config = RuleConfig {
        disabled: vec!["inactive-user".into(), "weak-master-password".into()],
        ..RuleConfig::default()
    };
    let check = |at| rules::check_account(&b.store, b.account.id, "acme", &config, &routing, at);
    let first = check(t(1, 0)).await.unwrap();
    let open_before = b
        .store
        .list_findings(FindingQuery {
            before: None,
            rule: Some("admin-without-mfa".into()),
            open_only: true,
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(
        check(t(1, 1)).await.unwrap().opened,
        0,
        "same rows: nothing new"
    );
    assert!(
        first.opened >= open_before,
        "the first evaluation opened every open admin-without-mfa finding"
    );

    // A user without MFA becomes an admin: a high finding opens and two notifications are
    // queued (the change and the finding).
    let target = e
        .view()
        .users
        .iter()
        .find(|u| !u.admin && !u.disabled && !u.neverloggedin && u.multifactor.is_empty())
        .map(|u| u.username.clone())
        .unwrap_or_else(|| {
            let u = e
                .view()
                .users
                .into_iter()
                .find(|u| !u.admin && !u.disabled && !u.neverloggedin)
                .unwrap();
            e.set_multifactor(&u.username, None).unwrap();
            u.username
        });
    e.set_admin(&target, true).unwrap();
    let options = lpgate_engine::SyncOptions {
        routing: routing.clone(),
        ..Default::default()
    };
    b.sync_with(t(2, 0), &b.client, &options).await.unwrap();
    let s = check(t(2, 0)).await.unwrap();
    assert_eq!(s.opened, 1);
    let open = b
        .store
        .list_findings(FindingQuery {
            before: None,
            rule: Some("admin-without-mfa".into()),
            open_only: true,
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), open_before + 1);
    let f = open.iter().find(|f| f.key == target).unwrap();
    assert_eq!(f.opened_at, t(2, 0));
    assert_eq!(f.row["email"], serde_json::json!(target));
    let queued = b.store.list_deliveries(None, 100).await.unwrap();
    let events: BTreeSet<&str> = queued.iter().map(|d| d.event.as_str()).collect();
    assert!(
        events.contains("user.admin_granted") && events.contains("finding.opened"),
        "{events:?}"
    );
    let opened = queued.iter().find(|d| d.event == "finding.opened").unwrap();
    assert_eq!(opened.payload["key"], serde_json::json!(target));
    assert_eq!(opened.payload["severity"], "high");

    // MFA turned on: the finding resolves (and stays resolved), a resolution is queued.
    e.set_multifactor(&target, Some("lastpassauth")).unwrap();
    b.sync_at(t(3, 0)).await.unwrap();
    let s = check(t(3, 0)).await.unwrap();
    assert_eq!((s.opened, s.resolved), (0, 1));
    let all = b
        .store
        .list_findings(FindingQuery {
            before: None,
            rule: Some("admin-without-mfa".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let f = all.iter().find(|f| f.key == target).unwrap();
    assert_eq!(f.resolved_at, Some(t(3, 0)));
    // Every finding that still matches was seen again by this check.
    let still = b
        .store
        .list_findings(FindingQuery {
            before: None,
            open_only: true,
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!still.is_empty(), "other rules keep findings open");
    assert!(
        still
            .iter()
            .all(|f| f.last_seen_at == t(3, 0) && f.opened_at < t(3, 0)),
        "{still:?}"
    );
    assert!(b
        .store
        .list_deliveries(None, 100)
        .await
        .unwrap()
        .iter()
        .any(|d| d.event == "finding.resolved" && d.payload["key"] == serde_json::json!(target)));
    // The findings view shows it through SQL too.
    let r = b
        .store
        .query(q(&format!(
            "SELECT state FROM findings WHERE rule = 'admin-without-mfa' AND key = '{target}'"
        )))
        .await
        .unwrap();
    assert_eq!(r.rows, vec![vec![serde_json::json!("resolved")]]);
}

both!(
    views_answer_and_hostile_queries_are_refused_without_effect,
    runaway_queries_stop_at_their_limits,
    account_scope_confines_every_view,
    several_queries_run_in_one_call_and_stop_at_the_first_failure,
    search_finds_people_groups_and_folders_ranked,
    every_builtin_rule_finds_exactly_the_expected_rows,
    findings_open_stay_and_resolve_across_syncs_with_notifications,
);
