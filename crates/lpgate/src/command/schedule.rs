//! The scheduler `lpgate serve` runs: every enabled account is synced on its interval (plus
//! up to 10 % jitter, so many accounts do not poll LastPass in step), then its rules run; and
//! every tick one delivery pass sends whatever notifications are due (what syncs, rules, plans
//! and SCIM writes queued, and retries whose backoff ended). Accounts are synced one at a time, and
//! `sync_account` takes the account's lock, so a `lpgate sync` run by hand at the same time is
//! refused rather than doubled.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lpgate_domain::AccountZone;
use lpgate_engine::{SyncOptions, rules, sync_account};
use lpgate_store::AccountRow;
use tokio::sync::watch;

use crate::command::account::client_for;
use crate::command::notifications;
use crate::context::{Ctx, OpenStore};

/// How often the scheduler looks for due accounts.
const TICK: Duration = Duration::from_secs(5);

/// Runs until `stop` turns true; a sync under way when it does is finished first.
pub async fn run<S: OpenStore>(ctx: Arc<Ctx<S>>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        match ctx.store.list_accounts().await {
            Ok(accounts) => {
                for account in accounts.iter().filter(|a| a.enabled) {
                    if *stop.borrow() {
                        return;
                    }
                    // The due time is kept in the store: of several workers sharing it, the
                    // one whose claim moves it past a lease syncs; the others find it not due.
                    let now = Utc::now();
                    let claim = ctx
                        .store
                        .claim_due(
                            account.id,
                            now,
                            first_due(account, now),
                            now + lease(account),
                        )
                        .await;
                    match claim {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            tracing::warn!(account = %account.name, error = %e, "scheduler: cannot claim the account");
                            continue;
                        }
                    }
                    sync_one(&ctx, account).await;
                    if let Err(e) = ctx
                        .store
                        .set_next_due(account.id, Utc::now() + jittered(account))
                        .await
                    {
                        tracing::warn!(account = %account.name, error = %e, "scheduler: cannot record the next due time");
                    }
                }
                // Every tick, not only after a sync: a retry is due 30 s after a failure, and
                // what API writes queue should not wait for the next sync (up to an interval).
                if let Ok(routing) = ctx.config.notifications.routing() {
                    notifications::deliver_on_tick(&ctx, &routing, Duration::from_secs(30)).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduler: cannot list accounts"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// How long a claim holds an account: half its interval, from one to fifteen minutes. A
/// worker that dies mid-sync leaves its accounts due again when this ends; a sync that outlasts
/// it is still never run twice at once (the sync lock), the second claimant finds it busy.
fn lease(account: &AccountRow) -> chrono::Duration {
    chrono::Duration::seconds((account.sync_interval_secs / 2).clamp(60, 900))
}

/// The interval plus up to 10 % random jitter.
fn jittered(account: &AccountRow) -> chrono::Duration {
    let secs = account.sync_interval_secs.max(60);
    chrono::Duration::seconds(secs + fastrand::i64(0..=secs / 10))
}

/// An account never synced is due now; otherwise an interval after its last success.
fn first_due(account: &AccountRow, now: DateTime<Utc>) -> DateTime<Utc> {
    match account.last_synced_at {
        None => now,
        Some(t) => (t + jittered(account)).min(now + jittered(account)),
    }
}

/// One scheduled sync, then the account's rules. Failures are logged; the next attempt is an
/// interval later.
async fn sync_one<S: OpenStore>(ctx: &Ctx<S>, account: &AccountRow) {
    let routing = match ctx.config.notifications.routing() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "scheduler: notification config is invalid");
            return;
        }
    };
    let options = SyncOptions {
        event_backfill: Duration::from_secs(ctx.config.sync.event_backfill_days * 24 * 3600),
        max_shrink_share: ctx.config.sync.max_shrink_share,
        routing,
        ..SyncOptions::default()
    };
    let client = match client_for(ctx, account) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(account = %account.name, error = %e, "scheduled sync: no client");
            return;
        }
    };
    let zone = AccountZone::parse(&account.time_zone).unwrap_or_default();
    match sync_account(
        &ctx.store,
        &client,
        account,
        zone,
        &options,
        Utc::now,
        |_| {},
    )
    .await
    {
        Ok(report) => {
            tracing::info!(account = %account.name, changes = report.run.changes, "scheduled sync done");
            if let Err(e) = rules::check_account(
                &ctx.store,
                account.id,
                &account.name,
                &ctx.config.rules,
                &options.routing,
                Utc::now(),
            )
            .await
            {
                tracing::error!(account = %account.name, error = %e, "rules failed after a scheduled sync");
            } else if !ctx.config.automations.is_empty() {
                crate::command::sync::automate(ctx, account, &options.routing).await;
            }
        }
        Err(e) => tracing::warn!(account = %account.name, error = %e, "scheduled sync failed"),
    }
}
