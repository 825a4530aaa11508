//! The directory reads the dashboard leans on, after syncs that change them: group member
//! counts (kept per group by the sync), free-text user pages, newest-first events.

use lpgate_lastpass::{DeleteAction, GroupChange, NewUser};
use lpgate_store::{UserPageQuery, UserQuery};

use crate::helpers::{Bed, bed, t};
use lpgate_store_testkit::{TestStore, both};

/// Every group's stored count equals the emulator's membership, and the count of its
/// members the `memberships` view lists.
async fn assert_counts<S: TestStore>(b: &Bed<S>) {
    let view = b.emulator().view();
    let groups = b.store.list_groups(None).await.unwrap();
    assert_eq!(groups.len(), view.groups.len());
    let counted = b
        .store
        .query(lpgate_store::QueryRequest {
            sql: "SELECT group_name, COUNT(*) FROM memberships GROUP BY group_name".into(),
            ..lpgate_store::QueryRequest::default()
        })
        .await
        .unwrap();
    for g in &groups {
        assert_eq!(g.members as usize, view.groups[&g.name].len(), "{}", g.name);
        let row = counted
            .rows
            .iter()
            .find(|r| r[0].as_str() == Some(g.name.as_str()))
            .unwrap();
        assert_eq!(row[1].as_i64(), Some(g.members), "{}", g.name);
        let one = b.store.group_by_id(g.id.clone()).await.unwrap();
        assert_eq!(one.members, g.members);
    }
}

async fn group_member_counts_follow_joins_leaves_hires_and_departures<S: TestStore>() {
    let Some(b) = bed::<S>(150, 31).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    assert_counts(&b).await;

    let view = b.emulator().view();
    let with_groups: Vec<_> = view
        .users
        .iter()
        .filter(|u| !u.groups.is_empty())
        .map(|u| (u.username.clone(), u.groups.clone()))
        .collect();
    let c = &b.client;
    // Moves out of every group into a new one, joins one more, a departure, a new hire
    // into two existing groups.
    let (mover, mover_groups) = &with_groups[0];
    c.batch_change_groups(&[GroupChange {
        username: mover.clone(),
        add: vec!["Counted Team".into()],
        del: mover_groups.clone(),
    }])
    .await
    .unwrap();
    let (joiner, _) = &with_groups[1];
    c.batch_change_groups(&[GroupChange {
        username: joiner.clone(),
        add: vec!["Counted Team".into()],
        del: vec![],
    }])
    .await
    .unwrap();
    c.delete_user(&with_groups[2].0, DeleteAction::Remove)
        .await
        .unwrap();
    c.batch_add(&[NewUser {
        groups: vec![with_groups[3].1[0].clone(), "Counted Team".into()],
        ..NewUser::new("counted.hire@example.com")
    }])
    .await
    .unwrap();
    b.sync_at(t(2, 0)).await.unwrap();
    assert_counts(&b).await;
    let team = b.store.list_groups(None).await.unwrap();
    let team = team.iter().find(|g| g.name == "Counted Team").unwrap();
    assert_eq!(team.members, 3);

    // Everyone leaves the new group: it goes, and the others keep their counts.
    c.batch_change_groups(
        &[mover, joiner, &"counted.hire@example.com".to_string()].map(|u| GroupChange {
            username: u.clone(),
            add: vec![],
            del: vec!["Counted Team".into()],
        }),
    )
    .await
    .unwrap();
    b.sync_at(t(3, 0)).await.unwrap();
    assert_counts(&b).await;
}

/// The rule of the free-text filter, applied here by hand: every typed word starts a word
/// of the full name or of the address before the `@`.
fn matches(typed: &str, email: &str, fullname: &str) -> bool {
    let local = email.split('@').next().unwrap_or(email);
    let words: Vec<String> = format!("{fullname} {local}")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .all(|t| words.iter().any(|w| w.starts_with(&t.to_lowercase())))
}

