//! `lpgate sync`: a progress line per account on a terminal (plain lines otherwise), then a
//! summary per account.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::bail;
use chrono::Utc;
use futures_util::{StreamExt, stream};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use lpgate_domain::AccountZone;
use lpgate_engine::rules;
use lpgate_engine::{SyncOptions, SyncReport, SyncStage, sync_account};
use lpgate_lastpass::Connections;
use lpgate_store::AccountRow;
use serde::Serialize;

use crate::cli::{GlobalArgs, SyncArgs};
use crate::command::account::{client_for, client_via, shared_connections};
use crate::command::notifications;
use crate::context::{Ctx, OpenStore};
use crate::output;

#[derive(Serialize)]
struct SyncOut {
    account: String,
    outcome: String,
    run_id: Option<i64>,
    baseline: bool,
    users: i64,
    groups: i64,
    folders: i64,
    events: i64,
    changes: i64,
    changes_by_kind: String,
    seconds: f64,
    error: Option<String>,
}

/// Syncs the named (or all enabled) accounts: on PostgreSQL up to `[serve] sync_concurrency`
/// at once (an MSP's hundreds of accounts spend most of a sync waiting on LastPass), on SQLite
/// one after another (its single writer would only make them wait for each other; see
/// [`OpenStore::CONCURRENT_SYNCS`]). The summary keeps the order the accounts were given in.
pub async fn run<S: OpenStore>(global: &GlobalArgs, args: SyncArgs) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let accounts: Vec<AccountRow> = if args.all {
        ctx.store
            .list_accounts()
            .await?
            .into_iter()
            .filter(|a| a.enabled)
            .collect()
    } else {
        let mut v = Vec::new();
        for n in &args.names {
            v.push(ctx.store.account(n).await?);
        }
        v
    };
    if accounts.is_empty() {
        bail!("no enabled accounts to sync; add one with `lpgate account add`");
    }
    let options = SyncOptions {
        event_backfill: Duration::from_secs(ctx.config.sync.event_backfill_days * 24 * 3600),
        max_shrink_share: ctx.config.sync.max_shrink_share,
        expired_passwords_every: ctx.config.sync.expired_passwords_every(),
        allow_shrink: args.allow_shrink,
        routing: ctx.config.notifications.routing()?,
        ..SyncOptions::default()
    };
    let limit = ctx.sync_limit();
    // One pool of LastPass connections for every account of this run, as the scheduler does.
    let shared = shared_connections(&ctx, "sync");
    let run = Run {
        ctx: &ctx,
        options: &options,
        connections: shared.as_ref(),
        multi: std::io::stderr().is_terminal().then(MultiProgress::new),
    };
    let outcomes: Vec<(SyncOut, bool)> = stream::iter(&accounts)
        .map(|account| run.account(account))
        .buffered(limit)
        .collect()
        .await;
    let failed = outcomes.iter().filter(|(_, ok)| !ok).count();
    let results: Vec<SyncOut> = outcomes.into_iter().map(|(out, _)| out).collect();
    // What the syncs and rules queued goes out now; what cannot stays in the outbox.
    notifications::deliver_after_sync(&ctx, &options.routing, Duration::from_secs(30)).await;
    output::print(
        &results,
        args.format,
        &[
            "account", "outcome", "users", "groups", "folders", "events", "changes", "seconds",
            "error",
        ],
    )?;
    if failed > 0 {
        bail!("{failed} of {} account(s) failed to sync", accounts.len());
    }
    Ok(())
}

/// What every account's sync in one `lpgate sync` shares.
struct Run<'a, S: OpenStore> {
    ctx: &'a Ctx<S>,
    options: &'a SyncOptions,
    connections: Option<&'a Connections>,
    /// The progress bars, on a terminal; plain lines otherwise.
    multi: Option<MultiProgress>,
}

