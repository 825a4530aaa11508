//! Findings, the notification outbox (claimed with `FOR UPDATE SKIP LOCKED`, so two
//! processes never take the same delivery) and the HR list.

use chrono::{DateTime, Utc};
use lpgate_store::{
    AccountId, Delivery, DeliveryOutcome, DeliveryState, FindingQuery, FindingRow, FindingsWrite,
    HrPerson, NewNotification, StoreError, StoreResult,
};
use tokio_postgres::{GenericClient, Row, Transaction};

use crate::backend;
use crate::rows::{opt_utc, parse_utc, utc};

/// Queues notifications inside the caller's transaction (a repeated delivery id is ignored).
pub async fn insert_notifications(
    tx: &Transaction<'_>,
    notes: &[NewNotification],
    now: &str,
) -> Result<(), tokio_postgres::Error> {
    if notes.is_empty() {
        return Ok(());
    }
    // One statement for the batch: a rule run can queue hundreds, and a round trip each
    // was a large share of a worker's time on PostgreSQL. `ORDER BY n` keeps the outbox ids
    // in the order given, which is the delivery order.
    let ids: Vec<&str> = notes.iter().map(|n| n.delivery_id.as_str()).collect();
    let channels: Vec<&str> = notes.iter().map(|n| n.channel.as_str()).collect();
    let events: Vec<&str> = notes.iter().map(|n| n.event.as_str()).collect();
    let accounts: Vec<Option<i64>> = notes.iter().map(|n| n.account.map(|a| a.0)).collect();
    let payloads: Vec<String> = notes.iter().map(|n| n.payload.to_string()).collect();
    tx.execute(
        "INSERT INTO outbox (delivery_id, channel, event, account_id, payload, created_at,
                             state, next_attempt_at)
         SELECT d, c, e, a, p, $6, 'pending', $6
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[])
              WITH ORDINALITY AS t(d, c, e, a, p, n)
         ORDER BY n
         ON CONFLICT (delivery_id) DO NOTHING",
        &[&ids, &channels, &events, &accounts, &payloads, &now],
    )
    .await?;
    Ok(())
}

const FINDING_COLUMNS: &str = "f.id, a.name AS account, f.rule, f.severity, f.key, f.row_json, \
                               f.opened_at, f.last_seen_at, f.resolved_at";

fn finding_from_row(r: &Row) -> StoreResult<FindingRow> {
    let row: &str = r.get("row_json");
    Ok(FindingRow {
        id: r.get("id"),
        account: r.get("account"),
        rule: r.get("rule"),
        severity: r.get("severity"),
        key: r.get("key"),
        row: serde_json::from_str(row).unwrap_or(serde_json::Value::Null),
        opened_at: parse_utc(r.get("opened_at"))?,
        last_seen_at: parse_utc(r.get("last_seen_at"))?,
        resolved_at: opt_utc(r.get("resolved_at"))?,
    })
}

pub async fn open_findings<C: GenericClient>(
    c: &C,
    account: AccountId,
) -> StoreResult<Vec<FindingRow>> {
    c.query(
        &format!(
            "SELECT {FINDING_COLUMNS} FROM findings f JOIN accounts a ON a.id = f.account_id
             WHERE f.account_id = $1 AND f.resolved_at IS NULL ORDER BY f.id"
        ),
        &[&account.0],
    )
    .await
    .map_err(backend("read open findings"))?
    .iter()
    .map(finding_from_row)
    .collect()
}

pub async fn list_findings<C: GenericClient>(
    c: &C,
    q: &FindingQuery,
) -> StoreResult<Vec<FindingRow>> {
    c.query(
        &format!(
            "SELECT {FINDING_COLUMNS} FROM findings f JOIN accounts a ON a.id = f.account_id
             WHERE ($1::text IS NULL OR a.name = $1) AND ($2::text IS NULL OR f.rule = $2)
               AND (NOT $3::bool OR f.resolved_at IS NULL)
               AND f.id < COALESCE($5::int8, 9223372036854775807)
             ORDER BY f.id DESC LIMIT $4"
        ),
        &[
            &q.account,
            &q.rule,
            &q.open_only,
            &(q.limit as i64),
            &q.before,
        ],
    )
    .await
    .map_err(backend("list findings"))?
    .iter()
    .map(finding_from_row)
    .collect()
}

