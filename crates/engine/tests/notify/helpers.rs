//! A test bed: a store in a temp dir with one account, an HTTP receiver that records what
//! it is sent and answers as scripted, and a clock the test moves.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, TimeZone, Utc};
use lpgate_domain::{Change, ChangeKind};
use lpgate_engine::deliver::{self, DeliveryPolicy, DeliveryReport};
use lpgate_engine::notify::{Channel, ChannelKind, Routing, Subscription};
use lpgate_engine::rules::Severity;
use lpgate_store::{AccountEndpoint, AccountRow, Delivery, NewAccount, Store};
use lpgate_store_sqlite::SqliteStore;

pub const SECRET: &str = "whsec-test-6f1d2c";

/// A clock the test moves; delivery asks it for "now".
#[derive(Clone)]
pub struct Clock(Arc<Mutex<DateTime<Utc>>>);

impl Clock {
    pub fn start() -> Self {
        Clock(Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        )))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }

    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap();
        *t += chrono::Duration::from_std(d).unwrap();
    }

    pub fn fun(&self) -> impl Fn() -> DateTime<Utc> + use<> {
        let c = self.clone();
        move || c.now()
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    /// Statuses to answer, in order; 200 once they run out.
    script: VecDeque<u16>,
    /// How long to wait before answering (the request is recorded first).
    delay: Duration,
    got: Vec<Received>,
}

/// An HTTP receiver on 127.0.0.1 that records every POST.
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    task: tokio::task::JoinHandle<()>,
}

async fn hook(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (status, delay) = {
        let mut s = state.lock().unwrap();
        s.got.push(Received { headers, body });
        (s.script.pop_front().unwrap_or(200), s.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    /// A receiver on a free port.
    pub async fn start() -> Self {
        Self::start_on(([127, 0, 0, 1], 0).into()).await
    }

    /// A receiver on this address (to bring one back where a closed port was).
    pub async fn start_on(addr: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, state, task }
    }

    pub fn url(&self) -> String {
        url_of(self.addr)
    }

    /// Answers these statuses to the next requests, then 200.
    pub fn script(&self, statuses: &[u16]) {
        self.state.lock().unwrap().script = statuses.iter().copied().collect();
    }

    pub fn delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }

    pub fn got(&self) -> Vec<Received> {
        self.state.lock().unwrap().got.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn url_of(addr: SocketAddr) -> String {
    format!("http://{addr}/hook")
}

/// An address nothing listens on (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    l.local_addr().unwrap()
}

pub struct Bed {
    pub dir: tempfile::TempDir,
    pub store: SqliteStore,
    pub account: AccountRow,
    pub clock: Clock,
    pub http: reqwest::Client,
    pub policy: DeliveryPolicy,
}

/// A store with the account `acme` and a short request timeout.
pub async fn bed() -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("lpgate.sqlite"))
        .await
        .unwrap();
    let clock = Clock::start();
    let account = store
        .add_account(NewAccount {
            name: "acme".into(),
            cid: 424242,
            endpoint: AccountEndpoint::Url("http://127.0.0.1:9".into()),
            provhash_sealed: vec![0; 16],
            time_zone: "America/New_York".into(),
            sync_interval_secs: 900,
            now: clock.now(),
        })
        .await
        .unwrap();
    let policy = DeliveryPolicy {
        timeout: Duration::from_secs(2),
        lease: Duration::from_secs(120),
        ..DeliveryPolicy::default()
    };
    let http = deliver::http_client(&policy).unwrap();
    Bed {
        dir,
        store,
        account,
        clock,
        http,
        policy,
    }
}

impl Bed {
    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("lpgate.sqlite")
    }

    /// One delivery pass at the clock's time.
    pub async fn deliver(&self, routing: &Routing) -> DeliveryReport {
        deliver::deliver_due(
            &self.store,
            routing,
            &self.policy,
            &self.http,
            self.clock.fun(),
        )
        .await
        .unwrap()
    }

    /// Queues the notifications `routing` makes of these changes.
    pub async fn queue_changes(&self, routing: &Routing, changes: &[Change]) -> usize {
        let notes = routing.for_changes(self.account.id, &self.account.name, changes);
        let n = notes.len();
        self.store
            .enqueue_notifications(notes, self.clock.now())
            .await
            .unwrap();
        n
    }

    pub async fn deliveries(&self) -> Vec<Delivery> {
        self.store.list_deliveries(None, 100).await.unwrap()
    }

    pub async fn only_delivery(&self) -> Delivery {
        let all = self.deliveries().await;
        assert_eq!(all.len(), 1, "{all:#?}");
        all.into_iter().next().unwrap()
    }
}

/// A webhook channel `hook` at `url` that hears about admin grants and high findings.
pub fn webhook_routing(url: &str) -> Routing {
    Routing {
        channels: vec![Channel {
            name: "hook".into(),
            kind: ChannelKind::Webhook,
            url: url.into(),
            secret: Some(SECRET.into()),
        }],
        subscriptions: vec![Subscription {
            channel: "hook".into(),
            findings: Some(Severity::High),
            changes: vec!["user.admin_granted".into()],
        }],
    }
}

pub fn admin_granted(email: &str) -> Change {
    Change {
        kind: ChangeKind::UserAdminGranted,
        subject: email.into(),
        related: None,
        before: Some("user".into()),
        after: Some("admin".into()),
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
