//! What every command that touches the installation needs: the data directory, the config,
//! the store and the master key.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use lpgate_engine::MasterKey;
use lpgate_store::Store;
use lpgate_store_postgres::PostgresStore;
use lpgate_store_sqlite::SqliteStore;

use crate::cli::GlobalArgs;
use crate::config::Config;

/// File names inside the data directory.
pub const CONFIG_FILE: &str = "lpgate.toml";
/// The embedded store.
pub const STORE_FILE: &str = "lpgate.sqlite";
/// The master key (mode 0600).
pub const KEY_FILE: &str = "master.key";

/// The data directory from `--data-dir`, `LPGATE_DATA_DIR`, or `~/.local/share/lpgate`.
pub fn data_dir(global: &GlobalArgs) -> anyhow::Result<PathBuf> {
    if let Some(d) = &global.data_dir {
        return Ok(d.clone());
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("lpgate"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/lpgate")),
        None => {
            bail!("no data directory: pass --data-dir DIR or set LPGATE_DATA_DIR (HOME is not set)")
        }
    }
}

/// Where the store is, from `--store` / `LPGATE_STORE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite:PATH`: the embedded store in one file.
    Sqlite(PathBuf),
    /// `postgres://…`: a PostgreSQL database, shared by any number of lpgate processes.
    Postgres(String),
}

impl StoreUrl {
    /// Parses `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(crate::command::UsageError(
                    "--store sqlite: needs a path (sqlite:/var/lib/lpgate/lpgate.sqlite)".into(),
                )
                .into());
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(s.to_string()));
        }
        Err(crate::command::UsageError(format!(
            "--store {s:?}: expected sqlite:PATH or postgres://user:password@host:port/dbname"
        ))
        .into())
    }

    /// The URL the options name, or the SQLite file in the data directory.
    pub fn from_args(global: &GlobalArgs) -> anyhow::Result<Self> {
        match global.store.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => StoreUrl::parse(s),
            None => Ok(StoreUrl::Sqlite(data_dir(global)?.join(STORE_FILE))),
        }
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            // Never print a password.
            StoreUrl::Postgres(u) => f.write_str(&redact_postgres(u)),
        }
    }
}

/// A PostgreSQL URL with its password hidden, in the user information
/// (`user:secret@host`) and in a `password=` query parameter.
fn redact_postgres(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (head, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let mut out = format!("{scheme}://");
    match head.rfind('@') {
        Some(at) => {
            match head[..at].split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(&head[..at]),
            }
            out.push_str(&head[at..]);
        }
        None => out.push_str(head),
    }
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

/// A store the command line can open from a [`StoreUrl`]: commands are generic over it, and
/// `command::run` picks the backend from the URL's scheme.
pub trait OpenStore: Store {
    /// Whether the scheduler may run several syncs at once on this store (`[serve]
    /// sync_concurrency`). SQLite has one writer, which a first sync holds from its first page
    /// to its commit: syncs would only wait for each other there, and they were seen to stall
    /// each other for good when several ran in one task, so SQLite syncs one at a time.
    const CONCURRENT_SYNCS: bool;
    /// Opens (and migrates) the store at `url`.
    fn open_url(url: &StoreUrl) -> impl std::future::Future<Output = anyhow::Result<Self>> + Send;
    /// Waits until writes already started are done (SQLite's search index after a first
    /// snapshot; PostgreSQL has none in flight).
    fn settled(&self) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

impl OpenStore for SqliteStore {
    const CONCURRENT_SYNCS: bool = false;

    async fn open_url(url: &StoreUrl) -> anyhow::Result<Self> {
        match url {
            StoreUrl::Sqlite(path) => SqliteStore::open(path)
                .await
                .with_context(|| format!("Failed to open the store {url}")),
            StoreUrl::Postgres(_) => bail!("{url} is not a SQLite store"),
        }
    }

    async fn settled(&self) -> anyhow::Result<()> {
        Ok(SqliteStore::settled(self).await?)
    }
}

impl OpenStore for PostgresStore {
    const CONCURRENT_SYNCS: bool = true;

    async fn open_url(url: &StoreUrl) -> anyhow::Result<Self> {
        match url {
            StoreUrl::Postgres(u) => PostgresStore::open(u)
                .await
                .with_context(|| format!("Failed to open the store {url}")),
            StoreUrl::Sqlite(_) => bail!("{url} is not a PostgreSQL store"),
        }
    }

    async fn settled(&self) -> anyhow::Result<()> {
        Ok(PostgresStore::settled(self).await?)
    }
}

/// An opened installation.
pub struct Ctx<S> {
    /// The parsed config.
    pub config: Config,
    /// The store.
    pub store: S,
    /// The master key.
    pub key: MasterKey,
}

impl<S: OpenStore> Ctx<S> {
    /// How many accounts this process syncs at once: `[serve] sync_concurrency` on a store
    /// that allows it ([`OpenStore::CONCURRENT_SYNCS`]), otherwise one.
    pub fn sync_limit(&self) -> usize {
        if S::CONCURRENT_SYNCS {
            self.config.serve.sync_concurrency.max(1)
        } else {
            1
        }
    }

    /// Opens an initialised installation; says how to initialise one if it is not.
    pub async fn open(global: &GlobalArgs) -> anyhow::Result<Self> {
        let dir = data_dir(global)?;
        let config_path = dir.join(CONFIG_FILE);
        if !config_path.exists() {
            bail!(
                "{} is not an lpgate data directory (no {CONFIG_FILE}); run `lpgate init` first{}",
                dir.display(),
                if global.data_dir.is_some() {
                    format!(" with --data-dir {}", dir.display())
                } else {
                    String::new()
                }
            );
        }
        let config = Config::load(&config_path)?;
        let key = MasterKey::load(std::env::var("LPGATE_MASTER_KEY").ok(), &dir.join(KEY_FILE))?;
        let store = S::open_url(&StoreUrl::from_args(global)?).await?;
        Ok(Ctx { config, store, key })
    }
}

/// Creates a directory readable by its owner only.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("Failed to restrict {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact_postgres;

    #[test]
    fn postgres_urls_print_without_their_password() {
        for (url, shown) in [
            (
                "postgres://lpgate@127.0.0.1:5432/db",
                "postgres://lpgate@127.0.0.1:5432/db",
            ),
            (
                "postgres://lpgate:s3cr@t@db.example:5432/db",
                "postgres://lpgate:***@db.example:5432/db",
            ),
            (
                "postgresql://db.example/lpgate?user=lp&password=hunter2&sslmode=require",
                "postgresql://db.example/lpgate?user=lp&password=***&sslmode=require",
            ),
            (
                "postgres://db.example/lpgate",
                "postgres://db.example/lpgate",
            ),
        ] {
            assert_eq!(redact_postgres(url), shown, "{url}");
        }
    }
}
