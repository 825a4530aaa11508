//! Every error path names the command and says what to do.

use std::time::Duration;

use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, Error, ProvisioningHash, UserFilter};

use crate::helpers::{CID, HASH, client, config, emulator, fast_retry};

#[tokio::test]
async fn wrong_hash_and_wrong_cid_are_authorization_errors() {
    let emu = emulator(5, 1).await;
    let mut bad = config(&emu.base_url());
    bad.provhash = ProvisioningHash::new("0".repeat(64)).unwrap();
    let err = Client::new(bad).unwrap().check().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(
        emu.emulator().requests("getuserdata"),
        1,
        "an auth error is not retried"
    );

    let mut bad = config(&emu.base_url());
    bad.cid = Cid::new(CID + 1);
    let err = Client::new(bad)
        .unwrap()
        .get_user_data(UserFilter::All)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.command(), Some("getuserdata"));
}

#[tokio::test]
async fn rotated_hash_is_rejected_at_once() {
    let emu = emulator(5, 1).await;
    let c = client(&emu.base_url());
    c.check().await.unwrap();
    let new_hash = emu.emulator().rotate_provhash();
    assert!(matches!(
        c.check().await.unwrap_err(),
        Error::Unauthorized { .. }
    ));
    let mut cfg = config(&emu.base_url());
    cfg.provhash = ProvisioningHash::new(new_hash).unwrap();
    Client::new(cfg).unwrap().check().await.unwrap();
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = client(&format!("http://127.0.0.1:{port}"));
    let err = c.check().await.unwrap_err();
    match &err {
        Error::Transport {
            command,
            attempts,
            endpoint,
            ..
        } => {
            assert_eq!(command, "getuserdata");
            assert_eq!(*attempts, fast_retry().max_attempts);
            assert!(endpoint.ends_with("/enterpriseapi.php"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
}

#[tokio::test]
async fn non_json_non_xml_body_is_a_decode_error_with_a_snippet() {
    let (url, _h) = crate::helpers::canned("<html><body>Service Unavailable</body></html>").await;
    let err = client(&url).check().await.unwrap_err();
    match &err {
        Error::Decode {
            command, snippet, ..
        } => {
            assert_eq!(command, "getuserdata");
            assert!(snippet.contains("Service Unavailable"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn other_xml_rc_is_shown() {
    let (url, _h) =
        crate::helpers::canned("<?xml version=\"1.0\"?>\n<lastpass rc=\"Too Many Requests\"/>\n")
            .await;
    let err = client(&url).check().await.unwrap_err();
    assert!(
        matches!(&err, Error::ApiCode { rc, .. } if rc == "Too Many Requests"),
        "{err:?}"
    );
}

#[tokio::test]
async fn failure_status_on_a_read_is_an_error_not_an_empty_list() {
    let (url, _h) =
        crate::helpers::canned("{\"status\":\"FAIL\",\"errors\":[\"Invalid data\"]}").await;
    let err = client(&url)
        .get_user_data(UserFilter::All)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rejected { errors, .. } if errors == &["Invalid data"]),
        "{err:?}"
    );
}

#[test]
fn bad_inputs_name_field_and_value() {
    let e = BaseUrl::custom("lastpass.com").unwrap_err().to_string();
    assert!(e.contains("url") && e.contains("lastpass.com"), "{e}");
    let mut c = ClientConfig::new(
        BaseUrl::custom("http://127.0.0.1:1").unwrap(),
        Cid::new(1),
        ProvisioningHash::new(HASH).unwrap(),
    );
    c.page_size = 0;
    let e = Client::new(c).unwrap_err().to_string();
    assert!(e.contains("page_size"), "{e}");
    let _ = Duration::from_secs(1);
}

#[tokio::test]
async fn an_empty_listing_is_an_error_not_an_empty_company() {
    for body in [
        "{\"Users\":[]}",
        "{}",
        "{\"status\":\"OK\"}",
        "{\"total\":0,\"count\":0,\"Users\":[]}",
    ] {
        let (url, _h) = crate::helpers::canned(body).await;
        let err = client(&url)
            .get_user_data(UserFilter::All)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no users at all"), "{body}: {err}");
    }
    // No disabled users is a fine answer.
    let (url, _h) = crate::helpers::canned("{\"total\":0,\"count\":0,\"Users\":[]}").await;
    let dir = client(&url)
        .get_user_data(UserFilter::Disabled)
        .await
        .unwrap();
    assert!(dir.users.is_empty());
}

#[tokio::test]
async fn a_server_that_ignores_paging_does_not_loop() {
    // Three users, no total, every page the same: read once, then stop at the page that
    // brings nothing new.
    let body = r#"{"Users":{"1":{"username":"a@x.io"},"2":{"username":"b@x.io"},"3":{"username":"c@x.io"}}}"#;
    let (url, _h) = crate::helpers::canned(body).await;
    let c = crate::helpers::client_with(&url, |c| c.page_size = 2);
    let dir = c.get_user_data(UserFilter::All).await.unwrap();
    assert_eq!(dir.users.len(), 3);
}

#[tokio::test]
async fn an_implausible_total_is_refused_before_paging() {
    let body = r#"{"total":1000000000000,"count":2,"Users":{"1":{"username":"a@x.io"},"2":{"username":"b@x.io"}}}"#;
    let (url, _h) = crate::helpers::canned(body).await;
    let c = crate::helpers::client_with(&url, |c| c.page_size = 2);
    let err = c.get_user_data(UserFilter::All).await.unwrap_err();
    assert!(err.to_string().contains("implausible"), "{err}");
}

#[tokio::test]
async fn an_echoed_hash_is_masked_in_rejections() {
    let body: &'static str = Box::leak(
        format!(
            "{{\"status\":\"FAIL\",\"errors\":[\"bad request {}\"]}}",
            crate::helpers::HASH
        )
        .into_boxed_str(),
    );
    let (url, _h) = crate::helpers::canned(body).await;
    let err = client(&url)
        .reset_password("a@example.com")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&crate::helpers::HASH[..12]), "{text}");
    assert!(text.contains("***"), "{text}");
}
