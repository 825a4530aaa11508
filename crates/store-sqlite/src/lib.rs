//! lpgate's embedded default store: one SQLite file (bundled SQLite, WAL), migrations that
//! run themselves, and the [`Store`] trait implemented with blocking calls moved off the async
//! runtime.
//!
//! One writer connection (SQLite allows one writer at a time anyway) and a small pool of
//! reader connections, which WAL lets read while a sync writes. Sync locks are advisory file
//! locks beside the database, so a process killed mid-sync releases its lock with its life.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod act;
mod api;
mod batch;
mod expired;
mod lock;
mod metrics;
mod pages;
mod read;
mod rows;
mod sandbox;
mod schema;
mod scim;
mod search;
mod sync;
mod tokens;
mod views;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lpgate_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    queriers: Mutex<Vec<sandbox::QueryConn>>,
    /// A read-only connection that only asks `PRAGMA data_version` (see `data_version`).
    watcher: Mutex<Option<Connection>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Leave a compact file behind: fold the WAL in when the last handle goes, but only
        // from a process that wrote, and without waiting on anyone: a read-only command (a
        // script polling `lpgate plans list`) must never hold up `lpgate serve`'s writes.
        if let Ok(conn) = self.writer.get_mut()
            && conn.total_changes() > 0
        {
            let _ = conn.busy_timeout(std::time::Duration::from_millis(100));
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// Copies the WAL into the database file with the writer connection (see
/// `checkpoint_later`); a failure is logged, and the next sync's checkpoint retries it.
pub(crate) fn checkpoint(writer: &Connection) {
    if let Err(e) = writer.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
        tracing::warn!(error = %e, "WAL checkpoint failed; it is retried after the next sync");
    }
}

pub(crate) fn backend(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::Backend {
        context,
        message: e.to_string(),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Room for a user page's statement per filter combination (see `pages.rs`) beside the
    // rest, so a busy server never re-parses them.
    conn.set_prepared_statement_cache_capacity(128);
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and migrates it.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(path))
            .await
            .map_err(|e| StoreError::Backend {
                context: "open",
                message: e.to_string(),
            })?
    }

    fn open_blocking(path: PathBuf) -> StoreResult<Self> {
        let mut conn = Connection::open(&path).map_err(|e| StoreError::Backend {
            context: "open",
            message: format!("{}: {e}", path.display()),
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend("open: enable WAL"))?;
        // Checkpoints run after a sync commits, off its path (see `checkpoint_later`), rather
        // than inside the commit of a 100,000-user first sync.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(backend("open: configure WAL"))?;
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
            .map_err(backend("open: configure WAL"))?;
        configure(&conn).map_err(backend("open: configure"))?;
        schema::migrate(&mut conn).map_err(backend("migrate"))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(conn),
                readers: Mutex::new(Vec::new()),
                queriers: Mutex::new(Vec::new()),
                watcher: Mutex::new(None),
            }),
        })
    }

    /// `PRAGMA data_version` of a connection that never writes: it changes whenever any
    /// other connection, in this process or another, commits. Asked on the calling thread: it
    /// reads the WAL index in shared memory and takes microseconds.
    pub(crate) fn data_version_now(&self) -> Option<u64> {
        let mut guard = self.inner.watcher.lock().ok()?;
        if guard.is_none() {
            *guard = Some(self.open_reader().ok()?);
        }
        let conn = guard.as_ref()?;
        let version = conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut st| st.query_row([], |r| r.get::<_, i64>(0)));
        match version {
            Ok(v) => Some(v as u64),
            Err(e) => {
                tracing::warn!(error = %e, "PRAGMA data_version failed");
                *guard = None;
                None
            }
        }
    }

    /// The size of the write-ahead log (0 when there is none).
    pub(crate) fn wal_bytes(&self) -> u64 {
        let mut wal = self.inner.path.clone().into_os_string();
        wal.push("-wal");
        std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the writer connection on the calling (blocking) thread.
    pub(crate) fn with_writer<T>(
        &self,
        what: &'static str,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.inner.writer.lock().map_err(|_| StoreError::Backend {
            context: what,
            message: "the writer connection was poisoned by an earlier panic".into(),
        })?;
        f(&mut conn)
    }

    /// Runs `f` with the writer connection on the blocking pool.
    pub(crate) async fn write<T, F>(&self, what: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().map_err(|_| StoreError::Backend {
                context: what,
                message: "the writer connection was poisoned by an earlier panic".into(),
            })?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Backend {
            context: what,
            message: e.to_string(),
        })?
    }

    /// Copies the WAL into the database file in the background, without blocking readers or
    /// the caller; the next writer waits for it only if it is still running.
    pub(crate) fn checkpoint_later(&self) {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            if let Ok(conn) = inner.writer.lock() {
                checkpoint(&conn);
            }
        });
    }

    fn open_reader(&self) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            &self.inner.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&c)?;
        Ok(c)
    }

    /// Runs `f` with a pooled reader connection on the calling thread.
    pub(crate) fn read_now<T>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let pooled = self.inner.readers.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => self.open_reader().map_err(backend("open reader"))?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.inner.readers.lock()
            && pool.len() < 4
        {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` with a reader connection on the blocking pool.
    pub(crate) async fn read<T, F>(&self, what: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_now(f))
            .await
            .map_err(|e| StoreError::Backend {
                context: what,
                message: e.to_string(),
            })?
    }

    /// Waits until writes already started (such as the search index a first snapshot builds
    /// just after it commits) are done.
    pub async fn settled(&self) -> StoreResult<()> {
        self.write("wait for writes", |_| Ok(())).await
    }

    /// Runs queries one after another on one pooled query connection, in one blocking task,
    /// stopping at the first that fails (see `Store::query_all`).
    pub(crate) async fn sandboxed_all(
        &self,
        requests: Vec<lpgate_store::QueryRequest>,
    ) -> StoreResult<Vec<StoreResult<lpgate_store::QueryResult>>> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.queriers.lock().ok().and_then(|mut p| p.pop());
            let mut conn = match pooled {
                Some(c) => c,
                None => sandbox::QueryConn::open(&inner.path)
                    .map_err(backend("open query connection"))?,
            };
            let mut out = Vec::with_capacity(requests.len());
            for request in &requests {
                let result = conn.run(request);
                let failed = result.is_err();
                out.push(result);
                if failed {
                    break;
                }
            }
            if let Ok(mut pool) = inner.queriers.lock()
                && pool.len() < 4
            {
                pool.push(conn);
            }
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Backend {
            context: "query",
            message: e.to_string(),
        })?
    }
}
