//! `lpgate serve`: the HTTP server and the scheduler in one process, until SIGINT or SIGTERM.
//! On a signal the server stops accepting, lets in-flight requests finish, and the scheduler
//! finishes the sync it is running (never cut half-way) before the process exits.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lpgate_engine::SyncOptions;
use lpgate_server::{ActSettings, AppState, Operations, router, serve};
use lpgate_store::QueryLimits;
use tokio::sync::watch;

use crate::cli::{GlobalArgs, ServeArgs};
use crate::command::schedule;
use crate::context::{Ctx, OpenStore};

/// Serves the API and runs the scheduler until a signal.
pub async fn run<S: OpenStore>(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    let ctx = Arc::new(Ctx::<S>::open(global).await?);
    let bind = match args.bind {
        Some(b) => b,
        // Checked when the configuration was loaded.
        None => ctx
            .config
            .serve
            .bind
            .parse()
            .with_context(|| format!("invalid serve.bind {:?}", ctx.config.serve.bind))?,
    };
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("Failed to listen on {bind}"))?;
    let addr = listener
        .local_addr()
        .context("Failed to read the listening address")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // The scheduler runs in this task, beside the server (not spawned: the store's futures
    // are not provably `Send` for every lifetime, and nothing is gained by another task).
    let scheduler = {
        let ctx = ctx.clone();
        let stop = stop_rx.clone();
        let enabled = !args.no_scheduler;
        async move {
            if enabled {
                schedule::run(ctx, stop).await;
            }
        }
    };
    let state = AppState::new(ctx.store.clone(), ctx.key.token_key())
        .with_operations(operations(&ctx)?)
        .with_report_settings(ctx.config.report_settings())
        .with_body_limit(ctx.config.serve.max_body_bytes);
    let app = router(state.clone());
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("lpgate: stopping (finishing in-flight requests and syncs)");
        let _ = stop_tx.send(true);
    });
    let mut server_stop = stop_rx;
    println!("lpgate serving on http://{addr}");
    let server = serve(
        listener,
        app,
        async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        },
        ctx.config.serve.timeouts(),
    );
    let (served, ()) = tokio::join!(server, scheduler);
    // Syncs started through the API run on after their request: finish them too.
    state.wait_for_syncs().await;
    served.context("The HTTP server failed")?;
    eprintln!("lpgate: stopped");
    Ok(())
}

/// What the write endpoints need, from the installation's key and config.
fn operations<S: OpenStore>(ctx: &Ctx<S>) -> anyhow::Result<Operations> {
    let act = ctx.config.act.clone();
    Ok(Operations {
        key: ctx.key.clone(),
        sync: SyncOptions {
            event_backfill: Duration::from_secs(ctx.config.sync.event_backfill_days * 24 * 3600),
            max_shrink_share: ctx.config.sync.max_shrink_share,
            expired_passwords_every: ctx.config.sync.expired_passwords_every(),
            routing: ctx.config.notifications.routing()?,
            ..SyncOptions::default()
        },
        rules: ctx.config.rules.clone(),
        default_interval_secs: ctx.config.sync.default_interval_secs,
        query: QueryLimits {
            timeout: Duration::from_secs_f64(ctx.config.query.timeout_secs.max(0.1)),
            max_rows: ctx.config.query.max_rows,
        },
        act: Arc::new(move |account: &str| ActSettings {
            limits: act.limits(account),
            policy: act.policy(account),
            exclude: act.exclude(account),
            scim: act.scim(account),
        }),
        request_timeout: ctx.config.sync.request_timeout(),
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
