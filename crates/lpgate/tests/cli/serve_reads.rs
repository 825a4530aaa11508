//! The read endpoints beyond users and groups, over real HTTP against a store synced from the
//! emulator, checked against the emulator's own view: roles, the role and updated_since
//! filters, group members, folders, events.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::env;
use crate::serve::{Server, emu_call, get, second_account, start, token};

/// Every row of a paged list, following `next_cursor`.
async fn walk(s: &Server, token: &str, path: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    for _ in 0..1000 {
        let url = match &cursor {
            None => path.to_string(),
            Some(c) => format!("{path}{sep}cursor={c}"),
        };
        let (status, page) = get(s, Some(token), &url).await;
        assert_eq!(status, 200, "{url}: {page}");
        rows.extend(page["result"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            return rows;
        }
    }
    panic!("runaway pagination on {path}");
}

fn emails(rows: &[Value]) -> BTreeSet<String> {
    rows.iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_members_folders_events_and_filters_match_the_emulator() {
    let env = env(80).await;
    env.linked().await;
    let _beta = second_account(&env).await;
    env.ok(&["sync", "--all"]).await;
    let admin = token(&env, "admin", "admin", None).await;
    let acme = token(&env, "acme-read", "read", Some("acme")).await;
    let server = start(&env).await;
    let view = env.emu.emulator().view();

    // Roles: the two LastPass roles, and each user's own.
    let (status, roles) = get(&server, Some(&acme), "/v1/roles").await;
    assert_eq!(status, 200, "{roles}");
    let ids: Vec<&str> = roles["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["admin", "user"]);
    assert!(roles["next_cursor"].is_null());

    // role=admin / role=user are exactly the emulator's admins and the others.
    let admins = emails(&walk(&server, &acme, "/v1/users?role=admin&limit=7").await);
    let expected: BTreeSet<String> = view
        .users
        .iter()
        .filter(|u| u.admin)
        .map(|u| u.username.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(admins, expected);
    let others = emails(&walk(&server, &acme, "/v1/users?role=user").await);
    // Invited addresses are users too (staged), never admins.
    let expected: BTreeSet<String> = view
        .users
        .iter()
        .filter(|u| !u.admin)
        .map(|u| u.username.clone())
        .chain(view.invited.iter().cloned())
        .collect();
    assert_eq!(
        others.symmetric_difference(&expected).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
    let (_, all) = get(&server, Some(&acme), "/v1/users?limit=1000").await;
    for u in all["result"].as_array().unwrap().iter().take(10) {
        let (status, r) = get(
            &server,
            Some(&acme),
            &format!("/v1/users/{}/roles", u["id"]),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["result"].as_array().unwrap().len(), 1);
        assert_eq!(r["result"][0]["id"], u["role"]);
    }

    // Group members: every acme group, walked in small pages, is the emulator's group.
    let (_, groups) = get(&server, Some(&acme), "/v1/groups").await;
    let groups = groups["result"].as_array().unwrap().clone();
    assert_eq!(groups.len(), view.groups.len());
    for g in &groups {
        let name = g["name"].as_str().unwrap();
        let members = emails(
            &walk(
                &server,
                &acme,
                &format!("/v1/groups/{}/members?limit=3", g["id"].as_str().unwrap()),
            )
            .await,
        );
        let expected: BTreeSet<String> = view.groups[name].iter().cloned().collect();
        assert_eq!(members, expected, "group {name}");
        assert_eq!(g["members"].as_u64().unwrap() as usize, expected.len());
    }

    // Folders: ids, names, member counts as the emulator has them.
    let (status, folders) = get(&server, Some(&acme), "/v1/folders").await;
    assert_eq!(status, 200, "{folders}");
    let got: BTreeSet<(String, String, u64, bool)> = folders["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["account"], "acme");
            (
                f["id"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
                f["members"].as_u64().unwrap(),
                f["deleted"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, u64, bool)> = view
        .folders
        .iter()
        .map(|f| {
            (
                f.id.to_string(),
                f.name.clone(),
                f.members.len() as u64,
                f.deleted,
            )
        })
        .collect();
    assert_eq!(got, expected);

    // Events: newest first, acme's only, no more than the emulator logged; since filters.
    let (status, events) = get(&server, Some(&acme), "/v1/events?limit=1000").await;
    assert_eq!(status, 200, "{events}");
    let events = events["result"].as_array().unwrap().clone();
    assert!(!events.is_empty());
    assert!(events.len() <= view.event_count);
    assert!(events.iter().all(|e| e["account"] == "acme"));
    let times: Vec<chrono::DateTime<chrono::Utc>> = events
        .iter()
        .map(|e| e["time"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let cut = times[times.len() / 2];
    let (_, recent) = get(
        &server,
        Some(&acme),
        &format!(
            "/v1/events?limit=1000&since={}",
            cut.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .replace('+', "%2B")
        ),
    )
    .await;
    let recent = recent["result"].as_array().unwrap();
    assert_eq!(recent.len(), times.iter().filter(|t| **t >= cut).count());
    let (_, two) = get(&server, Some(&acme), "/v1/events?limit=2").await;
    assert_eq!(two["result"].as_array().unwrap().len(), 2);

    // updated_since: after a change and a sync, exactly the changed users.
    let before = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let promoted = view
        .users
        .iter()
        .find(|u| !u.admin && !u.disabled)
        .unwrap()
        .username
        .clone();
    env.emu.emulator().set_admin(&promoted, true).unwrap();
    emu_call(
        &env,
        "batchadd",
        serde_json::json!([{"username": "fresh.hire@example.com", "fullname": "Fresh Hire"}]),
    );
    env.ok(&["sync", "acme"]).await;
    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let changed = emails(&walk(&server, &acme, &format!("/v1/users?updated_since={since}")).await);
    assert_eq!(
        changed,
        BTreeSet::from([promoted.clone(), "fresh.hire@example.com".to_string()])
    );
    let admins_changed = emails(
        &walk(
            &server,
            &acme,
            &format!("/v1/users?updated_since={since}&role=admin"),
        )
        .await,
    );
    assert_eq!(admins_changed, BTreeSet::from([promoted]));
    let (_, none) = get(
        &server,
        Some(&acme),
        "/v1/users?updated_since=1m&role=admin&q=fresh",
    )
    .await;
    assert!(none["result"].as_array().unwrap().is_empty());

    // Isolation: beta's group and user are 404 to the acme token, visible to the admin one.
    let (_, every) = get(&server, Some(&admin), "/v1/groups").await;
    let beta_group = every["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["account"] == "beta")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/groups/{beta_group}/members");
    assert_eq!(get(&server, Some(&admin), &path).await.0, 200);
    let (status, body) = get(&server, Some(&acme), &path).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        get(&server, Some(&acme), "/v1/groups/nope/members").await.0,
        404
    );
    let (_, users) = get(&server, Some(&admin), "/v1/users?account=beta&limit=1").await;
    let beta_user = users["result"][0]["id"].to_string();
    let path = format!("/v1/users/{beta_user}/roles");
    assert_eq!(get(&server, Some(&admin), &path).await.0, 200);
    assert_eq!(get(&server, Some(&acme), &path).await.0, 404);
    let (_, folders) = get(&server, Some(&admin), "/v1/folders?account=beta").await;
    assert!(!folders["result"].as_array().unwrap().is_empty());
    assert_eq!(
        get(&server, Some(&acme), "/v1/folders?account=beta")
            .await
            .0,
        400
    );
    assert_eq!(
        get(&server, Some(&acme), "/v1/events?account=beta").await.0,
        400
    );

    // Bad input names the field.
    for (path, field) in [
        ("/v1/users?role=owner", "role"),
        ("/v1/users?role=admin&admin=false", "role"),
        ("/v1/users?updated_since=last-week", "updated_since"),
        ("/v1/events?since=soon", "since"),
        ("/v1/events?limit=0", "limit"),
        ("/v1/folders?colour=red", "colour"),
        ("/v1/roles?x=1", "x"),
        ("/v1/groups/x/members?cursor=zz!", "cursor"),
    ] {
        let (status, body) = get(&server, Some(&admin), path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["field"], field, "{path}: {body}");
    }
}
