//! Every accepted request shape: cid as number or string, every `data` variant, flags as
//! 1 / "1" / true, unknown keys, form-encoded posts, content type ignored.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn cid_as_number_or_string() {
    let h = Harness::generated(8, 2).await;
    let a = h
        .post_raw(
            serde_json::to_vec(&json!({"cid": CID, "provhash": HASH, "cmd": "getuserdata"}))
                .unwrap(),
            "application/json",
        )
        .await;
    let b = h
        .post_raw(
            serde_json::to_vec(
                &json!({"cid": CID.to_string(), "provhash": HASH, "cmd": "getuserdata"}),
            )
            .unwrap(),
            "application/json; charset=utf-8",
        )
        .await;
    assert_eq!(a.json()["total"], 8);
    assert_eq!(a.body, b.body);
}

#[tokio::test]
async fn every_data_variant_means_everyone() {
    let h = Harness::generated(8, 2).await;
    let reference = h.call("getuserdata", None).await.body;
    for data in [json!(null), json!("all"), json!({}), json!([])] {
        let r = h.call("getuserdata", Some(data.clone())).await;
        assert_eq!(r.body, reference, "data = {data}");
    }
}

#[tokio::test]
async fn unknown_top_level_keys_are_ignored() {
    let h = Harness::generated(8, 2).await;
    let reference = h.call("getuserdata", None).await.body;
    let body = json!({"cid": CID, "provhash": HASH, "cmd": "getuserdata", "apiuser": "svc", "user": "allusers"});
    let r = h
        .post_raw(serde_json::to_vec(&body).unwrap(), "application/json")
        .await;
    assert_eq!(r.body, reference);
}

#[tokio::test]
async fn flags_in_every_spelling() {
    let h = Harness::generated(120, 2).await;
    let disabled_count = h.emu().view().users.iter().filter(|u| u.disabled).count();
    let admin_count = h.emu().view().users.iter().filter(|u| u.admin).count();
    assert!(disabled_count > 0 && admin_count > 0);
    for flag in [json!(1), json!("1"), json!(true)] {
        let r = h.cmd("getuserdata", json!({"disabled": flag})).await;
        assert_eq!(r["total"], disabled_count, "disabled = {flag}");
        assert!(
            r["Users"]
                .as_object()
                .unwrap()
                .values()
                .all(|u| u["disabled"] == true)
        );
        let r = h.cmd("getuserdata", json!({"admin": flag})).await;
        assert_eq!(r["total"], admin_count, "admin = {flag}");
        assert!(
            r["Users"]
                .as_object()
                .unwrap()
                .values()
                .all(|u| u["admin"] == true)
        );
        assert!(
            r.get("invited").is_none(),
            "filtered listings carry no invitations"
        );
    }
    let r = h.cmd("getuserdata", json!({"disabled": 0})).await;
    assert_eq!(r["total"], 120);
}

#[tokio::test]
async fn username_filter() {
    let h = Harness::generated(12, 2).await;
    let someone = h.emu().view().users[3].clone();
    let r = h
        .cmd(
            "getuserdata",
            json!({"username": someone.username.to_uppercase()}),
        )
        .await;
    assert_eq!(r["total"], 1);
    let users = r["Users"].as_object().unwrap();
    assert_eq!(users.keys().next().unwrap(), &someone.id.to_string());
    // Groups lists only the selected user's groups.
    let groups = &r["Groups"];
    if someone.groups.is_empty() {
        assert_eq!(groups, &json!([]));
    } else {
        for g in &someone.groups {
            assert_eq!(groups[g], json!([someone.username]));
        }
    }
}

#[tokio::test]
async fn pagesize_as_number_or_string() {
    let h = Harness::generated(12, 2).await;
    let a = h
        .call("getuserdata", Some(json!({"pagesize": 5, "pageindex": 1})))
        .await;
    let b = h
        .call(
            "getuserdata",
            Some(json!({"pagesize": "5", "pageindex": "1"})),
        )
        .await;
    assert_eq!(a.body, b.body);
    assert_eq!(a.json()["count"], 5);
    let bad = h.cmd("getuserdata", json!({"pagesize": "lots"})).await;
    assert_eq!(bad["status"], "FAIL");
}

