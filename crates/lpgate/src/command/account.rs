//! `lpgate account …`.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::Utc;
use lpgate_domain::AccountZone;
use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, Connections, ProvisioningHash, Region};
use lpgate_store::{AccountEndpoint, AccountRow, NewAccount};
use serde::Serialize;

use crate::cli::{
    AccountAddArgs, AccountCommand, AccountRemoveArgs, AccountSetHashArgs, GlobalArgs,
};
use crate::command::UsageError;
use crate::context::{Ctx, OpenStore};
use crate::output::{self, Format};

/// Dispatches `lpgate account …`.
pub async fn run<S: OpenStore>(global: &GlobalArgs, cmd: AccountCommand) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    match cmd {
        AccountCommand::Add(a) => add(&ctx, a).await,
        AccountCommand::List(f) => list(&ctx, f.format).await,
        AccountCommand::Check(a) => check(&ctx, &a.name).await,
        AccountCommand::Disable(a) => {
            ctx.store.set_account_enabled(&a.name, false).await?;
            eprintln!(
                "account {}: disabled (skipped by `sync --all` and the scheduler)",
                a.name
            );
            Ok(())
        }
        AccountCommand::Enable(a) => {
            ctx.store.set_account_enabled(&a.name, true).await?;
            eprintln!("account {}: enabled", a.name);
            Ok(())
        }
        AccountCommand::SetHash(a) => set_hash(&ctx, a).await,
        AccountCommand::Remove(a) => remove(&ctx, a).await,
    }
}

/// Reads a provisioning hash from a file or `-` (stdin), warning when others may read the file.
fn read_hash(path: &Path) -> anyhow::Result<ProvisioningHash> {
    #[cfg(unix)]
    if path != Path::new("-")
        && let Ok(meta) = std::fs::metadata(path)
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: {} can be read by other users; the provisioning hash in it is a secret (chmod 600 it, or delete it once the account is added)",
                path.display()
            );
        }
    }
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("Failed to read the provisioning hash from standard input")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| {
            format!(
                "Failed to read the provisioning hash from {}",
                path.display()
            )
        })?
    };
    Ok(ProvisioningHash::new(text)?)
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(UsageError(format!(
            "invalid account name {name:?}: use 1-64 letters, digits, '-' or '_'"
        ))
        .into());
    }
    Ok(())
}

/// The client for a stored account, with its hash unsealed.
pub fn client_for<S: OpenStore>(ctx: &Ctx<S>, row: &AccountRow) -> anyhow::Result<Client> {
    Ok(Client::new(config_for(ctx, row)?)?)
}

/// The client for a stored account over connections it shares with the other accounts of a
/// worker's schedule or of one `lpgate sync` (see [`lpgate_lastpass::Connections`]); with
/// none, a client of its own.
pub fn client_via<S: OpenStore>(
    ctx: &Ctx<S>,
    row: &AccountRow,
    shared: Option<&Connections>,
) -> anyhow::Result<Client> {
    match shared {
        Some(connections) => Ok(Client::over(config_for(ctx, row)?, connections)?),
        None => client_for(ctx, row),
    }
}

/// The connections [`client_via`] shares, with the timeouts [`client_for`] gives a client;
/// `None` (logged, naming `who`) when they cannot be set up, and each account then opens its
/// own.
pub fn shared_connections<S: OpenStore>(ctx: &Ctx<S>, who: &str) -> Option<Connections> {
    match Connections::new(
        ClientConfig::DEFAULT_CONNECT_TIMEOUT,
        ctx.config.sync.request_timeout(),
    ) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "{who}: no shared LastPass connections; each account opens its own");
            None
        }
    }
}

/// A stored account's client settings, with its hash unsealed.
fn config_for<S: OpenStore>(ctx: &Ctx<S>, row: &AccountRow) -> anyhow::Result<ClientConfig> {
    let hash = ctx
        .key
        .unseal(&row.provhash_sealed)
        .with_context(|| format!("account {}", row.name))?;
    let base = match &row.endpoint {
        AccountEndpoint::Region(r) => BaseUrl::Region(Region::parse(r)?),
        AccountEndpoint::Url(u) => BaseUrl::custom(u)?,
    };
    let mut config = ClientConfig::new(base, Cid::new(row.cid), hash);
    config.request_timeout = ctx.config.sync.request_timeout();
    Ok(config)
}

