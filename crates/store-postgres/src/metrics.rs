//! The counts behind `GET /metrics`.

use lpgate_store::{
    LabelledCount, LastSync, MetricsSnapshot, SYNC_DURATION_BUCKETS, StoreResult, SyncHistogram,
};
use tokio_postgres::GenericClient;

use crate::backend;
use crate::rows::parse_utc;

async fn counts<C: GenericClient>(c: &C, sql: &str) -> StoreResult<Vec<LabelledCount>> {
    Ok(c.query(sql, &[])
        .await
        .map_err(backend("read metrics"))?
        .iter()
        .map(|r| LabelledCount {
            account: r.get(0),
            label: r.get(1),
            count: r.get(2),
        })
        .collect())
}

/// Seconds between two stored UTC times.
const DURATION: &str =
    "EXTRACT(EPOCH FROM (r.finished_at::timestamptz - r.started_at::timestamptz))::float8";

pub async fn snapshot<C: GenericClient>(c: &C) -> StoreResult<MetricsSnapshot> {
    let ctx = "read metrics";
    let runs = counts(
        c,
        "SELECT a.name, r.outcome, COUNT(*) FROM sync_runs r JOIN accounts a ON a.id = r.account_id
         GROUP BY a.name, r.outcome ORDER BY a.name, r.outcome",
    )
    .await?;
    let users = counts(
        c,
        "SELECT a.name, u.status, COUNT(*) FROM users u JOIN accounts a ON a.id = u.account_id
         GROUP BY a.name, u.status ORDER BY a.name, u.status",
    )
    .await?;
    let open_findings = counts(
        c,
        "SELECT a.name, f.severity, COUNT(*) FROM findings f JOIN accounts a ON a.id = f.account_id
         WHERE f.resolved_at IS NULL GROUP BY a.name, f.severity ORDER BY a.name, f.severity",
    )
    .await?;
    let outbox = counts(
        c,
        "SELECT ''::text, state, COUNT(*) FROM outbox GROUP BY state ORDER BY state",
    )
    .await?;
    let mut last_sync = Vec::new();
    for r in c
        .query(
            &format!(
                "SELECT a.name, r.outcome, {DURATION} AS secs, r.finished_at
                 FROM sync_runs r JOIN accounts a ON a.id = r.account_id
                 WHERE r.id = (SELECT MAX(id) FROM sync_runs x
                               WHERE x.account_id = r.account_id AND x.finished_at IS NOT NULL)
                 ORDER BY a.name"
            ),
            &[],
        )
        .await
        .map_err(backend(ctx))?
    {
        last_sync.push(LastSync {
            account: r.get(0),
            outcome: r.get(1),
            seconds: r.get::<_, f64>(2).max(0.0),
            finished_at: parse_utc(r.get(3))?,
        });
    }
    let mut sync_durations: Vec<SyncHistogram> = Vec::new();
    for r in c
        .query(
            &format!(
                "SELECT a.name, {DURATION} FROM sync_runs r JOIN accounts a ON a.id = r.account_id
                 WHERE r.outcome = 'succeeded' AND r.finished_at IS NOT NULL ORDER BY a.name"
            ),
            &[],
        )
        .await
        .map_err(backend(ctx))?
    {
        let account: String = r.get(0);
        let secs = r.get::<_, f64>(1).max(0.0);
        if sync_durations.last().is_none_or(|h| h.account != account) {
            sync_durations.push(SyncHistogram {
                account,
                buckets: vec![0; SYNC_DURATION_BUCKETS.len()],
                count: 0,
                sum: 0.0,
            });
        }
        if let Some(h) = sync_durations.last_mut() {
            for (b, le) in h.buckets.iter_mut().zip(SYNC_DURATION_BUCKETS) {
                if secs <= *le {
                    *b += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }
    Ok(MetricsSnapshot {
        runs,
        last_sync,
        users,
        open_findings,
        outbox,
        sync_durations,
    })
}
