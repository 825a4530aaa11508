//! sync, users, groups, folders, changes, events and their output formats.

use crate::helpers::env;

#[tokio::test]
async fn sync_then_list_in_every_format() {
    let e = env(60).await;
    e.linked().await;
    let first = e.json(&["sync", "acme"]).await;
    assert_eq!(first[0]["outcome"], "succeeded");
    assert_eq!(first[0]["baseline"], true);
    assert_eq!(first[0]["users"], 60);

    let view = e.emu.emulator().view();
    let target = view
        .users
        .iter()
        .find(|u| !u.admin && !u.disabled)
        .unwrap()
        .username
        .clone();
    e.emu.emulator().set_admin(&target, true).unwrap();
    let second = e.json(&["sync", "--all"]).await;
    // Admins are listed as super admins in their shared folders, so that flag changes too.
    let kinds = second[0]["changes_by_kind"].as_str().unwrap();
    assert!(kinds.contains("user.admin_granted 1"), "{second:?}");

    let users = e.json(&["users"]).await;
    assert!(users.len() >= 60);
    for key in [
        "account",
        "email",
        "status",
        "role",
        "last_login",
        "multifactor",
        "groups",
        "first_seen",
        "last_seen",
    ] {
        assert!(users[0].get(key).is_some(), "missing {key}");
    }
    let admins = e.json(&["users", "--admin", "--account", "acme"]).await;
    assert!(admins.iter().any(|u| u["email"] == target.as_str()));
    assert!(admins.iter().all(|u| u["role"] == "admin"));
    let suspended = e.json(&["users", "--status", "Suspended"]).await;
    assert_eq!(
        suspended.len(),
        view.users.iter().filter(|u| u.disabled).count()
    );
    let group = view.groups.keys().next().unwrap().clone();
    let members = e.json(&["users", "--group", &group]).await;
    assert_eq!(members.len(), view.groups[&group].len());

    let changes = e
        .json(&["changes", "--since", "1d", "--kind", "user.admin_granted"])
        .await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["subject"], target.as_str());
    let bad = e.run(&["changes", "--kind", "user.promoted"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        crate::helpers::text(&bad).contains("user.admin_granted"),
        "lists the valid kinds"
    );

    let groups = e.json(&["groups"]).await;
    assert_eq!(groups.len(), view.groups.len());
    let folders = e.json(&["folders"]).await;
    assert_eq!(folders.len(), view.folders.len());
    let events = e.json(&["events", "--limit", "5"]).await;
    assert_eq!(events.len(), 5);
    assert!(events.iter().any(|ev| ev["action"] == "Make Admin"));

    // CSV: a header row and one row per user; the table has the same rows.
    let csv = e.ok(&["users", "--format", "csv"]).await;
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("account,email,"));
    assert_eq!(lines.count(), users.len());
    let table = e.ok(&["users"]).await;
    assert_eq!(table.lines().count(), users.len() + 2);

    // --as-of a time before the second sync: the target was not yet an admin.
    let before = first_run_time(&e).await;
    let then = e.json(&["users", "--admin", "--as-of", &before]).await;
    assert!(!then.iter().any(|u| u["email"] == target.as_str()));
}

async fn first_run_time(e: &crate::helpers::Env) -> String {
    let users = e.json(&["users"]).await;
    users[0]["first_seen"].as_str().unwrap().to_string()
}
