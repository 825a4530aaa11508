//! One behaviour suite for every store backend: a test written once as
//! `async fn name<S: TestStore>()` runs against SQLite and PostgreSQL through [`both!`], so a
//! difference between the backends is a failing test.
//!
//! Each test gets a store of its own: a SQLite file in a temporary directory, or a fresh
//! PostgreSQL database (`CREATE DATABASE t_<random>`) on the server named by
//! `LPGATE_TEST_POSTGRES` (scripts/test starts a private cluster and sets it). When that
//! variable is unset the PostgreSQL tests fail and say so; `LPGATE_TEST_POSTGRES=skip` skips
//! them (each prints that it did).

#![allow(clippy::panic, clippy::expect_used)]

use std::future::Future;
use std::path::PathBuf;

use lpgate_store::Store;
pub use lpgate_store_postgres::PostgresStore;
pub use lpgate_store_sqlite::SqliteStore;

/// The environment variable naming the PostgreSQL server the tests use.
pub const ENV: &str = "LPGATE_TEST_POSTGRES";

/// Where a test's store lives, to open a second handle on it (as another process would).
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// A fresh store and what keeps it alive.
pub struct Fresh<S> {
    /// The store.
    pub store: S,
    /// Where it lives.
    pub location: Location,
    /// A scratch directory for the test (the SQLite file's directory).
    pub dir: tempfile::TempDir,
}

/// A store backend the behaviour suite runs against.
pub trait TestStore: Store + Sized {
    /// `sqlite` or `postgres`.
    const NAME: &'static str;
    /// A new, empty, migrated store; `None` when this backend's tests are skipped.
    fn fresh() -> impl Future<Output = Option<Fresh<Self>>> + Send;
    /// Another handle on the store at `location`.
    fn open_at(location: &Location) -> impl Future<Output = Self> + Send;
    /// Waits until writes already started are done (SQLite builds a first snapshot's search
    /// index just after it commits).
    fn settled(&self) -> impl Future<Output = ()> + Send;
}

impl TestStore for SqliteStore {
    const NAME: &'static str = "sqlite";

    async fn fresh() -> Option<Fresh<Self>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lpgate.sqlite");
        let store = SqliteStore::open(&path).await.expect("open SQLite store");
        Some(Fresh {
            store,
            location: Location::Sqlite(path),
            dir,
        })
    }

    async fn open_at(location: &Location) -> Self {
        match location {
            Location::Sqlite(p) => SqliteStore::open(p).await.expect("reopen SQLite store"),
            Location::Postgres(_) => panic!("a SQLite test got a PostgreSQL location"),
        }
    }

    async fn settled(&self) {
        SqliteStore::settled(self).await.expect("settle");
    }
}

/// The server URL from [`ENV`]; `None` when the tests are to be skipped.
pub fn server_url() -> Option<String> {
    match std::env::var(ENV) {
        Ok(v) if v == "skip" => {
            eprintln!("skipped: {ENV}=skip, so this PostgreSQL test did not run");
            None
        }
        Ok(v) if !v.is_empty() => Some(v),
        _ => panic!(
            "{ENV} is not set: the PostgreSQL store tests need a server. Run scripts/test (it \
             starts a private cluster), or start one with \
             `eval \"$(scripts/pg-test-cluster start)\"`, or set {ENV}=skip to skip them"
        ),
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let query = tail
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{scheme}://{authority}/{db}{query}")
}

/// Creates an empty database on the test server; returns its URL.
pub async fn fresh_database(server: &str) -> String {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {ENV}={server}: {e}"));
    tokio::spawn(connection);
    let name = format!("t_{:016x}", fastrand::u64(..));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    with_database(server, &name)
}

impl TestStore for PostgresStore {
    const NAME: &'static str = "postgres";

    async fn fresh() -> Option<Fresh<Self>> {
        let server = server_url()?;
        let url = fresh_database(&server).await;
        let store = PostgresStore::open(&url)
            .await
            .unwrap_or_else(|e| panic!("open PostgreSQL store: {e}"));
        Some(Fresh {
            store,
            location: Location::Postgres(url),
            dir: tempfile::tempdir().expect("temp dir"),
        })
    }

    async fn open_at(location: &Location) -> Self {
        match location {
            Location::Postgres(url) => PostgresStore::open(url)
                .await
                .unwrap_or_else(|e| panic!("reopen PostgreSQL store: {e}")),
            Location::Sqlite(_) => panic!("a PostgreSQL test got a SQLite location"),
        }
    }

    async fn settled(&self) {
        PostgresStore::settled(self).await.expect("settle");
    }
}

/// Runs each named generic test `async fn name<S: TestStore>()` once per backend, as
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name::<$crate::SqliteStore>().await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name::<$crate::PostgresStore>().await
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5/postgres", "t_1"),
            "postgres://u@127.0.0.1:5/t_1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/x?sslmode=disable", "t_2"),
            "postgres://u:p@h/t_2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5", "t"), "postgres://h:5/t");
    }
}
