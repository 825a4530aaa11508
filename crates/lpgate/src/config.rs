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
# Seconds one request to LastPass (a sync's page, a plan's command, a credential check) may
# take before it is abandoned as a timeout; reads are then retried, writes reported as failed.
request_timeout_secs = 120.0
# Seconds the list of expired master passwords (the passwords report) may age before a sync
# reads it again; 0 reads it at every sync. LastPass pages it 500 users at a time, one page
# after another, so in a large company it takes as long to read as the whole directory.
expired_passwords_every_secs = 21600

[serve]
# Where `lpgate serve` listens (its --bind option overrides this).
bind = "127.0.0.1:8080"
# Request bodies larger than this many bytes are refused with 413 before they are read.
max_body_bytes = 1048576
# A client must send a request's headers within this many seconds of its first byte, or the
# connection is closed (slow clients cannot hold connections open)...
header_timeout_secs = 10.0
# ...and its body within this many seconds of the headers, or it gets 408 request_timeout.
body_timeout_secs = 30.0
# How many accounts the scheduler (and `lpgate sync`) syncs at once in this process (1 to 16;
# PostgreSQL stores only, SQLite syncs one at a time). A sync mostly waits on LastPass, so
# several in flight keep one worker busy; each holds a database connection.
sync_concurrency = 6

[query]
# `lpgate query` (and the API) cancels a query after this many seconds...
timeout_secs = 10.0
# ...and returns at most this many rows.
max_rows = 10000

[rules]
# Parameters of the built-in rules (`lpgate rules list` shows them all).
inactive_days = 90
reset_pending_days = 14
weak_mp_strength = 50
max_super_admins = 5
# Built-in rules not to run, by name.
disabled = []
# Your own rules: one [[rules.custom]] table each, e.g.
# [[rules.custom]]
# name = "contractor-admin"
# severity = "high"
# description = "A contractor is an admin."
# key = ["email"]
# sql = "SELECT email FROM users WHERE admin AND email LIKE '%@contractor.example'"

[act]
# A plan that would suspend, remove or deprovision more than max_removals users, or more than
# max_removal_pct % of an account's active users (above 50), is held until `lpgate approve`.
max_removals = 25
max_removal_pct = 10.0
# Users plans never touch (break-glass accounts, VIPs).
exclude = []
# Users per batch command, and requests per second to one account.
batch_size = 200
requests_per_sec = 5.0
# Per-account overrides:
# [act.accounts.acme]
# max_removals = 50
#
# The SCIM server (/scim/v2), for every account ([act.scim]) or one ([act.accounts.NAME.scim]):
# [act.accounts.acme.scim]
# require_approval = ["deactivate", "delete"]   # any of create, update, deactivate, delete
# delete = "remove"            # what DELETE /Users/{id} does: remove (deluser 1) or deprovision (deluser 2)
# removal_window_secs = 3600   # SCIM deactivations and deletions within this window count together
#                              # against max_removals / max_removal_pct

# Automations: a rule's open findings become a plan after each sync; applied without a human
# only with auto_apply = true and when the plan is not held. For example:
# [[automations]]
# name = "suspend-inactive"
# rule = "inactive-user"
# action = "suspend"
# auto_apply = false
# exclude = ["breakglass@example.com"]

# Reports (`lpgate report`, GET /v1/reports/NAME). Their thresholds are the rules' own
# ([rules] inactive_days, weak_mp_strength, reset_pending_days).
# Seats purchased per account, for `lpgate report licences`:
# [reports.seats]
# acme = 500
# Column names of the HR export `lpgate report coverage --hr FILE.csv` reads (flags override):
# [reports.hr_columns]
# email = "Work Email"
# name = "Full Name"
# status = "Employment Status"
# department = "Department"

# Notifications: channels, and what each hears about. For example:
# [[notifications.channels]]
# name = "secops"
# kind = "webhook"            # or "slack"
# url = "https://hooks.example.com/lpgate"
# secret_file = "/run/secrets/lpgate-webhook"   # or secret = "…"
#
# [[notifications.subscriptions]]
# channel = "secops"
# findings = "high"           # findings opened/resolved at high or critical
# changes = ["user.admin_granted", "user.deprovisioned"]
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
    /// `lpgate serve`: address and request limits.
    #[serde(default)]
    pub serve: ServeConfig,
    /// Query limits.
    #[serde(default)]
    pub query: QueryConfig,
    /// Rules: parameters, disabled built-ins, custom rules.
    #[serde(default)]
    pub rules: lpgate_engine::rules::RuleConfig,
    /// Notification channels and subscriptions.
    #[serde(default)]
    pub notifications: NotificationsConfig,
    /// Acting on LastPass: safety limits, exclusions, rate limits.
    #[serde(default)]
    pub act: ActConfig,
    /// Rules whose findings become plans.
    #[serde(default)]
    pub automations: Vec<lpgate_engine::automate::Automation>,
    /// Reports: purchased seats, HR column names.
    #[serde(default)]
    pub reports: ReportsConfig,
}

