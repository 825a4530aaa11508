//! History: every past state of every user is kept, and the directory can be read as of any
//! instant.

use lpgate_store::{Store, UserQuery};

use crate::helpers::{bed, t};

#[tokio::test]
async fn who_was_an_admin_then_and_when_mfa_was_lost() {
    let b = bed(50, 10).await;
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
        .list_changes(None, None, Some("user.mfa_changed".into()), 10)
        .await
        .unwrap();
    assert_eq!(mfa_changes.len(), 1);
    assert_eq!(mfa_changes[0].at, t(9, 0));
}
