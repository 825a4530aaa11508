//! HTTP: the axum router (`/enterpriseapi.php` plus `/_emulator/*`), and starting and stopping
//! a listening emulator.

mod api;
mod control;
mod fleet;

pub use fleet::{Fleet, RunningFleet};

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::emulator::Emulator;
use crate::error::EmulatorError;

/// Largest request body accepted (a big batchadd); axum's 2 MB default is too small.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

impl Emulator {
    /// The routes: `POST /enterpriseapi.php` (the Enterprise API) and the JSON control routes
    /// under `/_emulator/` (see docs/emulator.md).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/enterpriseapi.php", post(api::enterpriseapi))
            .nest("/_emulator", control::routes())
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }

    /// Binds `addr` (port 0 picks a free port), starts serving in the background and returns
    /// once the socket accepts connections.
    pub async fn start(self, addr: SocketAddr) -> Result<RunningEmulator, EmulatorError> {
        let (local, tx, task) = serve(addr, self.router(), "emulator server").await?;
        tracing::debug!(message = "emulator listening", addr = %local);
        Ok(RunningEmulator {
            addr: local,
            emulator: self,
            stop: Some(tx),
            task,
        })
    }
}

/// Binds `addr` and serves `app` in the background until the returned sender fires (or is
/// dropped); shared by one emulator and a fleet of them. `what` names the server in the log.
pub(super) async fn serve(
    addr: SocketAddr,
    app: Router,
    what: &'static str,
) -> Result<(SocketAddr, oneshot::Sender<()>, JoinHandle<()>), EmulatorError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(message = "stopped with an error", server = what, %error);
        }
    });
    Ok((local, tx, task))
}

/// A listening emulator. Dropping it stops the server too; [`RunningEmulator::shutdown`] also
/// waits for in-flight requests to finish.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningEmulator {
    /// The bound address (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, the base URL a client appends `/enterpriseapi.php` to.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The emulator behind the server, for control calls and inspection.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