/// `[reports]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Seats purchased per account name (`[reports.seats]`), for the licences report.
    pub seats: std::collections::BTreeMap<String, u64>,
    /// Column names of the HR export the coverage report reads.
    pub hr_columns: HrColumnsConfig,
}

/// `[reports.hr_columns]`: which CSV column holds what (case-insensitive).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HrColumnsConfig {
    /// Work email (required in the file).
    pub email: String,
    /// Name.
    pub name: String,
    /// Employment status (active / terminated).
    pub status: String,
    /// Department.
    pub department: String,
}

impl Default for HrColumnsConfig {
    fn default() -> Self {
        let d = lpgate_engine::import::HrColumns::default();
        HrColumnsConfig {
            email: d.email,
            name: d.name,
            status: d.status,
            department: d.department,
        }
    }
}

impl Config {
    /// What reports need from the configuration: seats, and the rules' thresholds.
    pub fn report_settings(&self) -> lpgate_report::Settings {
        lpgate_report::Settings {
            seats: self.reports.seats.clone(),
            inactive_days: self.rules.inactive_days,
            weak_mp_strength: i64::from(self.rules.weak_mp_strength),
            reset_pending_days: self.rules.reset_pending_days,
        }
    }
}

/// `[act]`, with per-account overrides in `[act.accounts.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActConfig {
    /// A plan suspending, removing or deprovisioning more users than this is held.
    pub max_removals: usize,
    /// ...or more than this percentage of active users (above 50 active users).
    pub max_removal_pct: f64,
    /// Users plans never touch (break-glass accounts, VIPs).
    pub exclude: Vec<String>,
    /// Users per batch command.
    pub batch_size: usize,
    /// Requests per second to one account.
    pub requests_per_sec: f64,
    /// The SCIM server's settings for every account.
    pub scim: ScimConfig,
    /// Overrides per account name.
    pub accounts: std::collections::BTreeMap<String, ActOverride>,
}

/// `[act.scim]` / `[act.accounts.NAME.scim]`: what the SCIM server does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimConfig {
    /// SCIM writes held as plans awaiting approval: any of create, update, deactivate, delete.
    pub require_approval: Vec<lpgate_server::ScimWrite>,
    /// What `DELETE /Users/{id}` does: remove (the default) or deprovision.
    pub delete: lpgate_server::DeleteMode,
    /// SCIM deactivations and deletions inside this many seconds count together against the
    /// safety limits.
    pub removal_window_secs: u64,
}

impl Default for ScimConfig {
    fn default() -> Self {
        let d = lpgate_server::ScimSettings::default();
        ScimConfig {
            require_approval: d.require_approval,
            delete: d.delete,
            removal_window_secs: d.removal_window.as_secs(),
        }
    }
}

/// `[act.accounts.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActOverride {
    /// See `ActConfig`.
    pub max_removals: Option<usize>,
    /// See `ActConfig`.
    pub max_removal_pct: Option<f64>,
    /// Added to the global list.
    pub exclude: Vec<String>,
    /// See `ActConfig`.
    pub requests_per_sec: Option<f64>,
    /// Replaces `[act.scim]` for this account.
    pub scim: Option<ScimConfig>,
}

impl Default for ActConfig {
    fn default() -> Self {
        let l = lpgate_domain::SafetyLimits::default();
        let p = lpgate_engine::act::ApplyPolicy::default();
        ActConfig {
            max_removals: l.max_removals,
            max_removal_pct: l.max_removal_pct,
            exclude: Vec::new(),
            batch_size: p.batch_size,
            requests_per_sec: p.requests_per_sec,
            scim: ScimConfig::default(),
            accounts: Default::default(),
        }
    }
}

