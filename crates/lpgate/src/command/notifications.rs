//! `lpgate notifications list|retry|deliver`: the delivery outbox. Syncs and rule runs queue
//! notifications; a sync delivers what is due when it ends, and `deliver` does the same on
//! demand (from cron, or after fixing a receiver). Delivery itself is
//! `lpgate_engine::deliver`.

use std::time::Duration;

use anyhow::bail;
use chrono::Utc;
use lpgate_engine::deliver::{self, DeliveryPolicy, DeliveryReport};
use lpgate_engine::notify::Routing;
use lpgate_store::{DeliveryState, StoreError};

use crate::cli::{FormatArg, GlobalArgs, NotificationsCommand, NotificationsListArgs};
use crate::command::UsageError;
use crate::context::{Ctx, OpenStore};
use crate::output;

/// Runs a `notifications` subcommand.
pub async fn run<S: OpenStore>(
    global: &GlobalArgs,
    cmd: NotificationsCommand,
) -> anyhow::Result<()> {
    match cmd {
        NotificationsCommand::List(a) => list::<S>(global, a).await,
        NotificationsCommand::Retry(a) => retry::<S>(global, a.id, a.all_dead).await,
        NotificationsCommand::Deliver(f) => deliver_now::<S>(global, f).await,
    }
}

async fn list<S: OpenStore>(global: &GlobalArgs, a: NotificationsListArgs) -> anyhow::Result<()> {
    let state = match a.state.as_deref() {
        None => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            UsageError(format!(
                "invalid --state {s:?}: expected pending, delivered or dead"
            ))
        })?),
    };
    let ctx = Ctx::<S>::open(global).await?;
    let rows = ctx.store.list_deliveries(state, a.limit).await?;
    output::print(
        &rows,
        a.format,
        &[
            "id",
            "channel",
            "event",
            "account",
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
        ],
    )
}

async fn retry<S: OpenStore>(
    global: &GlobalArgs,
    id: Option<i64>,
    all_dead: bool,
) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let id = if all_dead { None } else { id };
    let n = match ctx.store.retry_deliveries(id, Utc::now()).await {
        Ok(n) => n,
        Err(StoreError::NotFound { .. }) => bail!(
            "no notification with id {}; `lpgate notifications list` shows the ids",
            id.unwrap_or_default()
        ),
        Err(e) => return Err(e.into()),
    };
    eprintln!(
        "{n} notification(s) due again; `lpgate notifications deliver` (or the next sync) sends them"
    );
    Ok(())
}

async fn deliver_now<S: OpenStore>(global: &GlobalArgs, f: FormatArg) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let routing = ctx.config.notifications.routing()?;
    let report = deliver_pass(&ctx, &routing).await?;
    eprintln!("{}", describe(&report));
    output::print(&[report], f.format, &["delivered", "failed", "dead"])
}

/// One delivery pass with the default policy and the real clock.
pub async fn deliver_pass<S: OpenStore>(
    ctx: &Ctx<S>,
    routing: &Routing,
) -> anyhow::Result<DeliveryReport> {
    let policy = DeliveryPolicy::default();
    let http = deliver::http_client(&policy)?;
    Ok(deliver::deliver_due(&ctx.store, routing, &policy, &http, Utc::now).await?)
}

/// The one-line summary of a pass, for stderr.
pub fn describe(r: &DeliveryReport) -> String {
    let mut s = format!(
        "notifications: {} delivered, {} will be retried, {} dead",
        r.delivered, r.failed, r.dead
    );
    if r.dead > 0 {
        s.push_str(" (`lpgate notifications list --state dead` shows why)");
    }
    s
}

/// The scheduler's pass, every tick: like [`deliver_after_sync`] but silent when nothing was
/// due, so a failed delivery is retried when its backoff ends (30 s after the first failure)
/// and notifications queued by API writes go out within a tick, not at the next sync.
pub async fn deliver_on_tick<S: OpenStore>(ctx: &Ctx<S>, routing: &Routing, limit: Duration) {
    if routing.channels.is_empty() {
        return;
    }
    match tokio::time::timeout(limit, deliver_pass(ctx, routing)).await {
        Ok(Ok(report)) if report == DeliveryReport::default() => {}
        Ok(Ok(report)) => eprintln!("{}", describe(&report)),
        Ok(Err(e)) => eprintln!("warning: notification delivery failed: {e:#}"),
        Err(_) => eprintln!(
            "warning: notification delivery took longer than {} s; the rest stays queued",
            limit.as_secs()
        ),
    }
}

/// After a sync: one delivery pass when any channel is configured, at most `limit` long.
/// A pass that fails or runs out of time is reported, never fatal: what it did not send stays
/// in the outbox for the next pass.
pub async fn deliver_after_sync<S: OpenStore>(ctx: &Ctx<S>, routing: &Routing, limit: Duration) {
    if routing.channels.is_empty() {
        return;
    }
    match tokio::time::timeout(limit, deliver_pass(ctx, routing)).await {
        Ok(Ok(report)) => eprintln!("{}", describe(&report)),
        Ok(Err(e)) => eprintln!("warning: notification delivery failed: {e:#}"),
        Err(_) => eprintln!(
            "warning: notification delivery took longer than {} s; the rest stays queued \
             (`lpgate notifications deliver` sends it)",
            limit.as_secs()
        ),
    }
}
