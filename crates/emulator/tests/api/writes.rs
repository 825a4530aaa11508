//! Each write command's semantics and the reporting event it records.

use serde_json::{Value, json};

use crate::common::*;

/// An empty company with three logged-in users (ann is an admin) and one never-logged-in user.
async fn small() -> Harness {
    let h = Harness::empty().await;
    let r = h
        .cmd(
            "batchadd",
            json!([
                {"username": "ann@example.com", "fullname": "Ann A", "groups": ["Ops"]},
                {"username": "ben@example.com", "fullname": "Ben B", "groups": ["Ops", "Dev"]},
                {"username": "cat@example.com", "fullname": "Cat C"},
                {"username": "new@example.com", "fullname": "New N"}
            ]),
        )
        .await;
    assert_eq!(r["status"], "OK");
    for u in ["ann@example.com", "ben@example.com", "cat@example.com"] {
        h.emu().login(u).unwrap();
    }
    h.emu().set_admin("ann@example.com", true).unwrap();
    h
}

async fn user(h: &Harness, email: &str) -> Value {
    let r = h.cmd("getuserdata", json!({"username": email})).await;
    match r["Users"].as_object() {
        Some(m) => m.values().next().cloned().unwrap(),
        None => Value::Null,
    }
}

fn assert_event(e: &Value, action: &str, data: &str) {
    assert_eq!(e["Action"], action, "{e}");
    assert_eq!(e["Data"], data, "{e}");
    assert_eq!(e["Time"], "2026-11-01 10:00:00", "{e}");
}