impl ActConfig {
    /// The safety limits of one account.
    pub fn limits(&self, account: &str) -> lpgate_domain::SafetyLimits {
        let o = self.accounts.get(account).cloned().unwrap_or_default();
        lpgate_domain::SafetyLimits {
            max_removals: o.max_removals.unwrap_or(self.max_removals),
            max_removal_pct: o.max_removal_pct.unwrap_or(self.max_removal_pct),
            ..Default::default()
        }
    }

    /// How plans are applied to one account.
    pub fn policy(&self, account: &str) -> lpgate_engine::act::ApplyPolicy {
        let o = self.accounts.get(account).cloned().unwrap_or_default();
        lpgate_engine::act::ApplyPolicy {
            batch_size: self.batch_size.max(1),
            requests_per_sec: o.requests_per_sec.unwrap_or(self.requests_per_sec),
            ..Default::default()
        }
    }

    /// The SCIM server's settings for one account.
    pub fn scim(&self, account: &str) -> lpgate_server::ScimSettings {
        let c = self
            .accounts
            .get(account)
            .and_then(|o| o.scim.clone())
            .unwrap_or_else(|| self.scim.clone());
        lpgate_server::ScimSettings {
            require_approval: c.require_approval,
            delete: c.delete,
            removal_window: std::time::Duration::from_secs(c.removal_window_secs),
        }
    }

    /// Users plans on one account never touch.
    pub fn exclude(&self, account: &str) -> Vec<String> {
        let mut v = self.exclude.clone();
        if let Some(o) = self.accounts.get(account) {
            v.extend(o.exclude.iter().cloned());
        }
        v
    }
}

/// `[serve]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Listening address when `--bind` is not given.
    pub bind: String,
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// Seconds a client may take to send a request's headers.
    pub header_timeout_secs: f64,
    /// Seconds a client may take to send a request's body.
    pub body_timeout_secs: f64,
    /// Accounts the scheduler (and `lpgate sync`) syncs at once in this process: a sync mostly
    /// waits on LastPass (tens of milliseconds a call), so one at a time leaves a worker idle.
    pub sync_concurrency: usize,
}

impl ServeConfig {
    /// The read deadlines `lpgate serve` applies to clients.
    pub fn timeouts(&self) -> lpgate_server::Timeouts {
        lpgate_server::Timeouts {
            header: std::time::Duration::from_secs_f64(self.header_timeout_secs),
            body: std::time::Duration::from_secs_f64(self.body_timeout_secs),
        }
    }
}

/// Smallest and largest `[serve] header_timeout_secs` and `body_timeout_secs`.
pub const READ_TIMEOUTS: std::ops::RangeInclusive<f64> = 0.1..=3600.0;

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: lpgate_server::MAX_BODY_BYTES,
            header_timeout_secs: 10.0,
            body_timeout_secs: 30.0,
            sync_concurrency: 6,
        }
    }
}

/// Smallest and largest `[serve] sync_concurrency`: each sync in flight may hold one of the
/// store's 16 pooled connections, and more would only queue for them.
pub const SYNC_CONCURRENCY: std::ops::RangeInclusive<usize> = 1..=16;

/// Smallest and largest `[serve] max_body_bytes`: below 1 KiB no plan fits; above 64 MiB one
/// request could hold a worker's memory.
pub const BODY_LIMITS: std::ops::RangeInclusive<usize> = 1024..=64 * 1024 * 1024;

/// `[query]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Seconds before a query is cancelled.
    pub timeout_secs: f64,
    /// Rows returned at most.
    pub max_rows: usize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            timeout_secs: 10.0,
            max_rows: 10_000,
        }
    }
}

/// `[notifications]`: channels (a webhook secret may come from `secret_file`) and
/// subscriptions, and how long delivery keeps trying.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Channels.
    pub channels: Vec<ChannelConfig>,
    /// Subscriptions.
    pub subscriptions: Vec<lpgate_engine::notify::Subscription>,
}

/// One `[[notifications.channels]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Name.
    pub name: String,
    /// `webhook` or `slack`.
    pub kind: lpgate_engine::notify::ChannelKind,
    /// URL to POST to.
    pub url: String,
    /// Webhook signing secret.
    #[serde(default)]
    pub secret: Option<String>,
    /// File holding the webhook signing secret (trailing newline ignored).
    #[serde(default)]
    pub secret_file: Option<std::path::PathBuf>,
}

