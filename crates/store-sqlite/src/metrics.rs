//! The counts behind `GET /metrics`, and one group by its API id.

use lpgate_store::{
    GroupRow, LabelledCount, LastSync, MetricsSnapshot, SYNC_DURATION_BUCKETS, StoreError,
    StoreResult, SyncHistogram,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend;
use crate::rows::parse_utc;

pub fn group_by_id(conn: &Connection, id: &str) -> StoreResult<GroupRow> {
    let ctx = "read group";
    conn.query_row(
        "SELECT a.name AS account, g.id, g.name, g.members
         FROM groups g JOIN accounts a ON a.id = g.account_id
         WHERE g.id = ?1",
        [id],
        |r| {
            Ok(GroupRow {
                account: r.get("account")?,
                id: r.get("id")?,
                name: r.get("name")?,
                members: r.get("members")?,
            })
        },
    )
    .optional()
    .map_err(backend(ctx))?
    .ok_or_else(|| StoreError::NotFound {
        what: "group",
        name: id.to_string(),
    })
}

fn counts(conn: &Connection, sql: &str) -> StoreResult<Vec<LabelledCount>> {
    let ctx = "read metrics";
    let mut stmt = conn.prepare_cached(sql).map_err(backend(ctx))?;
    stmt.query_map([], |r| {
        Ok(LabelledCount {
            account: r.get(0)?,
            label: r.get(1)?,
            count: r.get(2)?,
        })
    })
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

/// Seconds between two stored UTC times.
const DURATION: &str = "(julianday(r.finished_at) - julianday(r.started_at)) * 86400.0";

pub fn snapshot(conn: &Connection) -> StoreResult<MetricsSnapshot> {
    let ctx = "read metrics";
    let runs = counts(
        conn,
        "SELECT a.name, r.outcome, COUNT(*) FROM sync_runs r JOIN accounts a ON a.id = r.account_id
         GROUP BY a.name, r.outcome ORDER BY a.name, r.outcome",
    )?;
    let users = counts(
        conn,
        "SELECT a.name, u.status, COUNT(*) FROM users u JOIN accounts a ON a.id = u.account_id
         GROUP BY a.name, u.status ORDER BY a.name, u.status",
    )?;
    let open_findings = counts(
        conn,
        "SELECT a.name, f.severity, COUNT(*) FROM findings f JOIN accounts a ON a.id = f.account_id
         WHERE f.resolved_at IS NULL GROUP BY a.name, f.severity ORDER BY a.name, f.severity",
    )?;
    let outbox = counts(
        conn,
        "SELECT '', state, COUNT(*) FROM outbox GROUP BY state ORDER BY state",
    )?;
    let last_sync = {
        let sql = format!(
            "SELECT a.name, r.outcome, {DURATION} AS secs, r.finished_at
             FROM sync_runs r JOIN accounts a ON a.id = r.account_id
             WHERE r.id = (SELECT MAX(id) FROM sync_runs x
                           WHERE x.account_id = r.account_id AND x.finished_at IS NOT NULL)
             ORDER BY a.name"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend(ctx))?;
        stmt.query_map([], |r| {
            Ok(LastSync {
                account: r.get(0)?,
                outcome: r.get(1)?,
                seconds: r.get::<_, f64>(2)?.max(0.0),
                finished_at: parse_utc(&r.get::<_, String>(3)?)?,
            })
        })
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))?
    };
    let mut sync_durations: Vec<SyncHistogram> = Vec::new();
    {
        let sql = format!(
            "SELECT a.name, {DURATION} FROM sync_runs r JOIN accounts a ON a.id = r.account_id
             WHERE r.outcome = 'succeeded' AND r.finished_at IS NOT NULL ORDER BY a.name"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend(ctx))?;
        let mut rows = stmt.query(params![]).map_err(backend(ctx))?;
        while let Some(r) = rows.next().map_err(backend(ctx))? {
            let account: String = r.get(0).map_err(backend(ctx))?;
            let secs = r.get::<_, f64>(1).map_err(backend(ctx))?.max(0.0);
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
