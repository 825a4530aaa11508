//! SCIM requests replayed in the shapes identity providers document them (Entra ID's
//! provisioning service, Okta's SCIM 2.0 connector, OneLogin's SCIM provisioner), each
//! checked against LastPass's state in the emulator; and the removal limits over a window of
//! SCIM deactivations, and DELETE as deprovision.

use serde_json::json;

use crate::scim::{ENTERPRISE, GROUP, Scim, USER, error, lp_user, setup, urlencode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_id_replay() {
    let (env, server, token) = setup(20, "").await;
    let scim = Scim {
        server: &server,
        token,
    };
    // Entra first looks the user up by its matching attribute, then creates it.
    let r = scim
        .get(&format!(
            "/Users?filter={}",
            urlencode(r#"userName eq "Test_User_ab64@testuser.com""#)
        ))
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = scim
        .post("/Users", json!({
            "schemas": [USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab64@testuser.com",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_ab64@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
            ENTERPRISE: {"employeeNumber": "E-17", "department": "Finance"}
        }))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let email = "test_user_ab64@testuser.com";
    assert_eq!(
        lp_user(&env, email).unwrap().fullname,
        "givenName familyName"
    );
    // Entra's update: capitalised ops, one per attribute.
    let r = scim
        .patch(&format!("/Users/{id}"), json!([
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "Test_User_ab64@testuser.com"},
            {"op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Treasury"}
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let lp = lp_user(&env, email).unwrap();
    assert_eq!(lp.fullname, "givenName updatedFamilyName");
    assert_eq!(lp.attribs["Department"], "Treasury");
    // Entra disables with a string boolean.
    let r = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(lp_user(&env, email).unwrap().disabled);
    let r = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!lp_user(&env, email).unwrap().disabled);

    // Groups: looked up by displayName without members, created, members added and removed
    // with value arrays, and removed by value filter.
    let r = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            urlencode(r#"displayName eq "Group1DisplayName""#)
        ))
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = scim
        .post("/Groups", json!({"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1DisplayName",
            "meta": {"resourceType": "Group"}, "members": [], "schemas": [GROUP]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    let other = scim
        .get("/Users?count=2&filter=active%20eq%20true%20and%20not%20(externalId%20pr)")
        .await
        .body["Resources"]
        .clone();
    let other_id = other[0]["id"].as_str().unwrap().to_string();
    let other_email = other[0]["userName"].as_str().unwrap().to_string();
    let r = scim
        .patch(&format!("/Groups/{gid}"), json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}, {"$ref": null, "value": other_id}]}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let members = env.emu.emulator().view().groups["Group1DisplayName"].clone();
    assert!(
        members.contains(&email.to_string()) && members.contains(&other_email),
        "{members:?}"
    );
    let r = scim
        .patch(&format!("/Groups/{gid}"), json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": other_id}]}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!env.emu.emulator().view().groups["Group1DisplayName"].contains(&other_email));
    let r = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": format!("members[value eq \"{id}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !env.emu
            .emulator()
            .view()
            .groups
            .contains_key("Group1DisplayName")
    );
    // The group stays in lpgate (no members) and can get members again.
    assert_eq!(scim.get(&format!("/Groups/{gid}")).await.status, 200);
    // Entra's soft delete is active=false; its hard delete after 30 days is DELETE.
    assert_eq!(scim.delete(&format!("/Users/{id}")).await.status, 204);
    assert!(lp_user(&env, email).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_replay() {
    let (env, server, token) = setup(20, "").await;
    let scim = Scim {
        server: &server,
        token,
    };
    let r = scim
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            urlencode(r#"userName eq "test.user@okta.local""#)
        ))
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = scim
        .post(
            "/Users",
            json!({
                "schemas": [USER], "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [], "password": "1mz050nq", "active": true
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("password").is_none());
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        lp_user(&env, "test.user@okta.local").unwrap().fullname,
        "Test User"
    );
    // Okta updates with PUT of the whole user, and deactivates the same way.
    let mut user = r.body.clone();
    user["name"]["familyName"] = json!("Userton");
    user["displayName"] = json!("Test Userton");
    let r = scim.put(&format!("/Users/{id}"), user.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        lp_user(&env, "test.user@okta.local").unwrap().fullname,
        "Test Userton"
    );
    user["active"] = json!(false);
    let r = scim.put(&format!("/Users/{id}"), user.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert!(lp_user(&env, "test.user@okta.local").unwrap().disabled);
    // …and reactivates with PATCH without a path.
    let r = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!lp_user(&env, "test.user@okta.local").unwrap().disabled);
    // Push Groups: create with members, PATCH members, PUT the group.
    let r = scim.post("/Groups", json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": [{"value": id, "display": "test.user@okta.local"}]})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        env.emu.emulator().view().groups["Test SCIMv2"],
        vec!["test.user@okta.local".to_string()]
    );
    let r = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!env.emu.emulator().view().groups.contains_key("Test SCIMv2"));
    let r = scim.put(&format!("/Groups/{gid}"), json!({"schemas": [GROUP], "id": gid, "displayName": "Test SCIMv2", "members": [{"value": id}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        env.emu.emulator().view().groups["Test SCIMv2"],
        vec!["test.user@okta.local".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_over_the_limit_in_a_window_are_held_and_delete_can_deprovision() {
    let config = "\n[act.accounts.acme]\nmax_removals = 2\n\n[act.accounts.acme.scim]\ndelete = \"deprovision\"\n";
    let (env, server, token) = setup(30, config).await;
    let scim = Scim {
        server: &server,
        token,
    };
    let users = scim.get("/Users?count=4&filter=active%20eq%20true%20and%20urn%3Alpgate%3Aparams%3Ascim%3Aschemas%3Aextension%3Alastpass%3A2.0%3AUser%3Aadmin%20eq%20false").await.body["Resources"].clone();
    let ids: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4);
    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    for id in &ids[..2] {
        assert_eq!(
            scim.patch(&format!("/Users/{id}"), off.clone())
                .await
                .status,
            200
        );
    }
    // The third deactivation in the window goes over max_removals = 2: held.
    let r = scim.patch(&format!("/Users/{}", ids[2]), off.clone()).await;
    error(&r, 503, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("awaits approval"),
        "{}",
        r.body
    );
    assert!(
        !lp_user(&env, users[2]["userName"].as_str().unwrap())
            .unwrap()
            .disabled
    );
    // DELETE deprovisions (deluser 2) here; it is a removal too, so it is held as well.
    let r = scim.delete(&format!("/Users/{}", ids[3])).await;
    error(&r, 503, None);
    let plans = env.json(&["plans", "list"]).await;
    let held: Vec<String> = plans
        .iter()
        .filter(|p| p["state"] == "held")
        .map(|p| p["id"].to_string())
        .collect();
    assert_eq!(held.len(), 2, "{plans:?}");
    for p in &held {
        env.ok(&["approve", p, "--by", "secops"]).await;
    }
    assert_eq!(
        scim.patch(&format!("/Users/{}", ids[2]), off).await.status,
        200
    );
    assert!(
        lp_user(&env, users[2]["userName"].as_str().unwrap())
            .unwrap()
            .disabled
    );
    assert_eq!(scim.delete(&format!("/Users/{}", ids[3])).await.status, 204);
    let email = users[3]["userName"].as_str().unwrap();
    assert!(lp_user(&env, email).is_none());
    let items = env
        .ok(&["plans", "show", &held[0], "--format", "json"])
        .await; // newest first: the DELETE
    assert!(items.contains("deprovision"), "{items}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_follow_other_processes_and_concurrent_writes_serialise() {
    let (env, server, token) = setup(20, "").await;
    let scim = Scim {
        server: &server,
        token,
    };
    let user = env
        .emu
        .emulator()
        .view()
        .users
        .iter()
        .find(|u| !u.admin && !u.disabled)
        .unwrap()
        .username
        .clone();
    let q = format!(
        "/Users?filter={}",
        urlencode(&format!(r#"userName eq "{user}""#))
    );
    let lp = "urn:lpgate:params:scim:schemas:extension:lastpass:2.0:User";
    // Read twice (the second from the cache), then change LastPass and sync from another
    // process: the next read shows the change at once.
    assert_eq!(scim.get(&q).await.body["Resources"][0][lp]["admin"], false);
    assert_eq!(scim.get(&q).await.body["Resources"][0][lp]["admin"], false);
    env.emu.emulator().set_admin(&user, true).unwrap();
    env.ok(&["sync", "acme"]).await;
    assert_eq!(scim.get(&q).await.body["Resources"][0][lp]["admin"], true);

    // Identity providers send writes concurrently: each is applied, one at a time.
    let post = |i: usize| {
        scim.post("/Users", json!({"schemas": [USER], "userName": format!("burst{i}@example.com"), "displayName": format!("Burst {i}")}))
    };
    let (a, b, c, d, e, f) = tokio::join!(post(0), post(1), post(2), post(3), post(4), post(5));
    let replies = [a, b, c, d, e, f];
    for r in &replies {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    for i in 0..6 {
        assert_eq!(
            lp_user(&env, &format!("burst{i}@example.com"))
                .unwrap()
                .fullname,
            format!("Burst {i}")
        );
    }
    let r = scim
        .post(
            "/Groups/.search",
            json!({"filter": "displayName pr", "count": 1, "excludedAttributes": ["members"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["itemsPerPage"], 1);
}
