//! Findings, the notification outbox and the HR list.

use chrono::{DateTime, Utc};
use lpgate_store::{
    AccountId, Delivery, DeliveryOutcome, DeliveryState, FindingQuery, FindingRow, FindingsWrite,
    HrPerson, NewNotification, StoreResult,
};
use rusqlite::{Connection, Row, Transaction, params};

use crate::backend;
use crate::rows::{opt_utc, parse_utc, utc};

/// Queues notifications inside the caller's transaction.
pub fn insert_notifications(
    tx: &Transaction,
    notes: &[NewNotification],
    now: &str,
) -> rusqlite::Result<()> {
    let mut ins = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (delivery_id, channel, event, account_id, payload, created_at,
                                       state, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?6)",
    )?;
    for n in notes {
        ins.execute(params![
            n.delivery_id,
            n.channel,
            n.event,
            n.account.map(|a| a.0),
            n.payload.to_string(),
            now
        ])?;
    }
    Ok(())
}

const FINDING_COLUMNS: &str = "f.id, a.name AS account, f.rule, f.severity, f.key, f.row_json, \
                               f.opened_at, f.last_seen_at, f.resolved_at";

fn finding_from_row(r: &Row) -> rusqlite::Result<FindingRow> {
    let row: String = r.get("row_json")?;
    Ok(FindingRow {
        id: r.get("id")?,
        account: r.get("account")?,
        rule: r.get("rule")?,
        severity: r.get("severity")?,
        key: r.get("key")?,
        row: serde_json::from_str(&row).unwrap_or(serde_json::Value::Null),
        opened_at: parse_utc(&r.get::<_, String>("opened_at")?)?,
        last_seen_at: parse_utc(&r.get::<_, String>("last_seen_at")?)?,
        resolved_at: opt_utc(r, "resolved_at")?,
    })
}

pub fn open_findings(conn: &Connection, account: AccountId) -> StoreResult<Vec<FindingRow>> {
    let ctx = "read open findings";
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {FINDING_COLUMNS} FROM findings f JOIN accounts a ON a.id = f.account_id
             WHERE f.account_id = ?1 AND f.resolved_at IS NULL ORDER BY f.id"
        ))
        .map_err(backend(ctx))?;
    stmt.query_map([account.0], finding_from_row)
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))
}

pub fn list_findings(conn: &Connection, q: &FindingQuery) -> StoreResult<Vec<FindingRow>> {
    let ctx = "list findings";
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {FINDING_COLUMNS} FROM findings f JOIN accounts a ON a.id = f.account_id
             WHERE (?1 IS NULL OR a.name = ?1) AND (?2 IS NULL OR f.rule = ?2)
               AND (?3 = 0 OR f.resolved_at IS NULL)
               AND f.id < COALESCE(?5, 9223372036854775807)
             ORDER BY f.id DESC LIMIT ?4"
        ))
        .map_err(backend(ctx))?;
    stmt.query_map(
        params![q.account, q.rule, q.open_only, q.limit as i64, q.before],
        finding_from_row,
    )
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

pub fn write_findings(conn: &mut Connection, w: &FindingsWrite) -> StoreResult<()> {
    let ctx = "write findings";
    let now = utc(w.now);
    let tx = conn.transaction().map_err(backend(ctx))?;
    {
        let mut open = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO findings (account_id, rule, severity, key, row_json, opened_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )
            .map_err(backend(ctx))?;
        for f in &w.open {
            open.execute(params![
                w.account.0,
                f.rule,
                f.severity,
                f.key,
                f.row.to_string(),
                now
            ])
            .map_err(backend(ctx))?;
        }
        let mut keep = tx
            .prepare_cached(
                "UPDATE findings SET last_seen_at = ?2, row_json = ?3
                 WHERE id = ?1 AND resolved_at IS NULL",
            )
            .map_err(backend(ctx))?;
        for (id, row) in &w.still_open {
            keep.execute(params![id, now, row.to_string()])
                .map_err(backend(ctx))?;
        }
        let mut resolve = tx
            .prepare_cached(
                "UPDATE findings SET resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
            )
            .map_err(backend(ctx))?;
        for id in &w.resolve {
            resolve.execute(params![id, now]).map_err(backend(ctx))?;
        }
    }
    insert_notifications(&tx, &w.notifications, &now).map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))
}

pub fn enqueue(
    conn: &mut Connection,
    notes: &[NewNotification],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let ctx = "queue notifications";
    let tx = conn.transaction().map_err(backend(ctx))?;
    insert_notifications(&tx, notes, &utc(now)).map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))
}

const DELIVERY_COLUMNS: &str = "o.id, o.delivery_id, o.channel, o.event, a.name AS account, o.payload, \
    o.created_at, o.state, o.attempts, o.next_attempt_at, o.last_error, o.delivered_at";

