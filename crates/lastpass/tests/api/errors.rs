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
