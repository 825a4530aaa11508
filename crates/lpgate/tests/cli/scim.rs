//! The SCIM 2.0 server over real HTTP (`lpgate serve` against the emulator, a SQLite store
//! synced from it): a conformance walk through RFC 7643/7644 (discovery, every endpoint,
//! filter operators, paging, sorting, attribute selection, PATCH forms, ETags, error types),
//! round trips that check LastPass's state in the emulator after each call, held changes
//! answered 503 until approved, and request bodies shaped as Okta, Entra ID and OneLogin
//! send them.

use serde_json::{Value, json};

use crate::helpers::Env;
use crate::serve::{Server, start};

pub(crate) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub(crate) const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub(crate) struct Scim<'a> {
    pub(crate) server: &'a Server,
    pub(crate) token: String,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) headers: reqwest::header::HeaderMap,
}

impl Scim<'_> {
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let client = reqwest::Client::new();
        let url = format!("{}/scim/v2{path}", self.server.base);
        let mut req = client
            .request(method.parse().unwrap(), url)
            .bearer_auth(&self.token);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        if !text.is_empty() {
            assert_eq!(
                headers["content-type"], "application/scim+json",
                "{method} {path}"
            );
        }
        Reply {
            status,
            body,
            headers,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None, &[]).await
    }
    pub(crate) async fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body), &[]).await
    }
    pub(crate) async fn put(&self, path: &str, body: Value) -> Reply {
        self.call("PUT", path, Some(body), &[]).await
    }
    pub(crate) async fn patch(&self, path: &str, ops: Value) -> Reply {
        self.call(
            "PATCH",
            path,
            Some(json!({"schemas": [PATCH], "Operations": ops})),
            &[],
        )
        .await
    }
    pub(crate) async fn delete(&self, path: &str) -> Reply {
        self.call("DELETE", path, None, &[]).await
    }
}

pub(crate) fn error(r: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(r.body["status"], status.to_string());
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{}", r.body);
    }
}

pub(crate) async fn setup(users: usize, config: &str) -> (Env, Server, String) {
    let env = crate::helpers::env(users).await;
    env.linked().await;
    if !config.is_empty() {
        let p = env.data().join("lpgate.toml");
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str(config);
        std::fs::write(&p, text).unwrap();
    }
    env.ok(&["sync", "acme"]).await;
    let token = env
        .ok(&["scim", "token", "create", "--account", "acme"])
        .await
        .trim()
        .to_string();
    let server = start(&env).await;
    (env, server, token)
}

