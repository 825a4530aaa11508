//! Every reply shape against the recorded fixtures: same keys, same JSON types per key,
//! recursively; exact bytes where the fixture is a fixed reply.

use serde_json::{Value, json};

use crate::common::*;

const USER_EXTRAS: &[(&str, &str)] = &[
    ("Users.#.multifactor", "string"),
    ("invited", "array"),
    ("invited[]", "string"),
];

fn trimmed(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &b[..end]
}

#[tokio::test]
async fn auth_errors_are_the_recorded_xml() {
    let h = Harness::generated(5, 1).await;
    let fixture = fixture_bytes("auth-error.xml");
    let bodies = [
        json!({"cid": CID, "provhash": "wrong", "cmd": "getuserdata"}),
        json!({"cid": CID + 1, "provhash": HASH, "cmd": "getuserdata"}),
        json!({"cid": CID, "cmd": "getuserdata"}),
        json!({"provhash": HASH, "cmd": "getuserdata"}),
        json!({"cid": "abc", "provhash": HASH, "cmd": "getuserdata"}),
    ];
    for b in bodies {
        let r = h
            .post_raw(serde_json::to_vec(&b).unwrap(), "application/json")
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type(), "text/xml;charset=UTF-8");
        assert_eq!(r.body, fixture, "for {b}");
    }
}

#[tokio::test]
async fn unparseable_bodies_get_invalid_request_xml() {
    let h = Harness::empty().await;
    for body in [&b"{not json"[..], b"", b"[1,2,3]", b"just some words"] {
        let r = h.post_raw(body.to_vec(), "application/json").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type(), "text/xml;charset=UTF-8");
        assert_eq!(
            r.body,
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lastpass rc=\"Invalid Request\"/>\n"
        );
    }
}

#[tokio::test]
async fn json_replies_are_labelled_text_xml() {
    let h = Harness::generated(5, 1).await;
    for (cmd, data) in [
        ("getuserdata", None),
        ("getsfdata", Some(json!("all"))),
        ("reporting", Some(json!({}))),
        ("batchadd", Some(json!([{"username": "new@example.com"}]))),
        ("nosuchcommand", None),
    ] {
        let r = h.call(cmd, data).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type(), "text/xml;charset=UTF-8", "{cmd}");
        r.json();
    }
}

