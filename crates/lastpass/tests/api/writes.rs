//! Every write command against the emulator, checked by reading LastPass back.

use std::collections::BTreeMap;

use lpgate_lastpass::{
    DeleteAction, Error, EventQuery, GroupChange, NewUser, PushSite, PushTarget, UserFilter,
    UserUpdate, UsernameType,
};

use crate::helpers::{client, emulator};

#[tokio::test]
async fn batchadd_creates_staged_users_with_groups_and_records_events() {
    let emu = emulator(20, 1).await;
    let c = client(&emu.base_url());
    let mut attribs = BTreeMap::new();
    attribs.insert("Department".to_string(), "Finance".to_string());
    let out = c
        .batch_add(&[
            NewUser {
                fullname: Some("Nia New".into()),
                groups: vec!["Brand New Group".into()],
                attribs,
                ..NewUser::new("nia.new@example.com")
            },
            NewUser::new("omar.new@example.com"),
        ])
        .await
        .unwrap();
    assert!(out.is_clean(), "{out:?}");
    let nia = c.get_user("nia.new@example.com").await.unwrap().unwrap();
    assert!(nia.never_logged_in && nia.password_reset_required && !nia.admin);
    assert_eq!(nia.fullname, "Nia New");
    assert_eq!(nia.groups, vec!["Brand New Group"]);
    assert_eq!(nia.last_login, None);
    let dir = c.get_user_data(UserFilter::All).await.unwrap();
    assert_eq!(dir.groups["Brand New Group"], vec!["nia.new@example.com"]);
    let events = c
        .reporting(&EventQuery {
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "Employee Account Created"
                && e.data.contains("nia.new@example.com")),
        "{events:?}"
    );
    // batchadd of an existing user updates it (the old API doc: "new or update existing").
    c.batch_add(&[NewUser {
        fullname: Some("Nia Renamed".into()),
        ..NewUser::new("nia.new@example.com")
    }])
    .await
    .unwrap();
    let nia = c.get_user("nia.new@example.com").await.unwrap().unwrap();
    assert_eq!(nia.fullname, "Nia Renamed");
}

#[tokio::test]
async fn batchadd_rejects_bad_emails_before_sending() {
    let emu = emulator(5, 1).await;
    let c = client(&emu.base_url());
    let err = c
        .batch_add(&[NewUser::new("not-an-email")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "username",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not-an-email"));
    assert_eq!(emu.emulator().requests("batchadd"), 0, "nothing was sent");
}

#[tokio::test]
async fn group_changes_warn_per_unknown_user() {
    let emu = emulator(30, 2).await;
    let view = emu.emulator().view();
    let c = client(&emu.base_url());
    let who = view.users.iter().find(|u| !u.groups.is_empty()).unwrap();
    let leave = who.groups[0].clone();
    let out = c
        .batch_change_groups(&[
            GroupChange {
                username: who.username.clone(),
                add: vec!["Auditors".into()],
                del: vec![leave.clone()],
            },
            GroupChange {
                username: "ghost@example.com".into(),
                add: vec!["Auditors".into()],
                del: vec![],
            },
        ])
        .await
        .unwrap();
    assert_eq!(out.warnings.len(), 1, "{out:?}");
    assert_eq!(
        out.warnings[0].username.as_deref(),
        Some("ghost@example.com")
    );
    let after = c.get_user(&who.username).await.unwrap().unwrap();
    assert!(after.groups.contains(&"Auditors".to_string()));
    assert!(!after.groups.contains(&leave));
    // Every user unknown: FAIL, an error naming them.
    let err = c
        .batch_change_groups(&[GroupChange {
            username: "ghost@example.com".into(),
            add: vec!["X".into()],
            del: vec![],
        }])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rejected { errors, .. } if errors[0].contains("ghost@example.com")),
        "{err}"
    );
}

