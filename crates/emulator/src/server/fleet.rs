//! Several companies behind one endpoint, told apart by each request's `cid`, as LastPass
//! serves every company from one URL. Benchmarks of many accounts (an MSP's hundreds of
//! clients) need hundreds of distinct companies without hundreds of processes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{BODY_LIMIT, api};
use crate::emulator::Emulator;
use crate::error::EmulatorError;
use crate::wire::{self, AUTH_ERROR_XML, INVALID_REQUEST_XML};

/// Companies served on one address; a request goes to the company whose cid it names, and a
/// cid no company has gets LastPass's authentication error.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    companies: Arc<HashMap<u64, Emulator>>,
}

impl Fleet {
    /// The fleet of these companies, each keyed by the cid its credentials name (a later
    /// company with the same cid replaces an earlier one).
    pub fn new(companies: impl IntoIterator<Item = Emulator>) -> Self {
        let companies = companies
            .into_iter()
            .map(|e| (e.credentials().cid, e))
            .collect();
        Self {
            companies: Arc::new(companies),
        }
    }

    /// The company answering to `cid`, for control calls (faults, users' actions).
    pub fn company(&self, cid: u64) -> Option<&Emulator> {
        self.companies.get(&cid)
    }

    /// Every company, in no particular order.
    pub fn companies(&self) -> impl Iterator<Item = &Emulator> {
        self.companies.values()
    }

    /// `POST /enterpriseapi.php`, dispatched by cid. (The per-company control routes are
    /// reachable in-process through [`Fleet::company`].)
    pub fn router(&self) -> Router {
        Router::new()
            .route("/enterpriseapi.php", post(dispatch))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }

    /// Binds `addr` (port 0 picks a free port) and serves in the background.
    pub async fn start(self, addr: SocketAddr) -> Result<RunningFleet, EmulatorError> {
        let (local, tx, task) = super::serve(addr, self.router(), "emulator fleet").await?;
        Ok(RunningFleet {
            addr: local,
            stop: Some(tx),
            task,
        })
    }
}

async fn dispatch(State(fleet): State<Fleet>, body: Bytes) -> Response {
    let Some(envelope) = wire::parse_envelope(&body) else {
        return api::api_reply(INVALID_REQUEST_XML.to_vec());
    };
    match envelope.cid.and_then(|cid| fleet.companies.get(&cid)) {
        Some(emu) => api::enterpriseapi(State(emu.clone()), body).await,
        None => api::api_reply(AUTH_ERROR_XML.to_vec()),
    }
}

/// A listening fleet; dropping it stops the server.
#[derive(Debug)]
pub struct RunningFleet {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningFleet {
    /// `http://IP:PORT`, the base URL every company's account points at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningFleet {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompanySpec, Credentials};

    #[tokio::test]
    async fn each_request_reaches_the_company_its_cid_names() {
        let a = Emulator::generate(&CompanySpec::new(3, 1), Credentials::from_seed(1));
        let b = Emulator::generate(&CompanySpec::new(5, 2), Credentials::from_seed(2));
        let (ca, cb) = (a.credentials(), b.credentials());
        let fleet = Fleet::new([a, b]);
        let running = fleet
            .clone()
            .start(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let url = format!("{}/enterpriseapi.php", running.base_url());
        let http = reqwest::Client::new();
        let ask = |c: &Credentials| serde_json::json!({"cid": c.cid, "provhash": c.provhash, "cmd": "getuserdata", "data": {}});
        let count = |body: String| -> usize {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            v["Users"].as_object().map_or(0, |m| m.len())
        };
        for (creds, users) in [(&ca, 3), (&cb, 5)] {
            let body = http
                .post(&url)
                .body(ask(creds).to_string())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(count(body) >= users, "cid {}", creds.cid);
        }
        // Another company's hash is refused, and so is an unknown cid.
        let wrong = Credentials {
            cid: ca.cid,
            provhash: cb.provhash.clone(),
        };
        let unknown = Credentials {
            cid: 1,
            provhash: ca.provhash.clone(),
        };
        for creds in [wrong, unknown] {
            let body = http
                .post(&url)
                .body(ask(&creds).to_string())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body.as_bytes(), AUTH_ERROR_XML, "cid {}", creds.cid);
        }
        running.shutdown().await;
    }
}