pub(crate) fn lp_user(env: &Env, email: &str) -> Option<lpgate_emulator::UserView> {
    env.emu
        .emulator()
        .view()
        .users
        .into_iter()
        .find(|u| u.username == email)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_tokens_discovery_and_auth() {
    let (env, server, token) = setup(20, "").await;
    let scim = Scim {
        server: &server,
        token: token.clone(),
    };
    // Discovery is accurate about what is supported.
    let r = scim.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["patch"]["supported"], true);
    assert_eq!(r.body["bulk"]["supported"], false);
    assert_eq!(r.body["filter"]["supported"], true);
    assert_eq!(r.body["filter"]["maxResults"], 1000);
    assert_eq!(r.body["sort"]["supported"], true);
    assert_eq!(r.body["etag"]["supported"], true);
    assert_eq!(r.body["changePassword"]["supported"], false);
    let r = scim.get("/ResourceTypes").await;
    assert_eq!(r.body["totalResults"], 2);
    assert_eq!(
        r.body["Resources"][0]["schemaExtensions"][0]["schema"],
        ENTERPRISE
    );
    assert_eq!(scim.get("/ResourceTypes/Group").await.body["schema"], GROUP);
    let r = scim.get("/Schemas").await;
    let ids: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&USER) && ids.contains(&GROUP) && ids.contains(&ENTERPRISE),
        "{ids:?}"
    );
    let user_schema = scim.get(&format!("/Schemas/{USER}")).await.body;
    let user_name = user_schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["mutability"], "immutable");
    error(&scim.get("/Schemas/urn:nope").await, 404, None);
    error(&scim.post("/Bulk", json!({})).await, 501, None);
    error(&scim.put("/Users", json!({})).await, 405, None);
    error(&scim.get("/Nope").await, 404, None);
    let huge =
        json!({"schemas": [USER], "userName": "big@example.com", "title": "x".repeat(1_100_000)});
    error(&scim.post("/Users", huge).await, 413, None);
    let r = scim
        .call("POST", "/Users", Some(json!("not an object")), &[])
        .await;
    error(&r, 400, Some("invalidSyntax"));

    // No token, a REST token, a token for all accounts: 401 / 403 in SCIM's format.
    let anon = Scim {
        server: &server,
        token: String::new(),
    };
    let r = anon.call("GET", "/Users", None, &[]).await;
    error(&r, 401, None);
    let read = crate::serve::token(&env, "reader", "read", Some("acme")).await;
    error(
        &Scim {
            server: &server,
            token: read,
        }
        .get("/Users")
        .await,
        403,
        None,
    );
    let unbound = crate::serve::token(&env, "idp-all", "scim", None).await;
    let r = Scim {
        server: &server,
        token: unbound,
    }
    .get("/Users")
    .await;
    error(&r, 403, None);
    assert!(r.body["detail"].as_str().unwrap().contains("--account"));
    // A SCIM token cannot read the REST API.
    assert_eq!(
        crate::serve::get(&server, Some(&token), "/v1/users")
            .await
            .0,
        403
    );

    // A second create is refused; a reset works at once and the old token stops at once.
    assert_eq!(scim.get("/Users?count=1").await.status, 200);
    let out = env
        .run(&["scim", "token", "create", "--account", "acme"])
        .await;
    assert!(!out.status.success());
    let new = env
        .ok(&["scim", "token", "reset", "--account", "acme"])
        .await;
    let new = new.trim();
    assert!(new.starts_with("lpg_") && !new.contains('\n'));
    error(&scim.get("/Users?count=1").await, 401, None);
    let fresh = Scim {
        server: &server,
        token: new.to_string(),
    };
    assert_eq!(fresh.get("/Users?count=1").await.status, 200);
    assert!(
        !env.run(&["scim", "token", "create", "--account", "nope"])
            .await
            .status
            .success()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_users_conformance_and_round_trips() {
    let (env, server, token) = setup(40, "").await;
    let scim = Scim {
        server: &server,
        token,
    };

    // Create (Okta's shape): batchadd with the name and Enterprise attributes.
    let r = scim
        .post(
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "userName": "Jane.Doe@Example.com",
                "externalId": "00u1abcd",
                "name": {"givenName": "Jane", "familyName": "Doe"},
                "emails": [{"primary": true, "value": "jane.doe@example.com", "type": "work"}],
                "title": "Engineer",
                "active": true,
                ENTERPRISE: {"department": "R&D", "employeeNumber": "1001"}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["userName"], "jane.doe@example.com");
    assert_eq!(r.body["externalId"], "00u1abcd");
    assert_eq!(r.body["title"], "Engineer");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(
        r.body["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/Users/{id}"))
    );
    assert_eq!(
        r.headers["location"],
        r.body["meta"]["location"].as_str().unwrap()
    );
    assert_eq!(
        r.headers["etag"],
        r.body["meta"]["version"].as_str().unwrap()
    );
    let lp = lp_user(&env, "jane.doe@example.com").expect("batchadd reached LastPass");
    assert_eq!(lp.fullname, "Jane Doe");
    assert_eq!(lp.attribs["Department"], "R&D");
    assert_eq!(lp.attribs["EmployeeNumber"], "1001");

    // GET by id and by filter show it (the store was refreshed before the reply).
    let r = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"]["givenName"], "Jane");
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    let r = scim
        .call(
            "GET",
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 304);
    let r = scim
        .get("/Users?filter=userName%20eq%20%22JANE.DOE%40example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], id);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let r = scim
        .get("/Users?filter=userName%20eq%20%22nobody%40example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));

    // A second POST of the same userName: 409 uniqueness.
    let r = scim
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "jane.doe@example.com"}),
        )
        .await;
    error(&r, 409, Some("uniqueness"));

    // Every filter operator, logic, grouping and value paths.
    let q = |f: &str| format!("/Users?count=1000&filter={}", urlencode(f));
    let total = |r: &Reply| r.body["totalResults"].as_u64().unwrap();
    let all = total(&scim.get("/Users?count=0").await);
    assert!(all >= 40, "{all}");
    for (f, expect) in [
        (r#"userName eq "jane.doe@example.com""#, Some(1)),
        (r#"userName ne "jane.doe@example.com""#, Some(all - 1)),
        (r#"userName co "jane.doe""#, Some(1)),
        (r#"userName sw "JANE.""#, Some(1)),
        (
            r#"userName ew "@example.com" and externalId eq "00u1abcd""#,
            Some(1),
        ),
        (r#"externalId pr"#, Some(1)),
        (r#"title eq "engineer""#, Some(1)),
        (
            r#"name.familyName eq "Doe" and not (active eq false)"#,
            Some(1),
        ),
        (r#"emails[type eq "work" and value co "jane"]"#, Some(1)),
        (&format!(r#"{ENTERPRISE}:department eq "R&D""#), Some(1)),
        (r#"meta.created gt "2000-01-01T00:00:00Z""#, Some(all)),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, Some(0)),
        (r#"userName gt "a" and userName le "zzzz""#, None),
        (
            r#"(userName sw "jane" or title pr) and active eq true"#,
            Some(1),
        ),
        (&format!(r#"id eq "{id}""#), Some(1)),
    ] {
        let r = scim.get(&q(f)).await;
        assert_eq!(r.status, 200, "{f}: {}", r.body);
        if let Some(n) = expect {
            assert_eq!(total(&r), n, "{f}");
        }
    }
    // ge/lt/le on userName agree with each other.
    let ge = total(&scim.get(&q(r#"userName ge "m""#)).await);
    let lt = total(&scim.get(&q(r#"userName lt "m""#)).await);
    assert_eq!(ge + lt, all);
    // Bad filters: invalidFilter naming the problem.
    for bad in [r#"userName eq "x"#, "userName zz 3", "active gt true"] {
        error(&scim.get(&q(bad)).await, 400, Some("invalidFilter"));
    }

    // Paging, sorting, attributes.
    let r = scim
        .get("/Users?startIndex=3&count=5&sortBy=userName&sortOrder=descending&attributes=userName")
        .await;
    assert_eq!(r.body["startIndex"], 3);
    assert_eq!(r.body["itemsPerPage"], 5);
    assert_eq!(r.body["totalResults"], all);
    let names: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    assert_eq!(
        r.body["Resources"][0].as_object().unwrap().len(),
        3,
        "{}",
        r.body
    ); // schemas, id, userName
    let r = scim
        .get("/Users?sortBy=name.familyName&count=1000&excludedAttributes=emails,groups")
        .await;
    assert!(r.body["Resources"][0].get("emails").is_none());
    // POST /.search
    let r = scim
        .post("/Users/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "externalId eq \"00u1abcd\"", "attributes": ["userName", "externalId"], "startIndex": 1, "count": 10}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["Resources"][0]["externalId"], "00u1abcd");

    // PATCH, Entra's shape: capitalised ops, booleans as strings, paths with URNs.
    let r = scim
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "name.givenName", "value": "Janet"},
                {"op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Sales"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "jane.doe@example.com"},
                {"op": "Replace", "path": "active", "value": "False"}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"]["givenName"], "Janet");
    assert_eq!(r.body["active"], false);
    let lp = lp_user(&env, "jane.doe@example.com").unwrap();
    assert_eq!(lp.fullname, "Janet Doe");
    assert_eq!(lp.attribs["Department"], "Sales");
    assert!(lp.disabled, "active=false suspends (deluser 0)");
    // Re-enable (Okta's PUT carries the whole user).
    let mut body = scim.get(&format!("/Users/{id}")).await.body;
    body["active"] = json!(true);
    let r = scim.put(&format!("/Users/{id}"), body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!lp_user(&env, "jane.doe@example.com").unwrap().disabled);
    // Okta deactivates with PUT active:false.
    body["active"] = json!(false);
    assert_eq!(
        scim.put(&format!("/Users/{id}"), body.clone()).await.status,
        200
    );
    assert!(lp_user(&env, "jane.doe@example.com").unwrap().disabled);

    // userName cannot change; read-only attributes cannot be patched; bad values name the attribute.
    body["userName"] = json!("other@example.com");
    error(
        &scim.put(&format!("/Users/{id}"), body).await,
        400,
        Some("mutability"),
    );
    error(
        &scim
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "replace", "path": "userName", "value": "x@example.com"}]),
            )
            .await,
        400,
        Some("mutability"),
    );
    error(
        &scim
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
            )
            .await,
        400,
        Some("mutability"),
    );
    error(
        &scim
            .patch(&format!("/Users/{id}"), json!([{"op": "remove"}]))
            .await,
        400,
        Some("noTarget"),
    );
    error(
        &scim
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            )
            .await,
        400,
        Some("noTarget"),
    );
    error(
        &scim
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "replace", "path": "emails[type", "value": "x"}]),
            )
            .await,
        400,
        Some("invalidPath"),
    );
    let r = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
        )
        .await;
    error(&r, 400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains("active"));
    let r = scim
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "no-at-sign"}),
        )
        .await;
    error(&r, 400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains("userName"));
    let r = scim.call("POST", "/Users", Some(json!("{")), &[]).await;
    assert_eq!(r.status, 400);
    error(&scim.get("/Users/999999").await, 404, None);
    error(&scim.get("/Users/abc").await, 404, None);

    // If-Match: a stale version is 412 and nothing changes.
    let r = scim
        .call("PATCH", &format!("/Users/{id}"), Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "X"}]})), &[("if-match", "W/\"0000\"")])
        .await;
    error(&r, 412, None);
    assert_eq!(
        lp_user(&env, "jane.doe@example.com").unwrap().fullname,
        "Janet Doe"
    );
    let v = scim.get(&format!("/Users/{id}")).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let r = scim
        .call("PATCH", &format!("/Users/{id}"), Some(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Janet Q. Doe"}]})), &[("if-match", &v)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        lp_user(&env, "jane.doe@example.com").unwrap().fullname,
        "Janet Q. Doe"
    );
    assert_ne!(r.headers["etag"].to_str().unwrap(), v);

    // An existing LastPass user is linked and updated by POST, as LastPass does.
    let existing = env
        .emu
        .emulator()
        .view()
        .users
        .iter()
        .find(|u| !u.admin && !u.disabled)
        .unwrap()
        .username
        .clone();
    let r = scim.post("/Users", json!({"schemas": [USER], "userName": existing, "displayName": "Linked Person", "externalId": "ext-9"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(lp_user(&env, &existing).unwrap().fullname, "Linked Person");

    // DELETE removes (deluser 1): gone from LastPass and from SCIM.
    assert_eq!(scim.delete(&format!("/Users/{id}")).await.status, 204);
    assert!(lp_user(&env, "jane.doe@example.com").is_none());
    error(&scim.get(&format!("/Users/{id}")).await, 404, None);
    error(&scim.delete(&format!("/Users/{id}")).await, 404, None);

    // Everything was audited with the SCIM client as actor.
    let out = env.ok(&["audit", "--format", "json"]).await;
    let audit: Vec<Value> = serde_json::from_str(&out).unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .filter(|a| a["actor"] == "scim:scim-acme")
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in ["provision", "update", "suspend", "enable", "remove"] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_groups_round_trips() {
    let (env, server, token) = setup(30, "").await;
    let scim = Scim {
        server: &server,
        token,
    };
    let users = scim
        .get("/Users?count=3&filter=active%20eq%20true")
        .await
        .body["Resources"]
        .clone();
    let ids: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let emails: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();

    // A group without members lives in lpgate only.
    let r = scim
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "SCIM Pilots", "externalId": "grp-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["members"], json!([]));
    assert!(!env.emu.emulator().view().groups.contains_key("SCIM Pilots"));
    let r = scim
        .get("/Groups?filter=displayName%20eq%20%22scim%20pilots%22")
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["externalId"], "grp-1");
    error(
        &scim
            .post(
                "/Groups",
                json!({"schemas": [GROUP], "displayName": "scim pilots"}),
            )
            .await,
        409,
        Some("uniqueness"),
    );

    // Members added by PATCH (batchchangegrp): the group now exists in LastPass.
    let r = scim
        .patch(&format!("/Groups/{gid}"), json!([{"op": "Add", "path": "members", "value": [{"value": ids[0]}, {"value": ids[1]}]}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    let lp = env.emu.emulator().view().groups["SCIM Pilots"].clone();
    assert!(lp.contains(&emails[0]) && lp.contains(&emails[1]), "{lp:?}");
    let u = scim.get(&format!("/Users/{}", ids[0])).await.body;
    assert!(
        u["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["value"] == gid.as_str())
    );
    let r = scim
        .get(&format!(
            "/Groups?filter=members%5Bvalue%20eq%20%22{}%22%5D&excludedAttributes=members",
            ids[1]
        ))
        .await;
    assert!(
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == gid.as_str()),
        "{}",
        r.body
    );

    // Entra removes a member by value filter; removing one that is not there is fine.
    let r = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": format!("members[value eq \"{}\"]", ids[0])}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!env.emu.emulator().view().groups["SCIM Pilots"].contains(&emails[0]));
    assert_eq!(
        scim.patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}])
        )
        .await
        .status,
        200
    );
    // PUT replaces the member list.
    let r = scim
        .put(&format!("/Groups/{gid}"), json!({"schemas": [GROUP], "displayName": "SCIM Pilots", "externalId": "grp-1", "members": [{"value": ids[2]}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        env.emu.emulator().view().groups["SCIM Pilots"],
        vec![emails[2].clone()]
    );
    // Renames and unknown members are refused.
    error(
        &scim
            .patch(
                &format!("/Groups/{gid}"),
                json!([{"op": "replace", "path": "displayName", "value": "Other"}]),
            )
            .await,
        400,
        Some("mutability"),
    );
    error(
        &scim
            .patch(
                &format!("/Groups/{gid}"),
                json!([{"op": "add", "path": "members", "value": [{"value": "987654"}]}]),
            )
            .await,
        400,
        Some("invalidValue"),
    );
    // DELETE: everyone leaves; the group is gone from LastPass and from SCIM.
    assert_eq!(scim.delete(&format!("/Groups/{gid}")).await.status, 204);
    assert!(!env.emu.emulator().view().groups.contains_key("SCIM Pilots"));
    error(&scim.get(&format!("/Groups/{gid}")).await, 404, None);
    // LastPass's own groups are listed.
    let r = scim
        .get("/Groups?excludedAttributes=members&sortBy=displayName")
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body["totalResults"].as_u64().unwrap() >= 1, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_held_changes_wait_for_approval_and_onelogin_flow() {
    let config = "\n[act.accounts.acme.scim]\nrequire_approval = [\"deactivate\"]\n";
    let (env, server, token) = setup(20, config).await;
    let scim = Scim {
        server: &server,
        token,
    };
    // OneLogin: create, update, deactivate.
    let r = scim
        .post("/Users", json!({"schemas": [USER], "userName": "ol.user@example.com", "externalId": "9001",
            "name": {"givenName": "One", "familyName": "Login"}, "displayName": "One Login", "active": true}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = scim
        .put(
            &format!("/Users/{id}"),
            json!({"schemas": [USER], "userName": "ol.user@example.com", "externalId": "9001",
            "name": {"givenName": "One", "familyName": "Login-Updated"}, "active": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        lp_user(&env, "ol.user@example.com").unwrap().fullname,
        "One Login-Updated"
    );
    // Deactivation needs approval here: 503, Retry-After, nothing sent.
    let deactivate = json!([{"op": "replace", "path": "active", "value": false}]);
    let r = scim
        .patch(&format!("/Users/{id}"), deactivate.clone())
        .await;
    error(&r, 503, None);
    assert!(r.headers.contains_key("retry-after"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("awaits approval"), "{detail}");
    assert!(!lp_user(&env, "ol.user@example.com").unwrap().disabled);
    // The retry finds the same plan (still held).
    error(
        &scim
            .patch(&format!("/Users/{id}"), deactivate.clone())
            .await,
        503,
        None,
    );
    let plans = env.json(&["plans", "list"]).await;
    let held: Vec<&Value> = plans.iter().filter(|p| p["state"] == "held").collect();
    assert_eq!(held.len(), 1, "{plans:?}");
    let plan = held[0]["id"].as_i64().unwrap().to_string();
    env.ok(&["approve", &plan, "--by", "alice"]).await;
    let r = scim.patch(&format!("/Users/{id}"), deactivate).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert!(lp_user(&env, "ol.user@example.com").unwrap().disabled);
    let plans = env.json(&["plans", "list"]).await;
    assert_eq!(
        plans
            .iter()
            .filter(|p| p["source"].as_str().unwrap_or("").contains("active")
                || p["created_by"] == "scim:scim-acme")
            .count(),
        3,
        "{plans:?}"
    );
}