#[tokio::test]
async fn getuserdata_full_listing_like_fixture() {
    let h = Harness::generated(40, 3).await;
    // Make sure every variant is present: a never-logged-in user in a group.
    h.cmd(
        "batchadd",
        json!([{"username": "fresh@example.com", "groups": ["Newcomers"]}]),
    )
    .await;
    let r = h.call("getuserdata", None).await.json();
    assert_like_fixture(&r, "getuserdata-full.json", USER_EXTRAS);
    assert_eq!(r["total"], r["count"]);
    let users = r["Users"].as_object().unwrap();
    assert_eq!(users.len() as u64, r["total"].as_u64().unwrap());
    // `groups` is omitted for users without groups on full listings.
    assert!(users.values().any(|u| u.get("groups").is_none()));
    assert!(users.values().all(|u| u.get("groups") != Some(&json!([]))));
    let fresh = users
        .values()
        .find(|u| u["username"] == "fresh@example.com")
        .unwrap();
    assert_eq!(fresh["last_login"], "");
    assert_eq!(fresh["totalscore"], Value::Null);
    assert_eq!(fresh["sites"], Value::Null);
    assert_eq!(fresh["mpstrength"], "0");
    assert_eq!(fresh["neverloggedin"], true);
    assert_eq!(fresh["password_reset_required"], true);
    // Field order as recorded: username first, then fullname, mpstrength, ...
    let keys: Vec<&str> = fresh
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(keys.contains(&"multifactor"));
    let raw = h.call("getuserdata", None).await.body;
    let text = String::from_utf8(raw).unwrap();
    let first_user = &text[text.find("\"Users\":{").unwrap()..];
    let order = [
        "username",
        "fullname",
        "mpstrength",
        "created",
        "last_pw_change",
        "last_login",
        "neverloggedin",
        "disabled",
        "admin",
        "totalscore",
        "duousername",
        "sites",
        "notes",
        "formfills",
        "applications",
        "attachments",
        "password_reset_required",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|k| first_user.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(text.starts_with("{\"total\":"));
}

#[tokio::test]
async fn getuserdata_page_like_fixture() {
    let h = Harness::generated(30, 4).await;
    let r = h
        .cmd("getuserdata", json!({"pagesize": 7, "pageindex": 0}))
        .await;
    let page = skeleton(&fixture("getuserdata-page.json"));
    let mut allowed = skeleton(&fixture("getuserdata-full.json"));
    for (k, v) in &page {
        allowed
            .entry(k.clone())
            .or_default()
            .extend(v.iter().copied());
    }
    allowed.retain(|k, _| !k.starts_with("Groups"));
    let mut extras = USER_EXTRAS.to_vec();
    extras.push(("Users.#.groups[]", "string"));
    assert_skeleton(&r, &page, &allowed, &extras);
    assert!(r.get("Groups").is_none());
    assert_eq!(r["count"], 7);
    assert_eq!(r["total"], 30);
    for u in r["Users"].as_object().unwrap().values() {
        assert!(u["groups"].is_array(), "pages always carry groups");
    }
}

#[tokio::test]
async fn page_past_the_end() {
    let h = Harness::generated(10, 4).await;
    let r = h
        .call("getuserdata", Some(json!({"pagesize": 5, "pageindex": 9})))
        .await;
    assert_eq!(r.body, br#"{"total":10,"count":0,"Users":[]}"#);
    // Pending invitations ride on the first page only.
    let first = h
        .cmd("getuserdata", json!({"pagesize": 5, "pageindex": 0}))
        .await;
    assert_eq!(first["invited"].as_array().unwrap().len(), 1);
    let second = h
        .cmd("getuserdata", json!({"pagesize": 5, "pageindex": 1}))
        .await;
    assert!(second.get("invited").is_none());
}

#[tokio::test]
async fn unknown_username_is_exactly_empty_users_array() {
    let h = Harness::generated(10, 4).await;
    let r = h
        .call(
            "getuserdata",
            Some(json!({"username": "nobody@nowhere.test"})),
        )
        .await;
    assert_eq!(
        trimmed(&r.body),
        trimmed(&fixture_bytes("getuserdata-unknown-user.json"))
    );
}

#[tokio::test]
async fn getsfdata_like_fixture() {
    let h = Harness::with_folders(60, 12, 5).await;
    let r = h.cmd("getsfdata", json!("all")).await;
    assert!(r.as_object().unwrap().len() >= 10);
    assert_like_fixture(&r, "getsfdata.json", &[]);
    // All three permission encodings and both score encodings occur.
    let sk = skeleton(&r);
    assert_eq!(
        sk["#.users[].readonly"].len(),
        3,
        "{:?}",
        sk["#.users[].readonly"]
    );
    assert_eq!(sk["#.score"].len(), 2);
    assert!(r.get("status").is_none());
}

#[tokio::test]
async fn getdetailedsfdata_adds_sites() {
    let h = Harness::with_folders(60, 12, 5).await;
    let r = h.cmd("getdetailedsfdata", json!("all")).await;
    assert_like_fixture(
        &r,
        "getsfdata.json",
        &[
            ("#.users[].sites", "array"),
            ("#.users[].sites[]", "string"),
        ],
    );
    let plain = h.cmd("getsfdata", json!("all")).await;
    assert_eq!(
        r.as_object().unwrap().keys().collect::<Vec<_>>(),
        plain.as_object().unwrap().keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn reporting_like_fixture() {
    let h = Harness::generated(20, 6).await;
    let r = h
        .cmd(
            "reporting",
            json!({"from": "2026-10-01 00:00:00", "to": "2026-11-02 00:00:00"}),
        )
        .await;
    assert_like_fixture(&r, "reporting.json", &[("next", "number")]);
    assert!(r["next"].is_null());
}

#[tokio::test]
async fn write_replies_are_the_recorded_bytes() {
    let h = Harness::empty().await;
    let r = h
        .call(
            "batchadd",
            Some(json!([{"username": "ann@example.com"}, {"username": "ben@example.com"}])),
        )
        .await;
    assert_eq!(trimmed(&r.body), trimmed(&fixture_bytes("write-ok.json")));

    let r = h
        .call(
            "batchchangegrp",
            Some(json!([
                {"username": "ann@example.com", "add": ["Ops"]},
                {"username": "user2@example.com", "add": ["Ops"]}
            ])),
        )
        .await;
    assert_eq!(trimmed(&r.body), trimmed(&fixture_bytes("batch-warn.json")));

    h.call("disableuser", Some(json!(["ben@example.com"])))
        .await;
    let r = h
        .call(
            "disableuser",
            Some(json!(["ann@example.com", "ben@example.com"])),
        )
        .await;
    assert_eq!(
        trimmed(&r.body),
        trimmed(&fixture_bytes("disableuser.json"))
    );
}