#[tokio::test]
async fn form_encoded_posts() {
    let h = Harness::generated(8, 2).await;
    let reference = h.call("getuserdata", None).await.body;
    let cid = CID.to_string();
    let form = serde_urlencoded::to_string([
        ("cid", cid.as_str()),
        ("provhash", HASH),
        ("cmd", "getuserdata"),
    ])
    .unwrap();
    let r = h
        .post_raw(form.clone(), "application/x-www-form-urlencoded")
        .await;
    assert_eq!(r.body, reference);
    assert_eq!(r.content_type(), "text/xml;charset=UTF-8");

    // The content type is not trusted either way.
    let r = h.post_raw(form, "application/json").await;
    assert_eq!(r.body, reference);
    let json_body =
        serde_json::to_vec(&json!({"cid": CID, "provhash": HASH, "cmd": "getuserdata"})).unwrap();
    let r = h
        .post_raw(json_body, "application/x-www-form-urlencoded")
        .await;
    assert_eq!(r.body, reference);

    // data as a JSON string.
    let someone = h.emu().view().users[0].username.clone();
    let data = json!({"username": someone}).to_string();
    let form = serde_urlencoded::to_string([
        ("cid", cid.as_str()),
        ("provhash", HASH),
        ("cmd", "getuserdata"),
        ("data", data.as_str()),
    ])
    .unwrap();
    let r = h
        .post_raw(form, "application/x-www-form-urlencoded")
        .await
        .json();
    assert_eq!(r["total"], 1);

    // Form posts are authorized like JSON ones.
    let form = serde_urlencoded::to_string([
        ("cid", cid.as_str()),
        ("provhash", "nope"),
        ("cmd", "getuserdata"),
    ])
    .unwrap();
    let r = h.post_raw(form, "application/x-www-form-urlencoded").await;
    assert_eq!(r.body, fixture_bytes("auth-error.xml"));
}

#[tokio::test]
async fn write_flags_as_strings() {
    let h = Harness::empty().await;
    let r = h
        .cmd(
            "batchadd",
            json!([{"username": "a@example.com", "password_reset_required": "0"},
                   {"username": "b@example.com", "password_reset_required": false},
                   {"username": "c@example.com"}]),
        )
        .await;
    assert_eq!(r["status"], "OK");
    let v = h.emu().view();
    let prr: Vec<bool> = v.users.iter().map(|u| u.password_reset_required).collect();
    assert_eq!(prr, vec![false, false, true]);
    let r = h
        .cmd(
            "deluser",
            json!({"username": "a@example.com", "deleteaction": "2"}),
        )
        .await;
    assert_eq!(r["status"], "OK");
    assert_eq!(h.emu().view().users.len(), 2);
}

#[tokio::test]
async fn unknown_command() {
    let h = Harness::empty().await;
    let r = h.cmd("frobnicate", Value::Null).await;
    assert_eq!(
        r,
        json!({"status": "FAIL", "errors": ["Unknown command: frobnicate"]})
    );
    // Unknown names share one counter, so random names cannot grow the emulator's memory.
    assert_eq!(h.emu().requests("(unknown)"), 1);
    h.cmd("frobnicate2", Value::Null).await;
    assert_eq!(h.emu().requests("(unknown)"), 2);
    assert_eq!(h.emu().requests("frobnicate"), 0);
}

#[tokio::test]
async fn getdetailedsfdata_paging_in_both_shapes() {
    let h = Harness::with_folders(60, 12, 5).await;
    let all = h.cmd("getdetailedsfdata", json!("all")).await;
    let all_ids: Vec<String> = all.as_object().unwrap().keys().cloned().collect();
    let mut seen = Vec::new();
    for page in 0.. {
        // The Elastic mock's shape: data {"data":"all","pageindex":"0","pagesize":"N"}.
        let r = h
            .cmd(
                "getdetailedsfdata",
                json!({"data": "all", "pageindex": page.to_string(), "pagesize": "2"}),
            )
            .await;
        match r.as_object() {
            Some(m) => seen.extend(m.keys().cloned()),
            None => {
                assert_eq!(r, json!([]));
                break;
            }
        }
    }
    assert_eq!(seen, all_ids);
    // Paging keys at the request's top level work too.
    let body = json!({"cid": CID, "provhash": HASH, "cmd": "getdetailedsfdata", "data": "all", "pagesize": 2, "pageindex": 1});
    let r = h
        .post_raw(serde_json::to_vec(&body).unwrap(), "application/json")
        .await
        .json();
    assert_eq!(
        r.as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
        all_ids[2..4].to_vec()
    );
}
