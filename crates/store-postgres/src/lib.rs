//! lpgate's scale-out store: PostgreSQL through tokio-postgres and a deadpool pool, its own
//! migrations (run at open under an advisory lock), COPY for the bulk first snapshot,
//! generated tsvector columns for search, and a read-only sandbox whose sessions log in as a
//! role that may only select the documented views.
//!
//! It behaves as the SQLite store does — same rows, same order, same errors, same cursors —
//! and the shared behaviour suite (`lpgate-store-testkit`) runs every test against both.
//! Several lpgate processes may share one database: sync locks are session advisory locks
//! (released when a process dies), the outbox is claimed with `FOR UPDATE SKIP LOCKED`, and
//! every committed write is announced with NOTIFY so each process's `data_version` moves.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod act;
mod api;
mod expired;
mod lock;
mod metrics;
pub mod migrate;
mod read;
mod rows;
mod sandbox;
mod schema;
mod scim;
mod search;
mod sync;
mod tokens;
mod tsv;
mod version;
mod views;
mod watch;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use lpgate_store::{StoreError, StoreResult};
use tokio_postgres::NoTls;

pub use views::VIEW_NAMES;

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Connection settings of lpgate's own role (locks open their own connection).
    config: tokio_postgres::Config,
    /// lpgate's own connections.
    pool: Pool,
    /// Connections of the sandbox role, for `Store::query`.
    sandbox: Pool,
    /// The write counter fed by NOTIFY (see `version.rs`).
    version: version::Watcher,
    /// Sync locks this process is releasing (see `lock.rs`).
    releasing: lock::Releasing,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.inner.config;
        f.debug_struct("PostgresStore")
            .field("hosts", &c.get_hosts())
            .field("dbname", &c.get_dbname())
            .finish()
    }
}

/// The text of a database error: the server's own message (and detail) when there is one,
/// which tokio-postgres's `Display` leaves out.
pub(crate) fn message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// Maps a database error to the store's `Backend` error naming the operation.
pub(crate) fn backend(context: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::Backend {
        context,
        message: message(&e),
    }
}

/// Whether the error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

fn pool(config: tokio_postgres::Config, size: usize) -> StoreResult<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Backend {
            context: "open",
            message: e.to_string(),
        })
}

/// Opens one connection outside the pools, driving it on a task.
pub(crate) async fn connect(
    config: &tokio_postgres::Config,
    context: &'static str,
) -> StoreResult<tokio_postgres::Client> {
    let (client, connection) = config.connect(NoTls).await.map_err(backend(context))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/dbname`), migrates the database
    /// (safely when several processes start at once) and prepares the query sandbox.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Backend {
            context: "open",
            message: format!("bad PostgreSQL URL: {e}"),
        })?;
        // No JIT compilation: lpgate's statements are short, but the planner's estimates for
        // the rules' correlated subqueries over the views pass JIT's cost thresholds, and
        // compiling them took 3–4 s per rule, against milliseconds to run them.
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} -c jit=off"),
            _ => "-c jit=off".to_string(),
        };
        config.options(&options);
        let mut client = connect(&config, "open").await?;
        schema::migrate(&mut client)
            .await
            .map_err(backend("migrate"))?;
        let (role, password) = sandbox::ensure_role(&mut client).await?;
        drop(client);
        let mut sandbox_config = config.clone();
        sandbox_config.user(&role).password(password.as_bytes());
        let version = version::Watcher::start(config.clone()).await;
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool: pool(config.clone(), 16)?,
                sandbox: pool(sandbox_config, 4)?,
                config,
                version,
                releasing: lock::Releasing::default(),
            }),
        })
    }

    /// A pooled connection of lpgate's own role.
    pub(crate) async fn conn(
        &self,
        context: &'static str,
    ) -> StoreResult<deadpool_postgres::Object> {
        self.inner
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Backend {
                context,
                message: e.to_string(),
            })
    }

    /// Waits until writes already started are done. Every write here completes before its
    /// call returns (the search index is generated with each row), so there is nothing to
    /// wait for; kept so callers treat both backends alike.
    pub async fn settled(&self) -> StoreResult<()> {
        Ok(())
    }
}