fn delivery_from_row(r: &Row) -> rusqlite::Result<Delivery> {
    let payload: String = r.get("payload")?;
    let state: String = r.get("state")?;
    Ok(Delivery {
        id: r.get("id")?,
        delivery_id: r.get("delivery_id")?,
        channel: r.get("channel")?,
        event: r.get("event")?,
        account: r.get("account")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        created_at: parse_utc(&r.get::<_, String>("created_at")?)?,
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Dead),
        attempts: r.get("attempts")?,
        next_attempt_at: parse_utc(&r.get::<_, String>("next_attempt_at")?)?,
        last_error: r.get("last_error")?,
        delivered_at: opt_utc(r, "delivered_at")?,
    })
}

pub fn claim(
    conn: &mut Connection,
    now: DateTime<Utc>,
    lease: std::time::Duration,
    limit: usize,
) -> StoreResult<Vec<Delivery>> {
    let ctx = "claim deliveries";
    // A lease too long to represent holds as long as possible, never zero.
    let lease_until = chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let tx = conn.transaction().map_err(backend(ctx))?;
    let out = {
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM outbox o LEFT JOIN accounts a ON a.id = o.account_id
                 WHERE o.state = 'pending' AND o.next_attempt_at <= ?1
                 ORDER BY o.next_attempt_at, o.id LIMIT ?2"
            ))
            .map_err(backend(ctx))?;
        stmt.query_map(params![utc(now), limit as i64], delivery_from_row)
            .map_err(backend(ctx))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend(ctx))?
    };
    {
        let mut push = tx
            .prepare("UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1")
            .map_err(backend(ctx))?;
        for d in &out {
            push.execute(params![d.id, utc(lease_until)])
                .map_err(backend(ctx))?;
        }
    }
    tx.commit().map_err(backend(ctx))?;
    Ok(out)
}

pub fn record(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    outcome: &DeliveryOutcome,
) -> StoreResult<()> {
    let ctx = "record delivery";
    match outcome {
        DeliveryOutcome::Delivered => conn.execute(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2,
                    last_error = NULL
             WHERE id = ?1",
            params![id, utc(now)],
        ),
        DeliveryOutcome::Failed { error, retry_at } => conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
                    state = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END,
                    next_attempt_at = COALESCE(?3, next_attempt_at)
             WHERE id = ?1 AND state = 'pending'",
            params![id, error, retry_at.map(utc)],
        ),
    }
    .map(|_| ())
    .map_err(backend(ctx))
}

pub fn list_deliveries(
    conn: &Connection,
    state: Option<DeliveryState>,
    limit: usize,
) -> StoreResult<Vec<Delivery>> {
    let ctx = "list deliveries";
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM outbox o LEFT JOIN accounts a ON a.id = o.account_id
             WHERE (?1 IS NULL OR o.state = ?1) ORDER BY o.id DESC LIMIT ?2"
        ))
        .map_err(backend(ctx))?;
    stmt.query_map(
        params![state.map(|s| s.as_str()), limit as i64],
        delivery_from_row,
    )
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

pub fn retry(conn: &Connection, id: Option<i64>, now: DateTime<Utc>) -> StoreResult<usize> {
    let ctx = "retry deliveries";
    match id {
        Some(id) => {
            let n = conn
                .execute(
                    "UPDATE outbox SET state = 'pending', next_attempt_at = ?2
                     WHERE id = ?1 AND state <> 'delivered'",
                    params![id, utc(now)],
                )
                .map_err(backend(ctx))?;
            if n == 0 {
                let exists: bool = conn
                    .query_row("SELECT COUNT(*) > 0 FROM outbox WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })
                    .map_err(backend(ctx))?;
                if !exists {
                    return Err(lpgate_store::StoreError::NotFound {
                        what: "notification",
                        name: id.to_string(),
                    });
                }
                return Err(lpgate_store::StoreError::Conflict(format!(
                    "notification {id} was already delivered"
                )));
            }
            Ok(n)
        }
        None => conn
            .execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ?1 WHERE state = 'dead'",
                params![utc(now)],
            )
            .map_err(backend(ctx)),
    }
}

pub fn load_hr(
    conn: &mut Connection,
    people: &[HrPerson],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let ctx = "load HR list";
    let tx = conn.transaction().map_err(backend(ctx))?;
    tx.execute("DELETE FROM hr_people", [])
        .map_err(backend(ctx))?;
    {
        let mut ins = tx
            .prepare(
                "INSERT OR REPLACE INTO hr_people (email, name, status, department, loaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(backend(ctx))?;
        let at = utc(now);
        for p in people {
            ins.execute(params![p.email, p.name, p.status, p.department, at])
                .map_err(backend(ctx))?;
        }
    }
    let n: i64 = tx
        .query_row("SELECT COUNT(*) FROM hr_people", [], |r| r.get(0))
        .map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))?;
    Ok(n as usize)
}