#[tokio::test]
async fn deluser_four_actions_four_effects() {
    let emu = emulator(40, 3).await;
    let view = emu.emulator().view();
    let c = client(&emu.base_url());
    let active: Vec<_> = view
        .users
        .iter()
        .filter(|u| !u.disabled && !u.neverloggedin)
        .map(|u| u.username.clone())
        .collect();

    c.delete_user(&active[0], DeleteAction::Deactivate)
        .await
        .unwrap();
    let u = c.get_user(&active[0]).await.unwrap().unwrap();
    assert!(u.disabled, "deactivated users stay listed, disabled");

    c.delete_user(&active[1], DeleteAction::Remove)
        .await
        .unwrap();
    assert_eq!(c.get_user(&active[1]).await.unwrap(), None);
    assert!(
        emu.emulator()
            .view()
            .former_users
            .iter()
            .any(|f| f.username == active[1]),
        "kept as a free account"
    );

    c.delete_user(&active[2], DeleteAction::Delete)
        .await
        .unwrap();
    assert_eq!(c.get_user(&active[2]).await.unwrap(), None);
    let v = emu.emulator().view();
    assert!(
        !v.former_users.iter().any(|f| f.username == active[2]),
        "deleted entirely"
    );

    // Uninvite works on a pending invitation and refuses an active user.
    c.batch_add(&[NewUser::new("pending.person@example.com")])
        .await
        .unwrap();
    c.delete_user("pending.person@example.com", DeleteAction::Uninvite)
        .await
        .unwrap();
    assert_eq!(
        c.get_user("pending.person@example.com").await.unwrap(),
        None
    );
    let err = c
        .delete_user(&active[3], DeleteAction::Uninvite)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }), "{err}");

    let err = c
        .delete_user("ghost@example.com", DeleteAction::Deactivate)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ghost@example.com"), "{err}");

    let actions: Vec<String> = c
        .reporting(&EventQuery {
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.iter().any(|a| a == "Deactivated User"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "Employee Account Deleted"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn disable_and_enable_report_changed_and_unchanged() {
    let emu = emulator(30, 4).await;
    let view = emu.emulator().view();
    let c = client(&emu.base_url());
    let on = view
        .users
        .iter()
        .find(|u| !u.disabled)
        .unwrap()
        .username
        .clone();
    let off = view
        .users
        .iter()
        .find(|u| u.disabled)
        .unwrap()
        .username
        .clone();
    let out = c.disable_users(&[on.clone(), off.clone()]).await.unwrap();
    assert_eq!(out.changed, vec![on.clone()]);
    assert_eq!(out.unchanged, vec![off.clone()]);
    assert!(c.get_user(&on).await.unwrap().unwrap().disabled);
    let out = c
        .enable_users(&[on.clone(), "ghost@example.com".into()])
        .await
        .unwrap();
    assert_eq!(out.changed, vec![on.clone()]);
    assert!(out.error.unwrap().contains("ghost@example.com"));
    assert!(!c.get_user(&on).await.unwrap().unwrap().disabled);
}

#[tokio::test]
async fn single_user_commands() {
    let emu = emulator(30, 5).await;
    let view = emu.emulator().view();
    let c = client(&emu.base_url());
    let u = view
        .users
        .iter()
        .find(|u| !u.disabled && !u.neverloggedin && !u.multifactor.is_empty())
        .unwrap()
        .username
        .clone();

    c.update_user(&UserUpdate {
        username: u.clone(),
        fullname: Some("Changed Name".into()),
        duo_username: Some("duo-changed".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let got = c.get_user(&u).await.unwrap().unwrap();
    assert_eq!(got.fullname, "Changed Name");
    assert_eq!(got.duo_username.as_deref(), Some("duo-changed"));

    c.require_master_password_change(&u).await.unwrap();
    assert!(
        c.get_user(&u)
            .await
            .unwrap()
            .unwrap()
            .password_reset_required
    );

    c.disable_multifactor(&u).await.unwrap();
    assert_eq!(c.get_user(&u).await.unwrap().unwrap().multifactor, None);

    let before = emu
        .emulator()
        .view()
        .users
        .iter()
        .find(|x| x.username == u)
        .unwrap()
        .reset_emails_sent;
    c.reset_password(&u).await.unwrap();
    let after = emu
        .emulator()
        .view()
        .users
        .iter()
        .find(|x| x.username == u)
        .unwrap()
        .reset_emails_sent;
    assert_eq!(after, before + 1);

    // Re-inviting someone who already activated is refused; a new hire can be re-invited.
    assert!(matches!(
        c.reinvite_user(&u).await.unwrap_err(),
        Error::Rejected { .. }
    ));
    c.batch_add(&[NewUser::new("late.joiner@example.com")])
        .await
        .unwrap();
    c.reinvite_user("late.joiner@example.com").await.unwrap();

    let err = c.reset_password("ghost@example.com").await.unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }), "{err}");
}

#[tokio::test]
async fn push_sites_returns_a_psid() {
    let emu = emulator(10, 6).await;
    let c = client(&emu.base_url());
    let psid = c
        .push_site(&PushSite {
            users: PushTarget::All,
            persistent: true,
            url: "https://intranet.example.com".into(),
            name: "Intranet".into(),
            group: "Company".into(),
            usernametype: UsernameType::Email,
            username: String::new(),
            password: "s3cret-site-pw".into(),
            notes: String::new(),
            favorite: false,
        })
        .await
        .unwrap();
    assert!(!psid.is_empty());
    let pushed = emu.emulator().view().pushed_sites;
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].psid.to_string(), psid);
    assert_eq!(pushed[0].data["users"], "all");
    assert_eq!(pushed[0].data["persistent"], "1");
}

#[tokio::test]
async fn raw_pass_through() {
    let emu = emulator(12, 7).await;
    let c = client(&emu.base_url());
    let v = c
        .raw(
            "getuserdata",
            Some(&serde_json::json!({"pagesize": 5, "pageindex": 0})),
        )
        .await
        .unwrap();
    assert_eq!(v["count"], 5);
    assert!(v["Users"].as_object().unwrap().len() == 5);
    let err = c.raw("get user", None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { field: "cmd", .. }));
    let unknown = c.raw("nosuchcommand", None).await.unwrap();
    assert_eq!(unknown["status"], "FAIL");
}
