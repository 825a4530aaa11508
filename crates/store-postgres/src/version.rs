//! `Store::data_version` for PostgreSQL: a counter in memory that moves whenever any process
//! commits a write. Every table carries a statement trigger that NOTIFYs `lpgate_data` (see
//! schema.rs); NOTIFY is delivered at commit, so a background connection LISTENing on the
//! channel bumps the counter just after each committed write. While that connection is down
//! the version is `None` (callers then cache nothing), and reconnecting bumps it, so nothing
//! cached across the gap is trusted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

/// The counter and whether it is live.
pub struct Watcher {
    version: Arc<AtomicU64>,
    live: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// Starts listening; returns once the first LISTEN is in place (or failed).
    pub async fn start(config: tokio_postgres::Config) -> Watcher {
        let version = Arc::new(AtomicU64::new(1));
        let live = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(listen(config, version.clone(), live.clone(), ready_tx));
        let _ = tokio::time::timeout(Duration::from_secs(10), ready).await;
        Watcher {
            version,
            live,
            task,
        }
    }

    /// Moves the version at once after a write of this process (its NOTIFY arrives a moment
    /// later and moves it again), so this process never serves what it has just replaced.
    pub fn bump(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// The current version, or `None` while not listening.
    pub fn get(&self) -> Option<u64> {
        self.live
            .load(Ordering::Acquire)
            .then(|| self.version.load(Ordering::Acquire))
    }
}

async fn listen(
    config: tokio_postgres::Config,
    version: Arc<AtomicU64>,
    live: Arc<AtomicBool>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                // The connection is driven by polling `messages`; LISTEN runs meanwhile.
                let ok = {
                    let listen = client.batch_execute("LISTEN lpgate_data");
                    tokio::pin!(listen);
                    loop {
                        tokio::select! {
                            r = &mut listen => break r.is_ok(),
                            m = messages.next() => if !matches!(m, Some(Ok(_))) { break false },
                        }
                    }
                };
                if ok {
                    version.fetch_add(1, Ordering::AcqRel);
                    live.store(true, Ordering::Release);
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    while let Some(m) = messages.next().await {
                        match m {
                            Ok(AsyncMessage::Notification(_)) => {
                                version.fetch_add(1, Ordering::AcqRel);
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                }
                live.store(false, Ordering::Release);
                drop(client);
                tracing::warn!(
                    "the PostgreSQL change listener stopped; caches are off until it reconnects"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "the PostgreSQL change listener cannot connect");
            }
        }
        if let Some(r) = ready.take() {
            let _ = r.send(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