impl NotificationsConfig {
    /// The engine's routing, with secrets read from their files.
    pub fn routing(&self) -> anyhow::Result<lpgate_engine::notify::Routing> {
        let mut channels = Vec::new();
        for c in &self.channels {
            let secret = match (&c.secret, &c.secret_file) {
                (Some(_), Some(_)) => anyhow::bail!(
                    "notifications.channels {:?}: give secret or secret_file, not both",
                    c.name
                ),
                (Some(s), None) => Some(s.clone()),
                (None, Some(f)) => Some(
                    read_secret_file(f)
                        .with_context(|| {
                            format!(
                                "notifications.channels {:?}: failed to read secret_file {}",
                                c.name,
                                f.display()
                            )
                        })?
                        .trim_end()
                        .to_string(),
                ),
                (None, None) => None,
            };
            channels.push(lpgate_engine::notify::Channel {
                name: c.name.clone(),
                kind: c.kind,
                url: c.url.clone(),
                secret,
            });
        }
        let routing = lpgate_engine::notify::Routing {
            channels,
            subscriptions: self.subscriptions.clone(),
        };
        routing.validate()?;
        Ok(routing)
    }
}

/// The largest secret file read (a webhook secret is a few dozen bytes; a path to a device
/// or a huge file is an error, not an endless read).
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A secret file's text, at most [`MAX_SECRET_FILE`] bytes.
pub fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_SECRET_FILE + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SECRET_FILE {
        anyhow::bail!("the file is larger than {MAX_SECRET_FILE} bytes");
    }
    Ok(text)
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
    /// Seconds one LastPass request may take before it counts as a timeout.
    pub request_timeout_secs: f64,
    /// Seconds the stored expired-password list may age before a sync reads it again.
    pub expired_passwords_every_secs: u64,
}

impl SyncConfig {
    /// The per-request timeout of LastPass clients.
    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.request_timeout_secs)
    }

    /// How old the expired-password list may get before a sync reads it again.
    pub fn expired_passwords_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.expired_passwords_every_secs)
    }
}

/// Largest `[sync] expired_passwords_every_secs`: a week.
pub const MAX_EXPIRED_PASSWORDS_EVERY_SECS: u64 = 7 * 24 * 3600;

/// Smallest and largest `[sync] request_timeout_secs`.
pub const REQUEST_TIMEOUTS: std::ops::RangeInclusive<f64> = 0.5..=3600.0;

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            default_interval_secs: 900,
            event_backfill_days: 7,
            max_shrink_share: 0.5,
            request_timeout_secs: 120.0,
            expired_passwords_every_secs: 21600,
        }
    }
}

