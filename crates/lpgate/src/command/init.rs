//! `lpgate init`: the data directory, its config, the master key and the store.

use anyhow::Context;
use lpgate_engine::MasterKey;

use crate::cli::GlobalArgs;
use crate::config::DEFAULT_CONFIG;
use crate::context::{CONFIG_FILE, KEY_FILE, OpenStore, StoreUrl, create_private_dir, data_dir};

/// Creates what is missing and says what it did; running it again changes nothing.
pub async fn run<S: OpenStore>(global: &GlobalArgs) -> anyhow::Result<()> {
    let dir = data_dir(global)?;
    create_private_dir(&dir)?;
    let config = dir.join(CONFIG_FILE);
    if config.exists() {
        eprintln!("config: {} (kept)", config.display());
    } else {
        std::fs::write(&config, DEFAULT_CONFIG)
            .with_context(|| format!("Failed to write {}", config.display()))?;
        eprintln!("config: {} (created)", config.display());
    }
    let key = dir.join(KEY_FILE);
    if std::env::var("LPGATE_MASTER_KEY").is_ok_and(|v| !v.trim().is_empty()) {
        MasterKey::load(std::env::var("LPGATE_MASTER_KEY").ok(), &key)?;
        eprintln!("master key: from LPGATE_MASTER_KEY (no key file written)");
    } else if key.exists() {
        MasterKey::load(None, &key)?;
        eprintln!("master key: {} (kept)", key.display());
    } else {
        MasterKey::create_file(&key)?;
        eprintln!(
            "master key: {} (created, mode 0600; back it up: without it stored hashes cannot be read)",
            key.display()
        );
    }
    let store = StoreUrl::from_args(global)?;
    S::open_url(&store).await?;
    eprintln!("store: {store} (ready)");
    println!("{}", dir.display());
    Ok(())
}