pub async fn write_findings(tx: &Transaction<'_>, w: &FindingsWrite) -> StoreResult<()> {
    let ctx = "write findings";
    let now = utc(w.now);
    // Each kind of change is one statement over arrays: a first sync's rules open hundreds
    // of findings per account, and a round trip each cost more than the rules themselves.
    if !w.open.is_empty() {
        let rules: Vec<&str> = w.open.iter().map(|f| f.rule.as_str()).collect();
        let severities: Vec<&str> = w.open.iter().map(|f| f.severity.as_str()).collect();
        let keys: Vec<&str> = w.open.iter().map(|f| f.key.as_str()).collect();
        let rows: Vec<String> = w.open.iter().map(|f| f.row.to_string()).collect();
        tx.execute(
            "INSERT INTO findings (account_id, rule, severity, key, row_json, opened_at, last_seen_at)
             SELECT $1, r, s, k, j, $6, $6
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
                  WITH ORDINALITY AS t(r, s, k, j, n)
             ORDER BY n
             ON CONFLICT (account_id, rule, key) WHERE resolved_at IS NULL DO NOTHING",
            &[&w.account.0, &rules, &severities, &keys, &rows, &now],
        )
        .await
        .map_err(backend(ctx))?;
    }
    if !w.still_open.is_empty() {
        let ids: Vec<i64> = w.still_open.iter().map(|(id, _)| *id).collect();
        let rows: Vec<String> = w.still_open.iter().map(|(_, r)| r.to_string()).collect();
        tx.execute(
            "UPDATE findings f SET last_seen_at = $3, row_json = t.j
             FROM unnest($1::int8[], $2::text[]) AS t(i, j)
             WHERE f.id = t.i AND f.resolved_at IS NULL",
            &[&ids, &rows, &now],
        )
        .await
        .map_err(backend(ctx))?;
    }
    if !w.resolve.is_empty() {
        tx.execute(
            "UPDATE findings SET resolved_at = $2 WHERE id = ANY($1::int8[]) AND resolved_at IS NULL",
            &[&w.resolve, &now],
        )
        .await
        .map_err(backend(ctx))?;
    }
    insert_notifications(tx, &w.notifications, &now)
        .await
        .map_err(backend(ctx))
}

const DELIVERY_COLUMNS: &str = "o.id, o.delivery_id, o.channel, o.event, a.name AS account, o.payload, \
    o.created_at, o.state, o.attempts, o.next_attempt_at, o.last_error, o.delivered_at";

fn delivery_from_row(r: &Row) -> StoreResult<Delivery> {
    let payload: &str = r.get("payload");
    let state: &str = r.get("state");
    Ok(Delivery {
        id: r.get("id"),
        delivery_id: r.get("delivery_id"),
        channel: r.get("channel"),
        event: r.get("event"),
        account: r.get("account"),
        payload: serde_json::from_str(payload).unwrap_or(serde_json::Value::Null),
        created_at: parse_utc(r.get("created_at"))?,
        state: DeliveryState::parse(state).unwrap_or(DeliveryState::Dead),
        attempts: r.get("attempts"),
        next_attempt_at: parse_utc(r.get("next_attempt_at"))?,
        last_error: r.get("last_error"),
        delivered_at: opt_utc(r.get("delivered_at"))?,
    })
}

