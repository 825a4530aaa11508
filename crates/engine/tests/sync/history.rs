//! History: every past state of every user is kept, and the directory can be read as of any
//! instant.

use lpgate_store::UserQuery;

use crate::helpers::{bed, t};
use lpgate_store_testkit::{TestStore, both};

async fn who_was_an_admin_then_and_when_mfa_was_lost<S: TestStore>() {
    let Some(b) = bed::<S>(50, 10).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    let view = b.emulator().view();
    let target = view
        .users
        .iter()
        .find(|u| !u.admin && !u.disabled && !u.neverloggedin && !u.multifactor.is_empty())
        .unwrap()
        .username
        .clone();
    b.emulator().set_admin(&target, true).unwrap();
    b.sync_at(t(5, 0)).await.unwrap();
    b.emulator().set_multifactor(&target, None).unwrap();
    b.sync_at(t(9, 0)).await.unwrap();

    let admins_at = |at| {
        let store = b.store.clone();
        async move {
            store
                .list_users(UserQuery {
                    admin_only: true,
                    as_of: Some(at),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.email)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        !admins_at(t(3, 0)).await.contains(&target),
        "not yet an admin on March 3"
    );
    assert!(
        admins_at(t(6, 0)).await.contains(&target),
        "an admin on March 6"
    );
    assert!(admins_at(t(10, 0)).await.contains(&target));
    let now_admins = b
        .store
        .list_users(UserQuery {
            admin_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(now_admins.len(), admins_at(t(10, 0)).await.len());

    let mfa_at = |at| {
        let store = b.store.clone();
        let target = target.clone();
        async move {
            store
                .list_users(UserQuery {
                    as_of: Some(at),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .find(|u| u.email == target)
                .unwrap()
                .multifactor
        }
    };
    assert!(mfa_at(t(6, 0)).await.is_some());
    assert!(
        mfa_at(t(9, 0)).await.is_none(),
        "MFA lost at the March 9 sync"
    );
    // Before the first sync nobody existed.
    assert!(
        b.store
            .list_users(UserQuery {
                as_of: Some(t(1, 0) - chrono::Duration::hours(1)),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    let mfa_changes = b
        .store
        .list_changes(None, None, Some("user.mfa_changed".into()), None, 10)
        .await
        .unwrap();
    assert_eq!(mfa_changes.len(), 1);
    assert_eq!(mfa_changes[0].at, t(9, 0));
}

async fn group_membership_as_of_an_earlier_sync<S: TestStore>() {
    let Some(b) = bed::<S>(40, 12).await else {
        return;
    };
    b.sync_at(t(1, 0)).await.unwrap();
    let view = b.emulator().view();
    let user = view
        .users
        .iter()
        .find(|u| !u.groups.is_empty() && !u.disabled)
        .unwrap();
    let (email, old_groups) = (user.username.clone(), user.groups.clone());
    b.client
        .batch_change_groups(&[lpgate_lastpass::GroupChange {
            username: email.clone(),
            add: vec!["Moved Here".into()],
            del: old_groups.clone(),
        }])
        .await
        .unwrap();
    b.sync_at(t(5, 0)).await.unwrap();

    let groups_at = |at| {
        let store = b.store.clone();
        let email = email.clone();
        async move {
            store
                .list_users(UserQuery {
                    as_of: at,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .find(|u| u.email == email)
                .unwrap()
                .groups
        }
    };
    let mut sorted_old = old_groups.clone();
    sorted_old.sort();
    assert_eq!(
        groups_at(Some(t(3, 0))).await,
        sorted_old,
        "groups on March 3"
    );
    assert_eq!(groups_at(None).await, vec!["Moved Here".to_string()]);
    assert_eq!(
        groups_at(Some(t(6, 0))).await,
        vec!["Moved Here".to_string()]
    );

    let in_group_at = |group: String, at| {
        let store = b.store.clone();
        async move {
            store
                .list_users(UserQuery {
                    group: Some(group),
                    as_of: at,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.email)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        in_group_at(old_groups[0].clone(), Some(t(3, 0)))
            .await
            .contains(&email)
    );
    assert!(
        !in_group_at(old_groups[0].clone(), None)
            .await
            .contains(&email)
    );
    assert!(
        in_group_at("Moved Here".into(), None)
            .await
            .contains(&email)
    );
    assert!(
        !in_group_at("Moved Here".into(), Some(t(3, 0)))
            .await
            .contains(&email)
    );
    let groups = b.store.list_groups(None).await.unwrap();
    let moved = groups.iter().find(|g| g.name == "Moved Here").unwrap();
    assert_eq!(moved.members, 1);
}

both!(
    who_was_an_admin_then_and_when_mfa_was_lost,
    group_membership_as_of_an_earlier_sync,
);
