//! What every command that touches the installation needs: the data directory, the config,
//! the store and the master key.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use lpgate_engine::MasterKey;
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

/// An opened installation.
pub struct Ctx {
    /// The parsed config.
    pub config: Config,
    /// The store.
    pub store: SqliteStore,
    /// The master key.
    pub key: MasterKey,
}

impl Ctx {
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
        let store = SqliteStore::open(dir.join(STORE_FILE))
            .await
            .with_context(|| format!("Failed to open the store in {}", dir.display()))?;
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