async fn add<S: OpenStore>(ctx: &Ctx<S>, a: AccountAddArgs) -> anyhow::Result<()> {
    check_name(&a.name)?;
    let cid = Cid::parse(&a.cid).map_err(|e| UsageError(e.to_string()))?;
    let endpoint = match (&a.region, &a.url) {
        (_, Some(url)) => {
            BaseUrl::custom(url).map_err(|e| UsageError(e.to_string()))?;
            AccountEndpoint::Url(url.trim().trim_end_matches('/').to_string())
        }
        (Some(r), None) => {
            let region = Region::parse(r).map_err(|e| UsageError(e.to_string()))?;
            AccountEndpoint::Region(if region == Region::Eu { "eu" } else { "us" }.into())
        }
        (None, None) => AccountEndpoint::Region("us".into()),
    };
    let zone = match &a.time_zone {
        Some(z) => AccountZone::parse(z).map_err(|e| UsageError(e.to_string()))?,
        None => AccountZone::default(),
    };
    let interval = a
        .interval_secs
        .unwrap_or(ctx.config.sync.default_interval_secs);
    if interval < 60 {
        return Err(UsageError(format!("invalid --interval-secs {interval}: at least 60")).into());
    }
    let hash = read_hash(&a.provhash_file)?;
    let row = NewAccount {
        name: a.name.clone(),
        cid: cid.get(),
        endpoint,
        provhash_sealed: ctx.key.seal(&hash),
        time_zone: zone.name().to_string(),
        sync_interval_secs: interval,
        now: Utc::now(),
    };
    if !a.no_check {
        let probe = AccountRow {
            id: lpgate_store::AccountId(0),
            name: row.name.clone(),
            cid: row.cid,
            endpoint: row.endpoint.clone(),
            provhash_sealed: row.provhash_sealed.clone(),
            enabled: true,
            time_zone: row.time_zone.clone(),
            sync_interval_secs: interval,
            created_at: row.now,
            last_synced_at: None,
        };
        let users = client_for(ctx, &probe)?
            .check()
            .await
            .with_context(|| format!("The credentials of {} were not saved", a.name))?;
        eprintln!(
            "checked: LastPass answered for CID {} ({users} users)",
            row.cid
        );
    }
    ctx.store.add_account(row).await?;
    eprintln!(
        "account {} added; sync it with `lpgate sync {}`",
        a.name, a.name
    );
    Ok(())
}

#[derive(Serialize)]
struct AccountOut {
    name: String,
    cid: u64,
    endpoint: String,
    enabled: bool,
    time_zone: String,
    sync_interval_secs: i64,
    last_synced_at: Option<chrono::DateTime<Utc>>,
    last_outcome: Option<String>,
    last_error: Option<String>,
}

async fn list<S: OpenStore>(ctx: &Ctx<S>, format: Format) -> anyhow::Result<()> {
    let mut out = Vec::new();
    for a in ctx.store.list_accounts().await? {
        let last = ctx
            .store
            .list_runs(Some(a.name.clone()), 1)
            .await?
            .into_iter()
            .next();
        out.push(AccountOut {
            endpoint: match &a.endpoint {
                AccountEndpoint::Region(r) => r.clone(),
                AccountEndpoint::Url(u) => u.clone(),
            },
            name: a.name,
            cid: a.cid,
            enabled: a.enabled,
            time_zone: a.time_zone,
            sync_interval_secs: a.sync_interval_secs,
            last_synced_at: a.last_synced_at,
            last_outcome: last.as_ref().map(|r| r.outcome.as_str().to_string()),
            last_error: last.and_then(|r| r.error),
        });
    }
    output::print(
        &out,
        format,
        &[
            "name",
            "cid",
            "endpoint",
            "enabled",
            "last_synced_at",
            "last_outcome",
            "last_error",
        ],
    )
}

async fn check<S: OpenStore>(ctx: &Ctx<S>, name: &str) -> anyhow::Result<()> {
    let row = ctx.store.account(name).await?;
    let started = Instant::now();
    let users = client_for(ctx, &row)?.check().await?;
    println!(
        "account {name}: credentials work (CID {}, {users} users, {} ms)",
        row.cid,
        started.elapsed().as_millis()
    );
    Ok(())
}

async fn set_hash<S: OpenStore>(ctx: &Ctx<S>, a: AccountSetHashArgs) -> anyhow::Result<()> {
    let hash = read_hash(&a.provhash_file)?;
    ctx.store
        .set_account_provhash(&a.name, ctx.key.seal(&hash))
        .await?;
    eprintln!("account {}: provisioning hash replaced", a.name);
    Ok(())
}

async fn remove<S: OpenStore>(ctx: &Ctx<S>, a: AccountRemoveArgs) -> anyhow::Result<()> {
    let row = ctx.store.account(&a.name).await?;
    if !a.yes {
        bail!(UsageError(format!(
            "account {} (CID {}) and all its history would be removed; add --yes to do it",
            row.name, row.cid
        )));
    }
    ctx.store.remove_account(&a.name).await?;
    eprintln!("account {} removed with its history", a.name);
    Ok(())
}