#[tokio::test]
async fn batchadd_creates_never_logged_in_users() {
    let h = small().await;
    let u = user(&h, "new@example.com").await;
    assert_eq!(u["neverloggedin"], true);
    assert_eq!(u["mpstrength"], "0");
    assert_eq!(u["created"], "2026-11-01 10:00:00");
    assert_eq!(u["password_reset_required"], true);
    assert_eq!(u["fullname"], "New N");
    let r = h.cmd("getuserdata", Value::Null).await;
    assert_eq!(
        r["Groups"]["Ops"],
        json!(["ann@example.com", "ben@example.com"])
    );
    assert_eq!(r["Groups"]["Dev"], json!(["ben@example.com"]));
    // Ids are numeric strings and grow.
    let ids: Vec<u64> = r["Users"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let r = h.cmd("batchadd", json!([{"username": "dan@example.com", "duousername": "dan", "attribs": {"Department": "R&D"}}])).await;
    assert_eq!(r, json!({"status": "OK"}));
    assert_event(
        &h.last_event().await,
        "Employee Account Created",
        "dan@example.com",
    );
    let v = h.emu().view();
    let dan = v
        .users
        .iter()
        .find(|u| u.username == "dan@example.com")
        .unwrap();
    assert_eq!(dan.duousername.as_deref(), Some("dan"));
    assert_eq!(dan.attribs["Department"], "R&D");
}

#[tokio::test]
async fn batchadd_updates_and_merges_groups() {
    let h = small().await;
    let r = h
        .cmd(
            "batchadd",
            json!([{"username": "ben@example.com", "fullname": "Benjamin", "groups": ["QA"]}]),
        )
        .await;
    assert_eq!(r["status"], "OK");
    let u = user(&h, "ben@example.com").await;
    assert_eq!(u["fullname"], "Benjamin");
    assert_eq!(u["groups"], json!(["Ops", "Dev", "QA"]));
    assert_eq!(u["neverloggedin"], false);
    assert_event(&h.last_event().await, "Edit User", "ben@example.com");
}

#[tokio::test]
async fn batchadd_invalid_emails() {
    let h = small().await;
    let r = h
        .cmd(
            "batchadd",
            json!([{"username": "ok@example.com"}, {"username": "not-an-email"}]),
        )
        .await;
    assert_eq!(
        r,
        json!({"status": "WARN", "errors": ["not-an-email is not a valid email address"]})
    );
    let r = h
        .cmd(
            "batchadd",
            json!([{"username": "bad"}, {"fullname": "no name"}]),
        )
        .await;
    assert_eq!(r["status"], "FAIL");
    assert_eq!(r["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn batchchangegrp_semantics() {
    let h = small().await;
    let r = h
        .cmd(
            "batchchangegrp",
            json!([{"username": "cat@example.com", "add": ["Sales"], "del": []},
                   {"username": "ben@example.com", "add": [], "del": ["Dev"]}]),
        )
        .await;
    assert_eq!(r, json!({"status": "OK"}));
    let groups = h.cmd("getuserdata", Value::Null).await["Groups"].clone();
    assert_eq!(groups["Sales"], json!(["cat@example.com"]));
    assert!(groups.get("Dev").is_none(), "empty groups disappear");
    assert_event(
        &h.last_event().await,
        "Remove from Group",
        "ben@example.com (Dev)",
    );

    let r = h
        .cmd(
            "batchchangegrp",
            json!([{"username": "ghost@example.com", "add": ["X"]}]),
        )
        .await;
    assert_eq!(
        r,
        json!({"status": "FAIL", "errors": ["ghost@example.com does not exist"]})
    );
}

#[tokio::test]
async fn deluser_zero_deactivates() {
    let h = small().await;
    let r = h
        .cmd(
            "deluser",
            json!({"username": "ben@example.com", "deleteaction": 0}),
        )
        .await;
    assert_eq!(r, json!({"status": "OK"}));
    let u = user(&h, "ben@example.com").await;
    assert_eq!(u["disabled"], true);
    assert_eq!(u["groups"], json!(["Ops", "Dev"]));
    assert_event(&h.last_event().await, "Deactivated User", "ben@example.com");
    assert!(h.emu().login("ben@example.com").is_err());
}

#[tokio::test]
async fn deluser_one_removes_from_company_but_keeps_the_account() {
    let h = small().await;
    h.emu()
        .share_folder("Shared-Ops", "ben@example.com", Default::default())
        .unwrap();
    let old_id = h
        .emu()
        .view()
        .users
        .iter()
        .find(|u| u.username == "ben@example.com")
        .unwrap()
        .id;
    let r = h
        .cmd(
            "deluser",
            json!({"username": "ben@example.com", "deleteaction": "1"}),
        )
        .await;
    assert_eq!(r["status"], "OK");
    assert_eq!(user(&h, "ben@example.com").await, Value::Null);
    let all = h.cmd("getuserdata", Value::Null).await;
    assert_eq!(all["Groups"]["Ops"], json!(["ann@example.com"]));
    assert!(all["Groups"].get("Dev").is_none());
    let sf = h.cmd("getsfdata", json!("all")).await;
    assert!(!sf.to_string().contains("ben@example.com"));
    assert_event(
        &h.last_event().await,
        "Removed User from Company",
        "ben@example.com",
    );
    let v = h.emu().view();
    assert_eq!(v.former_users.len(), 1);
    // Adding the email again links the same account back.
    h.cmd("batchadd", json!([{"username": "ben@example.com"}]))
        .await;
    let v = h.emu().view();
    let ben = v
        .users
        .iter()
        .find(|u| u.username == "ben@example.com")
        .unwrap();
    assert_eq!(ben.id, old_id);
    assert!(!ben.neverloggedin);
    assert!(v.former_users.is_empty());
}

#[tokio::test]
async fn deluser_two_deletes() {
    let h = small().await;
    let old_id = h
        .emu()
        .view()
        .users
        .iter()
        .find(|u| u.username == "ben@example.com")
        .unwrap()
        .id;
    let r = h
        .cmd(
            "deluser",
            json!({"username": "ben@example.com", "deleteaction": 2}),
        )
        .await;
    assert_eq!(r["status"], "OK");
    assert_eq!(user(&h, "ben@example.com").await, Value::Null);
    let v = h.emu().view();
    assert!(v.former_users.is_empty());
    assert_event(
        &h.last_event().await,
        "Employee Account Deleted",
        "ben@example.com",
    );
    h.cmd("batchadd", json!([{"username": "ben@example.com"}]))
        .await;
    let v = h.emu().view();
    let ben = v
        .users
        .iter()
        .find(|u| u.username == "ben@example.com")
        .unwrap();
    assert_ne!(ben.id, old_id);
    assert!(ben.neverloggedin);
}

#[tokio::test]
async fn deluser_three_uninvites() {
    let h = small().await;
    h.emu().invite("pending@example.com").unwrap();
    assert_eq!(
        h.cmd("getuserdata", Value::Null).await["invited"],
        json!(["pending@example.com"])
    );
    let r = h
        .cmd(
            "deluser",
            json!({"username": "pending@example.com", "deleteaction": 3}),
        )
        .await;
    assert_eq!(r["status"], "OK");
    assert!(
        h.cmd("getuserdata", Value::Null)
            .await
            .get("invited")
            .is_none()
    );
    assert_event(
        &h.last_event().await,
        "Uninvited User",
        "pending@example.com",
    );
    // A never-logged-in user can be uninvited...
    let r = h
        .cmd(
            "deluser",
            json!({"username": "new@example.com", "deleteaction": 3}),
        )
        .await;
    assert_eq!(r["status"], "OK");
    assert_eq!(user(&h, "new@example.com").await, Value::Null);
    // ...one who logged in cannot.
    let r = h
        .cmd(
            "deluser",
            json!({"username": "cat@example.com", "deleteaction": 3}),
        )
        .await;
    assert_eq!(r["status"], "FAIL");
    assert!(user(&h, "cat@example.com").await.is_object());
}

#[tokio::test]
async fn deluser_errors() {
    let h = small().await;
    let r = h
        .cmd(
            "deluser",
            json!({"username": "ghost@example.com", "deleteaction": 0}),
        )
        .await;
    assert_eq!(
        r,
        json!({"status": "FAIL", "errors": ["ghost@example.com does not exist"]})
    );
    let r = h
        .cmd(
            "deluser",
            json!({"username": "ben@example.com", "deleteaction": 7}),
        )
        .await;
    assert_eq!(r["status"], "FAIL");
}

#[tokio::test]
async fn disable_and_enable() {
    let h = small().await;
    let r = h
        .cmd(
            "disableuser",
            json!(["ann@example.com", "ghost@example.com"]),
        )
        .await;
    assert_eq!(r["status"], "success");
    assert_eq!(r["disabled_users"], json!(["ann@example.com"]));
    assert_eq!(r["unchanged_users"], json!([]));
    assert!(r["error"].as_str().unwrap().contains("ghost@example.com"));
    assert_event(&h.last_event().await, "Deactivated User", "ann@example.com");
    let r = h
        .cmd("enableuser", json!(["ann@example.com", "ben@example.com"]))
        .await;
    assert_eq!(
        r,
        json!({"status": "success", "enabled_users": ["ann@example.com"], "unchanged_users": ["ben@example.com"]})
    );
    assert_event(&h.last_event().await, "Reactivated User", "ann@example.com");
    assert_eq!(user(&h, "ann@example.com").await["disabled"], false);
}

#[tokio::test]
async fn updateuser_changes_profile_not_admin() {
    let h = small().await;
    let r = h
        .cmd("updateuser", json!({"username": "cat@example.com", "fullname": "Catherine", "duousername": "cat.duo", "admin": true}))
        .await;
    assert_eq!(r, json!({"status": "OK"}));
    let u = user(&h, "cat@example.com").await;
    assert_eq!(u["fullname"], "Catherine");
    assert_eq!(u["duousername"], "cat.duo");
    assert_eq!(u["admin"], false);
    assert_event(&h.last_event().await, "Edit User", "cat@example.com");
    let r = h
        .cmd("updateuser", json!({"username": "ghost@example.com"}))
        .await;
    assert_eq!(r["status"], "FAIL");
}

#[tokio::test]
async fn single_user_actions() {
    let h = small().await;
    h.emu()
        .set_multifactor("cat@example.com", Some("duo"))
        .unwrap();
    // A new user must change the password at first login; once done, the flag is clear.
    h.emu()
        .change_master_password("cat@example.com", 80)
        .unwrap();
    assert_eq!(
        user(&h, "cat@example.com").await["password_reset_required"],
        false
    );

    assert_eq!(
        h.cmd("resetpassword", json!({"username": "cat@example.com"}))
            .await,
        json!({"status": "OK"})
    );
    assert_event(
        &h.last_event().await,
        "Send Password Reset Email",
        "cat@example.com",
    );

    let r = h
        .cmd(
            "requiremasterpasswordchange",
            json!({"username": "cat@example.com"}),
        )
        .await;
    assert_eq!(r, json!({"status": "OK"}));
    assert_eq!(
        user(&h, "cat@example.com").await["password_reset_required"],
        true
    );
    assert_event(
        &h.last_event().await,
        "Require Password Change",
        "cat@example.com",
    );

    assert_eq!(
        h.cmd("disablemultifactor", json!({"username": "cat@example.com"}))
            .await,
        json!({"status": "OK"})
    );
    assert_eq!(user(&h, "cat@example.com").await["multifactor"], "");
    assert_event(
        &h.last_event().await,
        "Disable Multifactor",
        "cat@example.com",
    );

    let r = h
        .cmd("reinviteuser", json!({"username": "new@example.com"}))
        .await;
    assert_eq!(r, json!({"status": "OK"}));
    assert_event(&h.last_event().await, "Reinvite User", "new@example.com");
    let r = h
        .cmd("reinviteuser", json!({"username": "cat@example.com"}))
        .await;
    assert_eq!(r["status"], "FAIL");

    for cmd in [
        "resetpassword",
        "requiremasterpasswordchange",
        "reinviteuser",
        "disablemultifactor",
    ] {
        let r = h.cmd(cmd, json!({"username": "ghost@example.com"})).await;
        assert_eq!(
            r,
            json!({"status": "FAIL", "errors": ["ghost@example.com does not exist"]}),
            "{cmd}"
        );
    }
    let v = h.emu().view();
    let cat = v
        .users
        .iter()
        .find(|u| u.username == "cat@example.com")
        .unwrap();
    assert_eq!(cat.reset_emails_sent, 1);
    let new = v
        .users
        .iter()
        .find(|u| u.username == "new@example.com")
        .unwrap();
    assert_eq!(new.invitations_sent, 2);
}

#[tokio::test]
async fn pushsitestousers_records_the_push() {
    let h = small().await;
    let r = h
        .cmd("pushsitestousers", json!({"users": "Ops", "url": "https://intranet.example.com", "name": "Intranet", "persistent": "1"}))
        .await;
    assert_eq!(r, json!({"status": "OK", "psid": "1"}));
    let r = h
        .cmd(
            "pushsitestousers",
            json!({"users": "all", "url": "https://wiki.example.com"}),
        )
        .await;
    assert_eq!(r["psid"], "2");
    let v = h.emu().view();
    assert_eq!(v.pushed_sites.len(), 2);
    assert_eq!(v.pushed_sites[0].data["name"], "Intranet");
    assert_event(
        &h.last_event().await,
        "Push Sites to Users",
        "https://wiki.example.com (all)",
    );
    assert_eq!(
        h.cmd("pushsitestousers", json!({"users": "all"})).await["status"],
        "FAIL"
    );
}

#[tokio::test]
async fn expiredmasterpwlist_pages_with_a_token() {
    let h = Harness::generated(200, 9).await;
    let cutoff = test_now() - chrono::TimeDelta::days(365);
    let expected: Vec<u64> = h
        .emu()
        .view()
        .users
        .iter()
        .filter(|u| u.last_pw_change < cutoff)
        .map(|u| u.id)
        .collect();
    assert!(expected.len() > 20, "{}", expected.len());
    let mut got = Vec::new();
    let mut token = Value::Null;
    loop {
        let mut data = json!({"limit": 7});
        if !token.is_null() {
            data["continuation_token"] = token.clone();
        }
        let r = h.cmd("expiredmasterpwlist", data).await;
        assert_eq!(r["status"], "Success");
        for it in r["items"].as_array().unwrap() {
            assert!(it["user_name"].is_string() && it["last_pw_change"].is_string());
            got.push(it["user_id"].as_u64().unwrap());
        }
        assert_eq!(
            r["continuation"]["remaining_item_count"].as_u64().unwrap() as usize,
            expected.len() - got.len()
        );
        token = r["continuation"]["token"].clone();
        if token.is_null() {
            break;
        }
    }
    assert_eq!(got, expected);
    let r = h.cmd("expiredmasterpwlist", json!({"limit": 10_000})).await;
    assert_eq!(
        r["items"].as_array().unwrap().len(),
        expected.len().min(500)
    );
}
