//! The `/_emulator/*` control routes and the control methods they mirror.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

async fn user(h: &Harness, email: &str) -> Value {
    let r = h.cmd("getuserdata", json!({"username": email})).await;
    r["Users"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn login_over_http() {
    let h = Harness::empty().await;
    h.cmd("batchadd", json!([{"username": "ann@example.com"}]))
        .await;
    let (s, body) = h
        .control(Method::POST, "/users/ann@example.com/login", None)
        .await;
    assert_eq!((s.as_u16(), body), (200, json!({"ok": true})));
    let u = user(&h, "ann@example.com").await;
    assert_eq!(u["neverloggedin"], false);
    assert_eq!(u["last_login"], "2026-11-01 10:00:00");
    assert_eq!(u["sites"], 0);
    assert_eq!(u["totalscore"], "0");
    assert_eq!(h.last_event().await["Action"], "Login");

    let (s, body) = h
        .control(Method::POST, "/users/ghost@example.com/login", None)
        .await;
    assert_eq!(s, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("ghost@example.com")
    );
}

#[tokio::test]
async fn emails_with_plus_and_percent_encoding() {
    let h = Harness::empty().await;
    h.cmd(
        "batchadd",
        json!([{"username": "cy.newhire+lp@example.com"}]),
    )
    .await;
    let (s, _) = h
        .control(Method::POST, "/users/cy.newhire+lp@example.com/login", None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = h
        .control(
            Method::POST,
            "/users/cy.newhire%2Blp%40example.com/failed-login",
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        user(&h, "cy.newhire+lp@example.com").await["neverloggedin"],
        false
    );
}

#[tokio::test]
async fn user_routes() {
    let h = Harness::empty().await;
    h.cmd("batchadd", json!([{"username": "ann@example.com"}]))
        .await;
    let e = "/users/ann@example.com";
    assert_eq!(
        h.control(Method::POST, &format!("{e}/login"), None).await.0,
        200
    );
    assert_eq!(
        h.control(Method::POST, &format!("{e}/failed-login"), None)
            .await
            .0,
        200
    );
    assert_eq!(h.last_event().await["Action"], "Failed Login Attempt");

    h.cmd(
        "requiremasterpasswordchange",
        json!({"username": "ann@example.com"}),
    )
    .await;
    let (s, _) = h
        .control(
            Method::POST,
            &format!("{e}/master-password"),
            Some(json!({"strength": 42})),
        )
        .await;
    assert_eq!(s, 200);
    let u = user(&h, "ann@example.com").await;
    assert_eq!(u["mpstrength"], "42");
    assert_eq!(u["password_reset_required"], false);
    assert_eq!(u["last_pw_change"], "2026-11-01 10:00:00");
    let (s, _) = h
        .control(
            Method::POST,
            &format!("{e}/master-password"),
            Some(json!({"strength": 101})),
        )
        .await;
    assert_eq!(s, 400);

    h.control(
        Method::POST,
        &format!("{e}/mfa"),
        Some(json!({"kind": "yubikey"})),
    )
    .await;
    assert_eq!(user(&h, "ann@example.com").await["multifactor"], "yubikey");
    h.control(
        Method::POST,
        &format!("{e}/mfa"),
        Some(json!({"kind": null})),
    )
    .await;
    assert_eq!(user(&h, "ann@example.com").await["multifactor"], "");

    h.control(
        Method::POST,
        &format!("{e}/admin"),
        Some(json!({"admin": true})),
    )
    .await;
    assert_eq!(user(&h, "ann@example.com").await["admin"], true);
    assert_eq!(h.last_event().await["Action"], "Make Admin");

    let (s, body) = h
        .control(
            Method::POST,
            &format!("{e}/admin"),
            Some(json!({"admin": "yes"})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn invite_and_accept() {
    let h = Harness::empty().await;
    let (s, _) = h
        .control(
            Method::POST,
            "/invite",
            Some(json!({"email": "zed@example.com"})),
        )
        .await;
    assert_eq!(s, 200);
    let r = h.cmd("getuserdata", Value::Null).await;
    assert_eq!(r["invited"], json!(["zed@example.com"]));
    assert_eq!(r["Users"], json!([]));
    assert_eq!(
        h.control(Method::POST, "/invite", Some(json!({"email": "nope"})))
            .await
            .0,
        400
    );
    // Logging in accepts the invitation.
    h.emu().login("zed@example.com").unwrap();
    let r = h.cmd("getuserdata", Value::Null).await;
    assert!(r.get("invited").is_none());
    assert_eq!(r["total"], 1);
    assert!(h.emu().invite("zed@example.com").is_err());
}

#[tokio::test]
async fn folder_routes() {
    let h = Harness::empty().await;
    h.cmd(
        "batchadd",
        json!([{"username": "ann@example.com"}, {"username": "ben@example.com"}]),
    )
    .await;
    let (s, _) = h
        .control(
            Method::POST,
            "/folders/Shared-Team/members",
            Some(json!({"email": "ann@example.com", "can_administer": true, "give": true})),
        )
        .await;
    assert_eq!(s, 200);
    h.control(
        Method::POST,
        "/folders/Shared-Team/members",
        Some(json!({"email": "ben@example.com", "readonly": true})),
    )
    .await;
    let sf = h.cmd("getsfdata", json!("all")).await;
    let folder = sf.as_object().unwrap().values().next().unwrap();
    assert_eq!(folder["sharedfoldername"], "Shared-Team");
    assert_eq!(
        folder["users"],
        json!([
            {"username": "ann@example.com", "readonly": 0, "give": 1, "can_administer": 1, "superadmin": 0},
            {"username": "ben@example.com", "readonly": 1, "give": 0, "can_administer": 0, "superadmin": 0}
        ])
    );
    assert_eq!(h.last_event().await["Action"], "Add to Shared Folder");
    let (s, _) = h
        .control(
            Method::DELETE,
            "/folders/Shared-Team/members/ben@example.com",
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(h.last_event().await["Action"], "Remove from Shared Folder");
    let (s, _) = h
        .control(
            Method::DELETE,
            "/folders/Shared-Team/members/ben@example.com",
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = h
        .control(
            Method::DELETE,
            "/folders/Nope/members/ben@example.com",
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn rotate_provhash_rejects_the_old_one_at_once() {
    let h = Harness::generated(3, 1).await;
    let (s, body) = h.control(Method::POST, "/rotate-provhash", None).await;
    assert_eq!(s, 200);
    let new = body["provhash"].as_str().unwrap().to_owned();
    assert_eq!(new.len(), 64);
    assert!(
        new.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_ne!(new, HASH);
    let r = h.call("getuserdata", None).await;
    assert_eq!(r.body, fixture_bytes("auth-error.xml"));
    let body =
        serde_json::to_vec(&json!({"cid": CID, "provhash": new, "cmd": "getuserdata"})).unwrap();
    assert_eq!(
        h.post_raw(body, "application/json").await.json()["total"],
        3
    );
    assert_eq!(h.emu().credentials().provhash, new);
    assert_ne!(h.emu().rotate_provhash(), new);
}

#[tokio::test]
async fn state_clock_and_unknown_routes() {
    let h = Harness::generated(7, 1).await;
    let (s, state) = h.control(Method::GET, "/state", None).await;
    assert_eq!(s, 200);
    let view: lpgate_emulator::CompanyView = serde_json::from_value(state).unwrap();
    assert_eq!(view, h.emu().view());
    assert_eq!(view.users.len(), 7);

    let (s, body) = h
        .control(
            Method::PUT,
            "/clock",
            Some(json!({"mode": "fixed", "at": "2027-01-02 03:04:05"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    h.cmd("batchadd", json!([{"username": "late@example.com"}]))
        .await;
    assert_eq!(
        user(&h, "late@example.com").await["created"],
        "2027-01-02 03:04:05"
    );
    let (s, _) = h
        .control(
            Method::PUT,
            "/clock",
            Some(json!({"mode": "offset", "secs": 86400})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = h
        .control(Method::PUT, "/clock", Some(json!({"mode": "sometimes"})))
        .await;
    assert_eq!(s, 400);

    let (s, body) = h.control(Method::GET, "/nothing-here", None).await;
    assert_eq!(s, 404);
    assert!(body["error"].is_string());
}

#[test]
fn credentials_debug_hides_the_hash() {
    let c = creds();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(HASH));
    assert!(dbg.contains("***"));
    let emu = lpgate_emulator::Emulator::empty(c);
    assert!(!format!("{emu:?}").contains(HASH));
}
