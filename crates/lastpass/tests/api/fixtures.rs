//! Every recorded fixture, served byte for byte, parses through the client's public methods.

use lpgate_lastpass::{DeleteAction, Error, EventQuery, NewUser, UserFilter};

use crate::fixture;
use crate::helpers::{canned, client};

#[tokio::test]
async fn getuserdata_full_listing() {
    let (url, _h) = canned(fixture!("getuserdata-full.json")).await;
    let dir = client(&url).get_user_data(UserFilter::All).await.unwrap();
    assert_eq!(dir.total, 4);
    assert_eq!(dir.users.len(), 4);
    let ada = &dir.users[0];
    assert_eq!(ada.id, "449022543");
    assert_eq!(ada.username, "ada.admin@example.com");
    assert_eq!(ada.fullname, "");
    assert_eq!(ada.mpstrength, Some(100));
    assert!(ada.groups.is_empty(), "groups key omitted means no groups");
    assert!(ada.admin && !ada.disabled && !ada.never_logged_in);
    assert_eq!(ada.total_score, Some(0.0));
    assert_eq!(ada.duo_username, None);
    assert_eq!(ada.last_login.unwrap().to_string(), "2022-06-02 09:20:59");
    let cy = dir.users.iter().find(|u| u.id == "456589433").unwrap();
    assert!(cy.never_logged_in);
    assert_eq!(cy.last_login, None);
    assert_eq!(cy.total_score, None);
    assert_eq!(cy.sites, None);
    assert!(cy.password_reset_required);
    assert_eq!(cy.groups, vec!["Integration Development"]);
    let cy2 = dir.users.iter().find(|u| u.id == "456594193").unwrap();
    assert_eq!(
        (cy2.mpstrength, cy2.sites, cy2.notes),
        (Some(75), Some(1), Some(1))
    );
    assert_eq!(dir.groups["Integration Development"].len(), 3);
}

#[tokio::test]
async fn getuserdata_single_page_shape() {
    // One user, `groups: []`, no Groups map, total larger than count: the client must see that
    // the listing is short and refuse to return it as complete.
    let (url, _h) = canned(fixture!("getuserdata-page.json")).await;
    let c = client(&url);
    let err = c.get_user_data(UserFilter::All).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Incomplete {
                expected: 4,
                got: 1,
                ..
            }
        ),
        "{err}"
    );
    // The same body is a fine answer to a one-user question.
    let ada = c.get_user("ada.admin@example.com").await.unwrap().unwrap();
    assert!(ada.groups.is_empty());
    assert_eq!(c.check().await.unwrap(), 4);
}

#[tokio::test]
async fn getuserdata_unknown_user() {
    let (url, _h) = canned(fixture!("getuserdata-unknown-user.json")).await;
    assert_eq!(
        client(&url).get_user("nobody@example.com").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn auth_error_xml() {
    let (url, _h) = canned(fixture!("auth-error.xml")).await;
    let err = client(&url)
        .get_user_data(UserFilter::All)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("getuserdata") && text.contains("CID or provisioning hash was rejected"),
        "{text}"
    );
}

#[tokio::test]
async fn batch_warn_reports_per_user() {
    let (url, _h) = canned(fixture!("batch-warn.json")).await;
    let out = client(&url)
        .batch_add(&[
            NewUser::new("user1@example.com"),
            NewUser::new("user2@example.com"),
        ])
        .await
        .unwrap();
    assert_eq!(out.warnings.len(), 1);
    assert_eq!(
        out.warnings[0].username.as_deref(),
        Some("user2@example.com")
    );
    assert_eq!(out.warnings[0].message, "user2@example.com does not exist");
}

#[tokio::test]
async fn write_ok() {
    let (url, _h) = canned(fixture!("write-ok.json")).await;
    let c = client(&url);
    assert!(
        c.delete_user("a@example.com", DeleteAction::Deactivate)
            .await
            .unwrap()
            .is_clean()
    );
    assert!(c.reset_password("a@example.com").await.unwrap().is_clean());
}

#[tokio::test]
async fn disableuser_reply() {
    let (url, _h) = canned(fixture!("disableuser.json")).await;
    let out = client(&url)
        .disable_users(&["ann@example.com".into(), "ben@example.com".into()])
        .await
        .unwrap();
    assert_eq!(out.changed, vec!["ann@example.com"]);
    assert_eq!(out.unchanged, vec!["ben@example.com"]);
    assert_eq!(out.error, None);
}

#[tokio::test]
async fn reporting_reply() {
    let (url, _h) = canned(fixture!("reporting.json")).await;
    let events = client(&url)
        .reporting(&EventQuery::default())
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].action, "Failed Login Attempt");
    assert_eq!(events[0].time.to_string(), "2015-07-17 09:51:51");
    assert_eq!(events[1].action, "Make Admin");
    assert_eq!(events[1].data, "j.user@example.com");
    assert_eq!(events[1].ip_address, "10.16.21.4");
}

#[tokio::test]
async fn getsfdata_mixed_encodings() {
    let (url, _h) = canned(fixture!("getsfdata.json")).await;
    let folders = client(&url).get_shared_folders().await.unwrap();
    assert_eq!(folders.len(), 2);
    let fin = &folders[0];
    assert_eq!(
        (fin.id.as_str(), fin.name.as_str(), fin.score),
        ("101", "Shared-Finance", Some(99.0))
    );
    let ann = &fin.users[0];
    assert!(!ann.readonly && ann.give && ann.can_administer && !ann.superadmin);
    let ben = &fin.users[1];
    assert!(ben.readonly && !ben.give && !ben.can_administer);
    let ops = &folders[1];
    assert_eq!(ops.score, Some(72.5));
    assert!(ops.users[0].readonly && !ops.users[0].give);
}