pub async fn claim(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
    lease: std::time::Duration,
    limit: usize,
) -> StoreResult<Vec<Delivery>> {
    let ctx = "claim deliveries";
    let lease_until = chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let rows = tx
        .query(
            &format!(
                "WITH due AS (
                     SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1
                     ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
                 SELECT {DELIVERY_COLUMNS} FROM outbox o JOIN due ON due.id = o.id
                 LEFT JOIN accounts a ON a.id = o.account_id
                 ORDER BY o.next_attempt_at, o.id"
            ),
            &[&utc(now), &(limit as i64)],
        )
        .await
        .map_err(backend(ctx))?;
    let out = rows
        .iter()
        .map(delivery_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let ids: Vec<i64> = out.iter().map(|d| d.id).collect();
    if !ids.is_empty() {
        tx.execute(
            "UPDATE outbox SET next_attempt_at = $2 WHERE id = ANY($1)",
            &[&ids, &utc(lease_until)],
        )
        .await
        .map_err(backend(ctx))?;
    }
    Ok(out)
}

pub async fn record<C: GenericClient>(
    c: &C,
    id: i64,
    now: DateTime<Utc>,
    outcome: &DeliveryOutcome,
) -> StoreResult<()> {
    match outcome {
        DeliveryOutcome::Delivered => {
            c.execute(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = $2,
                        last_error = NULL
                 WHERE id = $1",
                &[&id, &utc(now)],
            )
            .await
        }
        DeliveryOutcome::Failed { error, retry_at } => {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                        state = CASE WHEN $3::text IS NULL THEN 'dead' ELSE 'pending' END,
                        next_attempt_at = COALESCE($3, next_attempt_at)
                 WHERE id = $1 AND state = 'pending'",
                &[&id, error, &retry_at.map(utc)],
            )
            .await
        }
    }
    .map(|_| ())
    .map_err(backend("record delivery"))
}

pub async fn list_deliveries<C: GenericClient>(
    c: &C,
    state: Option<DeliveryState>,
    limit: usize,
) -> StoreResult<Vec<Delivery>> {
    c.query(
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM outbox o LEFT JOIN accounts a ON a.id = o.account_id
             WHERE ($1::text IS NULL OR o.state = $1) ORDER BY o.id DESC LIMIT $2"
        ),
        &[&state.map(|s| s.as_str()), &(limit as i64)],
    )
    .await
    .map_err(backend("list deliveries"))?
    .iter()
    .map(delivery_from_row)
    .collect()
}

pub async fn retry<C: GenericClient>(
    c: &C,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let ctx = "retry deliveries";
    match id {
        Some(id) => {
            let n = c
                .execute(
                    "UPDATE outbox SET state = 'pending', next_attempt_at = $2
                     WHERE id = $1 AND state <> 'delivered'",
                    &[&id, &utc(now)],
                )
                .await
                .map_err(backend(ctx))?;
            if n == 0 {
                let exists: bool = c
                    .query_one("SELECT COUNT(*) > 0 FROM outbox WHERE id = $1", &[&id])
                    .await
                    .map_err(backend(ctx))?
                    .get(0);
                if !exists {
                    return Err(StoreError::NotFound {
                        what: "notification",
                        name: id.to_string(),
                    });
                }
                return Err(StoreError::Conflict(format!(
                    "notification {id} was already delivered"
                )));
            }
            Ok(n as usize)
        }
        None => c
            .execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = $1 WHERE state = 'dead'",
                &[&utc(now)],
            )
            .await
            .map(|n| n as usize)
            .map_err(backend(ctx)),
    }
}

pub async fn load_hr(
    tx: &Transaction<'_>,
    people: &[HrPerson],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let ctx = "load HR list";
    tx.execute("DELETE FROM hr_people", &[])
        .await
        .map_err(backend(ctx))?;
    let at = utc(now);
    for p in people {
        tx.execute(
            "INSERT INTO hr_people (email, name, status, department, loaded_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (email) DO UPDATE SET name = excluded.name, status = excluded.status,
                department = excluded.department, loaded_at = excluded.loaded_at",
            &[&p.email, &p.name, &p.status, &p.department, &at],
        )
        .await
        .map_err(backend(ctx))?;
    }
    let n: i64 = tx
        .query_one("SELECT COUNT(*) FROM hr_people", &[])
        .await
        .map_err(backend(ctx))?
        .get(0);
    Ok(n as usize)
}