impl Config {
    /// Reads and validates the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        Ok(Self::load_effective(path)?.0)
    }

    /// Reads the file, applies `LPGATE_*` overrides from the environment, validates, and
    /// also returns the effective settings as TOML (for `config show`).
    pub fn load_effective(path: &Path) -> anyhow::Result<(Self, toml::Value)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("Failed to read {}", path.display()))?;
        Self::from_text(&text, path, std::env::vars())
    }

    /// [`Config::load_effective`] on the file's text (`path` names it in errors), with
    /// `vars` as the environment.
    pub fn from_text(
        text: &str,
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<(Self, toml::Value)> {
        let mut value: toml::Value = toml::from_str(text)
            .with_context(|| format!("Invalid configuration in {}", path.display()))?;
        let defaults: toml::Value = toml::from_str(DEFAULT_CONFIG)
            .context("the built-in default configuration does not parse")?;
        crate::config_env::apply(&mut value, &defaults, vars)
            .context("Invalid configuration in the environment")?;
        let config: Config = value.clone().try_into().with_context(|| {
            format!(
                "Invalid configuration in {} (or LPGATE_* variables)",
                path.display()
            )
        })?;
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
        if !REQUEST_TIMEOUTS.contains(&config.sync.request_timeout_secs) {
            anyhow::bail!(
                "{}: invalid sync.request_timeout_secs {}: expected {} to {} seconds",
                path.display(),
                config.sync.request_timeout_secs,
                REQUEST_TIMEOUTS.start(),
                REQUEST_TIMEOUTS.end()
            );
        }
        if config.sync.expired_passwords_every_secs > MAX_EXPIRED_PASSWORDS_EVERY_SECS {
            anyhow::bail!(
                "{}: invalid sync.expired_passwords_every_secs {}: expected 0 to {} seconds (a week)",
                path.display(),
                config.sync.expired_passwords_every_secs,
                MAX_EXPIRED_PASSWORDS_EVERY_SECS
            );
        }
        if config.serve.bind.parse::<std::net::SocketAddr>().is_err() {
            anyhow::bail!(
                "{}: invalid serve.bind {:?}: expected an address and port such as 127.0.0.1:8080",
                path.display(),
                config.serve.bind
            );
        }
        if !BODY_LIMITS.contains(&config.serve.max_body_bytes) {
            anyhow::bail!(
                "{}: invalid serve.max_body_bytes {}: expected {} to {} bytes",
                path.display(),
                config.serve.max_body_bytes,
                BODY_LIMITS.start(),
                BODY_LIMITS.end()
            );
        }
        if !SYNC_CONCURRENCY.contains(&config.serve.sync_concurrency) {
            anyhow::bail!(
                "{}: invalid serve.sync_concurrency {}: expected {} to {}",
                path.display(),
                config.serve.sync_concurrency,
                SYNC_CONCURRENCY.start(),
                SYNC_CONCURRENCY.end()
            );
        }
        for (key, secs) in [
            ("header_timeout_secs", config.serve.header_timeout_secs),
            ("body_timeout_secs", config.serve.body_timeout_secs),
        ] {
            if !READ_TIMEOUTS.contains(&secs) {
                anyhow::bail!(
                    "{}: invalid serve.{key} {secs}: expected {} to {} seconds",
                    path.display(),
                    READ_TIMEOUTS.start(),
                    READ_TIMEOUTS.end()
                );
            }
        }
        if config.query.timeout_secs.is_nan()
            || config.query.timeout_secs <= 0.0
            || config.query.max_rows == 0
        {
            anyhow::bail!(
                "{}: invalid [query]: timeout_secs ({}) and max_rows ({}) must be positive",
                path.display(),
                config.query.timeout_secs,
                config.query.max_rows
            );
        }
        config
            .rules
            .rules()
            .with_context(|| format!("Invalid rules in {}", path.display()))?;
        let rule_names: Vec<String> = config
            .rules
            .rules()
            .map(|r| r.into_iter().map(|r| r.name).collect())
            .unwrap_or_default();
        let mut names = std::collections::HashSet::new();
        for a in &config.automations {
            a.validate(&rule_names)
                .with_context(|| format!("Invalid automations in {}", path.display()))?;
            if !names.insert(a.name.as_str()) {
                anyhow::bail!(
                    "{}: automations: the name {:?} is used twice",
                    path.display(),
                    a.name
                );
            }
        }
        config
            .notifications
            .routing()
            .with_context(|| format!("Invalid notifications in {}", path.display()))?;
        if config.sync.default_interval_secs < 60 {
            anyhow::bail!(
                "{}: invalid sync.default_interval_secs {}: at least 60",
                path.display(),
                config.sync.default_interval_secs
            );
        }
        Ok((config, value))
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

    #[test]
    fn expired_passwords_every_is_bounded_and_used() {
        let path = Path::new("lpgate.toml");
        let var = |v: &str| {
            [(
                "LPGATE_SYNC_EXPIRED_PASSWORDS_EVERY_SECS".to_string(),
                v.to_string(),
            )]
        };
        let err = Config::from_text(DEFAULT_CONFIG, path, var("604801")).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("sync.expired_passwords_every_secs 604801"),
            "{text}"
        );
        let (c, _) = Config::from_text(DEFAULT_CONFIG, path, var("0")).unwrap();
        assert_eq!(c.sync.expired_passwords_every(), std::time::Duration::ZERO);
        let (c, _) = Config::from_text(DEFAULT_CONFIG, path, []).unwrap();
        assert_eq!(
            c.sync.expired_passwords_every(),
            std::time::Duration::from_secs(6 * 3600)
        );
    }

    #[test]
    fn request_timeout_is_bounded_and_used() {
        let path = Path::new("lpgate.toml");
        let var = |v: &str| {
            [(
                "LPGATE_SYNC_REQUEST_TIMEOUT_SECS".to_string(),
                v.to_string(),
            )]
        };
        let err = Config::from_text(DEFAULT_CONFIG, path, var("0.1")).unwrap_err();
        assert!(
            format!("{err:#}").contains("sync.request_timeout_secs"),
            "{err:#}"
        );
        let (c, _) = Config::from_text(DEFAULT_CONFIG, path, var("2")).unwrap();
        assert_eq!(c.sync.request_timeout(), std::time::Duration::from_secs(2));
        let (c, _) = Config::from_text(DEFAULT_CONFIG, path, []).unwrap();
        assert_eq!(
            c.sync.request_timeout(),
            std::time::Duration::from_secs(120)
        );
    }
}
