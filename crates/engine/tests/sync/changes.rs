//! Each change kind, produced by acting on the emulator as LastPass users and admins would.

use std::collections::BTreeSet;

use lpgate_emulator::FolderPerms;
use lpgate_lastpass::{DeleteAction, GroupChange, NewUser, UserUpdate};

use crate::helpers::{bed, t};
use lpgate_store_testkit::{TestStore, both};

async fn every_change_kind_is_recorded_once<S: TestStore>() {
    let Some(b) = bed::<S>(120, 5).await else {
        return;
    };
    b.sync_at(t(1, 1)).await.unwrap();
    let e = b.emulator();
    let view = e.view();
    let active: Vec<String> = view
        .users
        .iter()
        .filter(|u| !u.disabled && !u.neverloggedin && !u.admin && !u.multifactor.is_empty())
        .map(|u| u.username.clone())
        .collect();
    let staged = view
        .users
        .iter()
        .find(|u| u.neverloggedin && !u.disabled)
        .unwrap()
        .username
        .clone();
    let admin = view
        .users
        .iter()
        .find(|u| u.admin && !u.disabled)
        .unwrap()
        .username
        .clone();
    let c = &b.client;

    e.login(&staged).unwrap(); // user.logged_in_first_time
    e.set_admin(&active[0], true).unwrap(); // user.admin_granted
    e.set_admin(&admin, false).unwrap(); // user.admin_revoked
    e.set_multifactor(&active[1], None).unwrap(); // user.mfa_changed
    e.change_master_password(&active[2], 90).unwrap(); // user.password_changed
    c.disable_users(std::slice::from_ref(&active[3]))
        .await
        .unwrap(); // user.disabled
    c.update_user(&UserUpdate {
        username: active[4].clone(),
        fullname: Some("Renamed Person".into()),
        ..Default::default()
    })
    .await
    .unwrap(); // user.renamed
    c.require_master_password_change(&active[5]).await.unwrap(); // user.password_reset_required
    c.delete_user(&active[6], DeleteAction::Remove)
        .await
        .unwrap(); // user.deprovisioned
    c.batch_add(&[NewUser {
        groups: vec!["Brand New Team".into()],
        ..NewUser::new("new.hire@example.com")
    }])
    .await
    .unwrap(); // user.created, group.created, group.member_added
    let leave = view
        .users
        .iter()
        .find(|u| u.username == active[7])
        .unwrap()
        .groups
        .clone();
    c.batch_change_groups(&[GroupChange {
        username: active[7].clone(),
        add: vec![],
        del: leave.clone(),
    }])
    .await
    .unwrap(); // group.member_removed
    let folder = &view.folders[0];
    let outsider = active
        .iter()
        .find(|a| !folder.members.iter().any(|m| &m.username == *a))
        .unwrap()
        .clone();
    e.share_folder(
        &folder.name,
        &outsider,
        FolderPerms {
            readonly: true,
            give: false,
            can_administer: false,
        },
    )
    .unwrap(); // folder.shared
    let member = folder.members[0].username.clone();
    e.unshare_folder(&folder.name, &member).unwrap(); // folder.unshared
    let other = &view.folders[1];
    let m2 = &other.members[0];
    e.share_folder(
        &other.name,
        &m2.username,
        FolderPerms {
            readonly: !m2.perms.readonly,
            give: m2.perms.give,
            can_administer: m2.perms.can_administer,
        },
    )
    .unwrap(); // folder.permission_changed
    e.share_folder(
        "Brand New Folder",
        &active[8],
        FolderPerms {
            readonly: false,
            give: true,
            can_administer: true,
        },
    )
    .unwrap(); // folder.created, folder.shared

    let report = b.sync_at(t(2, 1)).await.unwrap();
    let changes = b
        .store
        .list_changes(None, None, None, None, 1000)
        .await
        .unwrap();
    let kinds: BTreeSet<&str> = changes.iter().map(|c| c.kind.as_str()).collect();
    for want in [
        "user.logged_in_first_time",
        "user.admin_granted",
        "user.admin_revoked",
        "user.mfa_changed",
        "user.password_changed",
        "user.disabled",
        "user.renamed",
        "user.password_reset_required",
        "user.deprovisioned",
        "user.created",
        "group.created",
        "group.member_added",
        "group.member_removed",
        "folder.shared",
        "folder.unshared",
        "folder.permission_changed",
        "folder.created",
    ] {
        assert!(kinds.contains(want), "missing {want} in {kinds:?}");
    }
    let one = |kind: &str, subject: &str| {
        changes
            .iter()
            .filter(|c| {
                c.kind == kind && (c.subject == subject || c.related.as_deref() == Some(subject))
            })
            .count()
    };
    assert_eq!(one("user.logged_in_first_time", &staged), 1);
    assert_eq!(one("user.admin_granted", &active[0]), 1);
    assert_eq!(one("user.admin_revoked", &admin), 1);
    assert_eq!(one("user.disabled", &active[3]), 1);
    assert_eq!(one("user.deprovisioned", &active[6]), 1);
    assert_eq!(one("user.created", "new.hire@example.com"), 1);
    assert_eq!(one("folder.shared", &outsider), 1);
    assert_eq!(one("folder.unshared", &member), 1);
    let removed: Vec<_> = changes
        .iter()
        .filter(|c| {
            c.kind == "group.member_removed" && c.related.as_deref() == Some(active[7].as_str())
        })
        .map(|c| c.subject.clone())
        .collect();
    let mut want = leave.clone();
    want.sort();
    let mut got = removed.clone();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(report.run.changes as usize, changes.len());

    // Search follows the rename, and still finds by name the users whose other fields changed.
    let found = |text: String| {
        let store = &b.store;
        async move {
            store
                .search(text, None, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|h| h.kind == "user")
                .map(|h| (h.key, h.title))
                .collect::<std::collections::BTreeMap<String, String>>()
        }
    };
    let name_of = |email: &str| {
        view.users
            .iter()
            .find(|u| u.username == email)
            .unwrap()
            .fullname
            .clone()
    };
    let renamed = found("Renamed Person".into()).await;
    assert_eq!(renamed[&active[4]], "Renamed Person");
    let local = active[4].split('@').next().unwrap().to_string();
    assert_eq!(
        found(local).await[&active[4]],
        "Renamed Person",
        "the old name is gone"
    );
    for changed in [&active[0], &active[1], &active[3], &active[7]] {
        assert_eq!(
            found(name_of(changed)).await.get(changed.as_str()),
            Some(&name_of(changed)),
            "{changed} is no longer found by name"
        );
    }

    // A resync right after finds nothing new; the deprovisioned user is kept with that status.
    let again = b.sync_at(t(2, 2)).await.unwrap();
    assert_eq!(again.run.changes, 0, "{:?}", again.changes_by_kind);
    let gone = b
        .store
        .list_users(lpgate_store::UserQuery {
            status: Some("deprovisioned".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].email, active[6]);
    assert_eq!(
        gone[0].last_seen,
        t(1, 1),
        "last seen at the last sync that still listed them"
    );

    // Coming back is a restore, not a second creation.
    c.batch_add(&[NewUser::new(active[6].clone())])
        .await
        .unwrap();
    let back = b.sync_at(t(3, 1)).await.unwrap();
    assert_eq!(
        back.changes_by_kind
            .get(&lpgate_domain::ChangeKind::UserRestored),
        Some(&1)
    );
    assert_eq!(
        back.changes_by_kind
            .get(&lpgate_domain::ChangeKind::UserCreated),
        None
    );
}

both!(every_change_kind_is_recorded_once,);
