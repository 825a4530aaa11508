//! `lpgate.toml`: versioned, every key documented, unknown keys refused by name.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// The commented default written by `lpgate init`.
pub const DEFAULT_CONFIG: &str = r#"# lpgate configuration. Environment variables LPGATE_* override what is here.
version = 1

[sync]
# How often each account is synced by `lpgate serve`, unless the account says otherwise (seconds).
default_interval_secs = 900
# How far back the first sync of an account reads LastPass's event log (days).
event_backfill_days = 7
# A sync that would deprovision more than this share of an account's users is refused
# (LastPass returning far fewer users than last time is treated as an error, not departures).
max_shrink_share = 0.5
"#;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Format version; 1 today.
    pub version: u32,
    /// Sync settings.
    #[serde(default)]
    pub sync: SyncConfig,
}

/// `[sync]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Default seconds between scheduled syncs.
    pub default_interval_secs: i64,
    /// Days of events the first sync reads.
    pub event_backfill_days: u64,
    /// Largest share of users one sync may deprovision.
    pub max_shrink_share: f64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            default_interval_secs: 900,
            event_backfill_days: 7,
            max_shrink_share: 0.5,
        }
    }
}

impl Config {
    /// Reads and validates the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("Failed to read {}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("Invalid configuration in {}", path.display()))?;
        if config.version != 1 {
            anyhow::bail!(
                "{}: unsupported version {} (this lpgate reads version 1)",
                path.display(),
                config.version
            );
        }
        if !(0.0..=1.0).contains(&config.sync.max_shrink_share) {
            anyhow::bail!(
                "{}: invalid sync.max_shrink_share {}: expected a share between 0 and 1",
                path.display(),
                config.sync.max_shrink_share
            );
        }
        if config.sync.default_interval_secs < 60 {
            anyhow::bail!(
                "{}: invalid sync.default_interval_secs {}: at least 60",
                path.display(),
                config.sync.default_interval_secs
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_parses_and_unknown_keys_are_named() {
        let c: Config = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(c.sync.event_backfill_days, 7);
        let err = toml::from_str::<Config>("version = 1\n[sync]\nintervl = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("intervl"), "{err}");
    }
}
