//! Starting an emulator or a canned server and a client pointed at it.

use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use lpgate_emulator::{CompanySpec, Credentials, Emulator, RunningEmulator};
use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, ProvisioningHash, RetryPolicy};

pub const CID: u64 = 8771312;
pub const HASH: &str = "5f1e0c6a1b2d3c4e5f60718293a4b5c6d7e8f90112233445566778899aabbccd";

/// A running emulator with a generated company of `users` users.
pub async fn emulator(users: usize, seed: u64) -> RunningEmulator {
    let spec = CompanySpec::new(users, seed);
    Emulator::generate(&spec, creds())
        .start(([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

pub fn creds() -> Credentials {
    Credentials {
        cid: CID,
        provhash: HASH.to_string(),
    }
}

/// Retries fast so fault tests take milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    }
}

pub fn config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(
        BaseUrl::custom(base).unwrap(),
        Cid::new(CID),
        ProvisioningHash::new(HASH).unwrap(),
    );
    c.retry = fast_retry();
    c.request_timeout = Duration::from_secs(10);
    c
}

pub fn client(base: &str) -> Client {
    Client::new(config(base)).unwrap()
}

pub fn client_with(base: &str, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut c = config(base);
    tweak(&mut c);
    Client::new(c).unwrap()
}

/// A server that answers every POST with `body`, labelled `text/xml` as LastPass does.
pub async fn canned(body: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/enterpriseapi.php",
        axum::routing::post(move || async move {
            ([(header::CONTENT_TYPE, "text/xml;charset=UTF-8")], body).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), handle)
}

/// A fixture body from the repository's `fixtures/lastpass/`.
#[macro_export]
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/lastpass/",
            $name
        ))
    };
}