impl<S: OpenStore> Run<'_, S> {
    /// Syncs one account, then runs its rules and automations; its summary row, and whether
    /// all of it succeeded.
    async fn account(&self, account: &AccountRow) -> (SyncOut, bool) {
        let ctx = self.ctx;
        let options = self.options;
        let bar = self.multi.as_ref().map(|multi| {
            let b = multi.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_prefix(account.name.clone());
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        let name = account.name.clone();
        let stage = |s: SyncStage| {
            let msg = match s {
                SyncStage::Fetching => "fetching users, groups, shared folders and events",
                SyncStage::Comparing => "comparing with the stored snapshot",
                SyncStage::Writing => "writing",
            };
            match &bar {
                Some(b) => b.set_message(msg),
                None => eprintln!("{name}: {msg}"),
            }
        };
        let outcome = match client_via(ctx, account, self.connections) {
            Ok(client) => {
                let zone = AccountZone::parse(&account.time_zone).unwrap_or_default();
                sync_account(&ctx.store, &client, account, zone, options, Utc::now, stage)
                    .await
                    .map_err(anyhow::Error::from)
            }
            Err(e) => Err(e),
        };
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        let report = match outcome {
            Ok(report) => report,
            Err(e) => {
                eprintln!("{}: FAILED: {e:#}", account.name);
                let out = SyncOut {
                    account: account.name.clone(),
                    outcome: "failed".into(),
                    run_id: None,
                    baseline: false,
                    users: 0,
                    groups: 0,
                    folders: 0,
                    events: 0,
                    changes: 0,
                    changes_by_kind: String::new(),
                    seconds: 0.0,
                    error: Some(format!("{e:#}")),
                };
                return (out, false);
            }
        };
        eprintln!("{}", describe(&report));
        // Rules run after every successful sync; their failure is reported but does not undo
        // the sync.
        let checked = rules::check_account(
            &ctx.store,
            account.id,
            &account.name,
            &ctx.config.rules,
            &options.routing,
            Utc::now(),
        )
        .await;
        let ok = match checked {
            Ok(f) => {
                eprintln!(
                    "{}: findings: {} opened, {} still open, {} resolved",
                    account.name, f.opened, f.still_open, f.resolved
                );
                if !ctx.config.automations.is_empty() {
                    automate(ctx, account, &options.routing).await;
                }
                true
            }
            Err(e) => {
                eprintln!("{}: rules FAILED: {e}", account.name);
                false
            }
        };
        (out_of(&report), ok)
    }
}

fn describe(report: &SyncReport) -> String {
    let r = &report.run;
    let changes = if report.baseline {
        "first sync: baseline recorded, changes are counted from the next sync".to_string()
    } else if r.changes == 0 {
        "no changes".to_string()
    } else {
        format!("{} changes: {}", r.changes, report.kinds_summary())
    };
    format!(
        "{}: {} users, {} groups, {} shared folders, {} new events; {changes} ({:.2} s)",
        r.account,
        r.users,
        r.groups,
        r.folders,
        r.events,
        report.elapsed.as_secs_f64()
    )
}

fn out_of(report: &SyncReport) -> SyncOut {
    let r = &report.run;
    SyncOut {
        account: r.account.clone(),
        outcome: r.outcome.as_str().to_string(),
        run_id: Some(r.id.0),
        baseline: report.baseline,
        users: r.users,
        groups: r.groups,
        folders: r.folders,
        events: r.events,
        changes: r.changes,
        changes_by_kind: report.kinds_summary(),
        seconds: (report.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        error: None,
    }
}

/// Runs the automations on an account after its rules; failures are reported, not fatal.
pub(crate) async fn automate<S: OpenStore>(
    ctx: &Ctx<S>,
    account: &AccountRow,
    routing: &lpgate_engine::notify::Routing,
) {
    use lpgate_engine::automate::{AutomationEnv, run_automations};
    let client = match client_for(ctx, account) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: automations FAILED: {e:#}", account.name);
            return;
        }
    };
    let exclude = ctx.config.act.exclude(&account.name);
    let policy = ctx.config.act.policy(&account.name);
    let env = AutomationEnv {
        limits: ctx.config.act.limits(&account.name),
        exclude: &exclude,
        policy: &policy,
        routing,
    };
    match run_automations(
        &ctx.store,
        &client,
        account,
        &ctx.config.automations,
        &env,
        &Utc::now,
    )
    .await
    {
        Ok(outcomes) => {
            for o in outcomes {
                eprintln!("{}: automation {}: {}", account.name, o.name, o.note);
            }
        }
        Err(e) => eprintln!("{}: automations FAILED: {e}", account.name),
    }
}
