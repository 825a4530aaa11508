//! The scheduler `lpgate serve` runs: every enabled account is synced on its interval (plus
//! up to 10 % jitter, so many accounts do not poll LastPass in step), then its rules run; and
//! every tick one delivery pass sends whatever notifications are due (what syncs, rules, plans
//! and SCIM writes queued, and retries whose backoff ended).
//!
//! Up to `[serve] sync_concurrency` accounts are synced at once (on PostgreSQL; SQLite, with
//! its one writer, syncs one at a time): a sync mostly waits on
//! LastPass (each call can take tens of milliseconds), so one at a time leaves a worker idle
//! while hundreds of accounts wait. The guarantees do not depend on it: an account is synced
//! only after this worker's `claim_due` moved its due time past a lease (so no other worker
//! takes it), a worker never claims an account it is still syncing, and `sync_account` takes
//! the account's lock, so a `lpgate sync` run by hand at the same time is refused rather than
//! doubled. The syncs in flight are futures polled by this one task (the store's futures are
//! not provably `Send`), which is enough: their time is spent waiting.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use lpgate_domain::AccountZone;
use lpgate_engine::{SyncOptions, rules, sync_account};
use lpgate_lastpass::Connections;
use lpgate_store::{AccountId, AccountRow};
use tokio::sync::watch;

use crate::command::account::{client_via, shared_connections};
use crate::command::notifications;
use crate::context::{Ctx, OpenStore};

/// How often the scheduler looks for due accounts.
const TICK: Duration = Duration::from_secs(5);

/// A scheduled sync in flight; it yields its account when done.
type InFlight<'a> = Pin<Box<dyn Future<Output = AccountId> + 'a>>;

/// Runs until `stop` turns true; syncs under way when it does are finished first.
pub async fn run<S: OpenStore>(ctx: Arc<Ctx<S>>, mut stop: watch::Receiver<bool>) {
    let limit = ctx.sync_limit();
    // One pool of LastPass connections for every account this worker syncs (see
    // `lpgate_lastpass::Connections`); without it, each sync builds a client of its own.
    let connections = shared_connections(&ctx, "scheduler");
    let connections = connections.as_ref();
    let mut running: FuturesUnordered<InFlight<'_>> = FuturesUnordered::new();
    // Accounts this worker is syncing: never claimed again until their sync ends, even when
    // the sync outlasts its lease.
    let mut busy: HashSet<AccountId> = HashSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        match ctx.store.list_accounts().await {
            Ok(accounts) => {
                for account in accounts.into_iter().filter(|a| a.enabled) {
                    if busy.contains(&account.id) {
                        continue;
                    }
                    // Wait for a free slot, finishing syncs meanwhile.
                    while running.len() >= limit {
                        if let Some(done) = running.next().await {
                            busy.remove(&done);
                        }
                    }
                    if *stop.borrow() {
                        break;
                    }
                    if !claim(&ctx, &account).await {
                        continue;
                    }
                    busy.insert(account.id);
                    let ctx = &ctx;
                    running.push(Box::pin(async move {
                        sync_one(ctx, &account, connections).await;
                        if let Err(e) = ctx
                            .store
                            .set_next_due(account.id, Utc::now() + jittered(&account))
                            .await
                        {
                            tracing::warn!(account = %account.name, error = %e, "scheduler: cannot record the next due time");
                        }
                        account.id
                    }));
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduler: cannot list accounts"),
        }
        // Every tick, not only after a sync: a retry is due 30 s after a failure, and what
        // API writes queue should not wait for the next sync (up to an interval).
        if let Ok(routing) = ctx.config.notifications.routing() {
            // The syncs in flight are polled while the pass runs.
            let pass = notifications::deliver_on_tick(&ctx, &routing, Duration::from_secs(30));
            tokio::pin!(pass);
            loop {
                tokio::select! {
                    () = &mut pass => break,
                    Some(done) = running.next(), if !running.is_empty() => {
                        busy.remove(&done);
                    }
                }
            }
        }
        // Until the next tick, finish syncs as they end.
        let tick = tokio::time::sleep(TICK);
        tokio::pin!(tick);
        loop {
            tokio::select! {
                () = &mut tick => break,
                _ = stop.wait_for(|s| *s) => break,
                Some(done) = running.next(), if !running.is_empty() => {
                    busy.remove(&done);
                }
            }
        }
    }
    // Stopping: the syncs under way are finished, never cut half-way.
    while running.next().await.is_some() {}
}

/// Claims `account` for this worker when it is due: the store moves its due time past a
/// lease, so the other workers sharing the store find it not due.
async fn claim<S: OpenStore>(ctx: &Ctx<S>, account: &AccountRow) -> bool {
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
        Ok(false) => false,
        Ok(true) => not_synced_recently(ctx, account, now).await,
        Err(e) => {
            tracing::warn!(account = %account.name, error = %e, "scheduler: cannot claim the account");
            false
        }
    }
}

/// After a claim: whether the account really needs its sync. A worker killed after its sync
/// committed but before it recorded the next due time leaves the account due when its lease
/// ends; the last success, read afresh (the list this tick started from may be older than
/// that sync), says it was synced within its interval, so the due time is set from it instead
/// of syncing again. The same holds after a `lpgate sync` run by hand.
async fn not_synced_recently<S: OpenStore>(
    ctx: &Ctx<S>,
    account: &AccountRow,
    now: DateTime<Utc>,
) -> bool {
    let fresh = match ctx.store.account(&account.name).await {
        Ok(a) => a,
        // Removed or renamed since the list: nothing to sync under this name.
        Err(e) => {
            tracing::warn!(account = %account.name, error = %e, "scheduler: cannot read the claimed account");
            return false;
        }
    };
    let Some(last) = fresh.last_synced_at else {
        return true;
    };
    if last + chrono::Duration::seconds(fresh.sync_interval_secs.max(60)) <= now {
        return true;
    }
    if let Err(e) = ctx
        .store
        .set_next_due(fresh.id, last + jittered(&fresh))
        .await
    {
        tracing::warn!(account = %account.name, error = %e, "scheduler: cannot record the next due time");
    }
    false
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
async fn sync_one<S: OpenStore>(
    ctx: &Ctx<S>,
    account: &AccountRow,
    connections: Option<&Connections>,
) {
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
        expired_passwords_every: ctx.config.sync.expired_passwords_every(),
        routing,
        ..SyncOptions::default()
    };
    let client = match client_via(ctx, account, connections) {
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
