//! First sync, resync, store contents, credentials at rest.

use lpgate_store::{Store, UserQuery};

use crate::helpers::{HASH, bed, t};
use lpgate_store_testkit::{TestStore, both};

async fn first_sync_is_a_baseline_and_resync_finds_nothing<S: TestStore>() {
    let Some(b) = bed::<S>(180, 1).await else {
        return;
    };
    let first = b.sync_at(t(1, 1)).await.unwrap();
    assert!(first.baseline);
    assert_eq!(first.run.changes, 0);
    assert_eq!(first.run.users as usize, b.emulator().view().users.len());
    let users = b.store.list_users(UserQuery::default()).await.unwrap();
    assert_eq!(users.len(), b.expected_users());
    let view = b.emulator().view();
    // Every field that matters round-trips into the store.
    for u in &view.users {
        let row = users.iter().find(|r| r.email == u.username).unwrap();
        assert_eq!(row.lastpass_id.as_deref(), Some(u.id.to_string().as_str()));
        assert_eq!(row.role == "admin", u.admin);
        let want = if u.disabled {
            "suspended"
        } else if u.neverloggedin {
            "staged"
        } else {
            "active"
        };
        assert_eq!(row.status, want, "{}", u.username);
        assert_eq!(row.multifactor.as_deref().unwrap_or(""), u.multifactor);
        assert_eq!(row.groups, {
            let mut g = u.groups.clone();
            g.sort();
            g
        });
    }
    let groups = b.store.list_groups(None).await.unwrap();
    assert_eq!(groups.len(), view.groups.len());
    for g in &groups {
        assert_eq!(g.members as usize, view.groups[&g.name].len(), "{}", g.name);
    }
    let folders = b.store.list_folders(None).await.unwrap();
    assert_eq!(folders.len(), view.folders.len());
    let events = b
        .store
        .list_events(None, None, None, 100_000)
        .await
        .unwrap();
    assert_eq!(
        events.len(),
        view.event_count,
        "every generated event is newer than the first sync's backfill window"
    );

    let again = b.sync_at(t(1, 2)).await.unwrap();
    assert!(!again.baseline);
    assert_eq!(again.run.changes, 0, "{:?}", again.changes_by_kind);
    assert_eq!(
        b.store
            .list_changes(None, None, None, None, 100)
            .await
            .unwrap()
            .len(),
        0
    );
    let runs = b.store.list_runs(None, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(
        runs.iter()
            .all(|r| r.outcome == lpgate_store::RunOutcome::Succeeded)
    );
}

#[tokio::test]
async fn the_hash_is_never_stored_in_clear() {
    let Some(b) = bed::<lpgate_store_testkit::SqliteStore>(40, 2).await else {
        return;
    };
    b.sync_at(t(1, 1)).await.unwrap();
    let row = b.store.account("acme").await.unwrap();
    assert_eq!(b.key.unseal(&row.provhash_sealed).unwrap().expose(), HASH);
    for entry in std::fs::read_dir(b.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(HASH.len()).any(|w| w == HASH.as_bytes()),
                "hash in clear in {}",
                path.display()
            );
            assert!(!bytes.windows(16).any(|w| w == &HASH.as_bytes()[..16]));
        }
    }
}

both!(first_sync_is_a_baseline_and_resync_finds_nothing,);