async fn word_pages_list_exactly_the_users_whose_words_start_with_what_was_typed<S: TestStore>() {
    let Some(b) = bed::<S>(400, 32).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    // The search index of a first sync is built just after it commits.
    b.store.settled().await;
    let users = b.store.list_users(UserQuery::default()).await.unwrap();
    let current: Vec<_> = users
        .iter()
        .filter(|u| u.status != "deprovisioned")
        .collect();
    let some = &current[current.len() / 2];
    let first = some.fullname.split(' ').next().unwrap().to_string();
    let local = some.email.split('@').next().unwrap().to_string();
    let typed = [
        first[..1].to_string(),
        first[..2.min(first.len())].to_string(),
        first.clone(),
        some.fullname.to_uppercase(),
        local[..local.len() - 1].to_string(),
        format!("{} {}", &first[..2.min(first.len())], &local[..1]),
        "zzzqqq".to_string(),
    ];
    for text in typed {
        let mut want: Vec<String> = current
            .iter()
            .filter(|u| matches(&text, &u.email, &u.fullname))
            .map(|u| u.email.clone())
            .collect();
        want.sort();
        // Walk it in pages of 7, as a person paging through the results would.
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = b
                .store
                .page_users(UserPageQuery {
                    words: Some(text.clone()),
                    after: after.clone(),
                    limit: 7,
                    ..UserPageQuery::default()
                })
                .await
                .unwrap();
            let keys = b
                .store
                .page_user_keys(UserPageQuery {
                    words: Some(text.clone()),
                    after: after.clone(),
                    limit: 7,
                    ..UserPageQuery::default()
                })
                .await
                .unwrap();
            assert_eq!(
                keys.iter().map(|k| k.id).collect::<Vec<_>>(),
                page.iter().map(|u| u.id).collect::<Vec<_>>()
            );
            let Some(last) = page.last() else { break };
            after = Some((last.account.clone(), last.email.clone()));
            got.extend(page.iter().map(|u| u.email.clone()));
        }
        assert_eq!(got, want, "typed {text:?}");
        if text != "zzzqqq" {
            assert!(!got.is_empty(), "typed {text:?}");
        }
    }
    // Combined with another filter, and a text without a word matching no one.
    let admins = b
        .store
        .page_users(UserPageQuery {
            words: Some(first[..1].to_string()),
            admin: Some(true),
            limit: 1000,
            ..UserPageQuery::default()
        })
        .await
        .unwrap();
    assert!(admins.iter().all(|u| u.role == "admin"));
    assert_eq!(
        admins.len(),
        current
            .iter()
            .filter(|u| u.role == "admin" && matches(&first[..1], &u.email, &u.fullname))
            .count()
    );
    let none = b
        .store
        .page_users(UserPageQuery {
            words: Some(" -- ".into()),
            limit: 10,
            ..UserPageQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn events_page_newest_first_for_all_accounts_and_one<S: TestStore>() {
    let Some(b) = bed::<S>(200, 33).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    let all = b
        .store
        .list_events(None, None, None, 100_000)
        .await
        .unwrap();
    assert!(all.len() > 20, "{}", all.len());
    assert!(
        all.windows(2)
            .all(|w| (w[0].time, w[0].id) > (w[1].time, w[1].id))
    );
    // Stored oldest first: ids follow time, and the newest-first listing (events of one
    // second included) is LastPass's own order.
    let mut by_id = all.clone();
    by_id.sort_by_key(|e| e.id);
    assert!(by_id.windows(2).all(|w| w[0].time <= w[1].time));
    let oldest = all.last().unwrap().time_local;
    let listed: Vec<(String, String, String)> = b
        .client
        .reporting(&lpgate_lastpass::EventQuery::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.time >= oldest)
        .map(|e| (e.username, e.action, e.data))
        .collect();
    let stored: Vec<(String, String, String)> = all
        .iter()
        .map(|e| (e.username.clone(), e.action.clone(), e.data.clone()))
        .collect();
    assert_eq!(stored, listed);
    for account in [None, Some(b.account.name.clone())] {
        let mut walked = Vec::new();
        let mut before = None;
        loop {
            let page = b
                .store
                .list_events(account.clone(), None, before, 9)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            before = Some((last.time, last.id));
            walked.extend(page.iter().map(|e| e.id));
        }
        assert_eq!(walked, all.iter().map(|e| e.id).collect::<Vec<_>>());
    }
    let since = all[all.len() / 2].time;
    let recent = b
        .store
        .list_events(Some(b.account.name.clone()), Some(since), None, 100_000)
        .await
        .unwrap();
    assert_eq!(
        recent.iter().map(|e| e.id).collect::<Vec<_>>(),
        all.iter()
            .filter(|e| e.time >= since)
            .map(|e| e.id)
            .collect::<Vec<_>>()
    );
    assert!(
        b.store
            .list_events(Some("no-such-account".into()), None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn sorted_pages_walk_every_user_once_in_each_order<S: TestStore>() {
    let Some(b) = bed::<S>(230, 34).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    let all = b.store.list_users(UserQuery::default()).await.unwrap();
    for order in lpgate_store::UserOrder::ALL {
        for descending in [false, true] {
            let mut want = all.clone();
            want.sort_by(|x, y| {
                let key = match order {
                    lpgate_store::UserOrder::Name => {
                        x.fullname.to_lowercase().cmp(&y.fullname.to_lowercase())
                    }
                    lpgate_store::UserOrder::LastLogin => x.last_login.cmp(&y.last_login),
                };
                let ord = key
                    .then(x.account.cmp(&y.account))
                    .then(x.email.cmp(&y.email));
                if descending { ord.reverse() } else { ord }
            });
            let mut got = Vec::new();
            loop {
                let page = b
                    .store
                    .page_users(UserPageQuery {
                        sort: Some((order, descending)),
                        offset: got.len(),
                        limit: 40,
                        ..UserPageQuery::default()
                    })
                    .await
                    .unwrap();
                if page.is_empty() {
                    break;
                }
                got.extend(page.into_iter().map(|u| u.email));
            }
            assert_eq!(
                got,
                want.iter().map(|u| u.email.clone()).collect::<Vec<_>>(),
                "{order:?} descending={descending}"
            );
        }
    }
    // With filters and one account: only matching users, still sorted.
    let admins = b
        .store
        .page_users(UserPageQuery {
            account: Some(b.account.name.clone()),
            admin: Some(true),
            sort: Some((lpgate_store::UserOrder::LastLogin, true)),
            limit: 1000,
            ..UserPageQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        admins.len(),
        all.iter().filter(|u| u.role == "admin").count()
    );
    assert!(
        admins
            .windows(2)
            .all(|w| w[0].last_login >= w[1].last_login)
    );
}

/// Every folder's stored member and administrator counts equal the emulator's.
async fn assert_folder_counts<S: TestStore>(b: &Bed<S>) {
    let view = b.emulator().view();
    let folders = b.store.list_folders(None).await.unwrap();
    assert_eq!(folders.len(), view.folders.len());
    for f in &folders {
        let v = view
            .folders
            .iter()
            .find(|v| v.id.to_string() == f.id)
            .unwrap();
        assert_eq!(f.members as usize, v.members.len(), "{}", f.name);
        let admins = v.members.iter().filter(|m| m.perms.can_administer).count();
        assert_eq!(f.administrators as usize, admins, "{}", f.name);
    }
}

async fn folder_counts_follow_shares_unshares_and_permission_changes<S: TestStore>() {
    use lpgate_emulator::FolderPerms;
    let Some(b) = bed::<S>(120, 35).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    assert_folder_counts(&b).await;
    let view = b.emulator().view();
    let e = b.emulator();
    let folder = view.folders.iter().find(|f| f.members.len() >= 2).unwrap();
    let outsider = view
        .users
        .iter()
        .find(|u| !folder.members.iter().any(|m| m.username == u.username))
        .unwrap();
    let admin = FolderPerms {
        readonly: false,
        give: true,
        can_administer: true,
    };
    e.share_folder(&folder.name, &outsider.username, admin)
        .unwrap();
    e.unshare_folder(&folder.name, &folder.members[0].username)
        .unwrap();
    let m = &folder.members[1];
    e.share_folder(
        &folder.name,
        &m.username,
        FolderPerms {
            can_administer: !m.perms.can_administer,
            ..m.perms
        },
    )
    .unwrap();
    e.share_folder("Counted Folder", &outsider.username, admin)
        .unwrap();
    b.sync_at(t(2, 0)).await.unwrap();
    assert_folder_counts(&b).await;
    let counted = b.store.list_folders(None).await.unwrap();
    let counted = counted.iter().find(|f| f.name == "Counted Folder").unwrap();
    assert_eq!((counted.members, counted.administrators), (1, 1));
}

both!(
    group_member_counts_follow_joins_leaves_hires_and_departures,
    word_pages_list_exactly_the_users_whose_words_start_with_what_was_typed,
    events_page_newest_first_for_all_accounts_and_one,
    sorted_pages_walk_every_user_once_in_each_order,
    folder_counts_follow_shares_unshares_and_permission_changes,
);
