//! Plans, their items and the hash-chained audit log.

use chrono::{DateTime, Utc};
use lpgate_domain::ActionKind;
use lpgate_domain::audit::{AuditFields, GENESIS, chain_hash};
use lpgate_store::{
    AuditQuery, AuditRow, ItemResult, ItemState, NewAuditEntry, NewPlan, PlanItemRow, PlanRow,
    PlanState, StoreError, StoreResult,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::backend;
use crate::rows::{opt_utc, parse_utc, utc};

const PLAN_COLUMNS: &str = "p.id, p.account_id, a.name AS account, p.state, p.held_reason, \
    p.approved_by, p.approved_at, p.created_at, p.created_by, p.source, p.finished_at, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'pending') AS pending, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'done') AS done, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'failed') AS failed, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'skipped') AS skipped, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'refused') AS refused";

fn plan_from_row(r: &Row) -> rusqlite::Result<PlanRow> {
    let state: String = r.get("state")?;
    Ok(PlanRow {
        id: r.get("id")?,
        account_id: lpgate_store::AccountId(r.get("account_id")?),
        account: r.get("account")?,
        state: PlanState::parse(&state).unwrap_or(PlanState::Held),
        held_reason: r.get("held_reason")?,
        approved_by: r.get("approved_by")?,
        approved_at: opt_utc(r, "approved_at")?,
        created_at: parse_utc(&r.get::<_, String>("created_at")?)?,
        created_by: r.get("created_by")?,
        source: r.get("source")?,
        finished_at: opt_utc(r, "finished_at")?,
        pending: r.get("pending")?,
        done: r.get("done")?,
        failed: r.get("failed")?,
        skipped: r.get("skipped")?,
        refused: r.get("refused")?,
    })
}

fn get_plan_row(conn: &Connection, id: i64) -> StoreResult<PlanRow> {
    conn.query_row(
        &format!(
            "SELECT {PLAN_COLUMNS} FROM plans p JOIN accounts a ON a.id = p.account_id WHERE p.id = ?1"
        ),
        [id],
        plan_from_row,
    )
    .optional()
    .map_err(backend("read plan"))?
    .ok_or_else(|| StoreError::NotFound {
        what: "plan",
        name: id.to_string(),
    })
}

pub fn create(
    conn: &mut Connection,
    plan: &NewPlan,
    audit: &NewAuditEntry,
) -> StoreResult<PlanRow> {
    let ctx = "create plan";
    let tx = conn.transaction().map_err(backend(ctx))?;
    let state = if plan.held_reason.is_some() {
        PlanState::Held
    } else {
        PlanState::Ready
    };
    tx.execute(
        "INSERT INTO plans (account_id, created_at, created_by, source, state, held_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            plan.account.0,
            utc(plan.created_at),
            plan.created_by,
            plan.source,
            state.as_str(),
            plan.held_reason
        ],
    )
    .map_err(backend(ctx))?;
    let id = tx.last_insert_rowid();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO plan_items (plan_id, seq, action, email, params, state, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(backend(ctx))?;
        for (i, item) in plan.items.iter().enumerate() {
            let params = serde_json::to_string(&item.params).unwrap_or_else(|_| "{}".into());
            ins.execute(params![
                id,
                i as i64 + 1,
                item.action.as_str(),
                item.email,
                params,
                item.state.as_str(),
                item.note
            ])
            .map_err(backend(ctx))?;
        }
    }
    let mut entry = audit.clone();
    entry.plan_id = Some(id);
    append(&tx, &[entry]).map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))?;
    get_plan_row(conn, id)
}

pub fn get(conn: &Connection, id: i64) -> StoreResult<(PlanRow, Vec<PlanItemRow>)> {
    let plan = get_plan_row(conn, id)?;
    let ctx = "read plan items";
    let mut stmt = conn
        .prepare(
            "SELECT seq, action, email, params, state, note, done_at FROM plan_items
             WHERE plan_id = ?1 ORDER BY seq",
        )
        .map_err(backend(ctx))?;
    let items = stmt
        .query_map([id], |r| {
            let action: String = r.get("action")?;
            let params: String = r.get("params")?;
            let state: String = r.get("state")?;
            Ok(PlanItemRow {
                seq: r.get("seq")?,
                action: ActionKind::parse(&action).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
                email: r.get("email")?,
                params: serde_json::from_str(&params).unwrap_or_default(),
                state: ItemState::parse(&state).unwrap_or(ItemState::Pending),
                note: r.get("note")?,
                done_at: opt_utc(r, "done_at")?,
            })
        })
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))?;
    Ok((plan, items))
}

pub fn list(conn: &Connection, account: Option<&str>, limit: usize) -> StoreResult<Vec<PlanRow>> {
    let ctx = "list plans";
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {PLAN_COLUMNS} FROM plans p JOIN accounts a ON a.id = p.account_id
             WHERE (?1 IS NULL OR a.name = ?1) ORDER BY p.id DESC LIMIT ?2"
        ))
        .map_err(backend(ctx))?;
    stmt.query_map(params![account, limit as i64], plan_from_row)
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))
}

pub fn approve(conn: &mut Connection, id: i64, audit: &NewAuditEntry) -> StoreResult<PlanRow> {
    let ctx = "approve plan";
    let plan = get_plan_row(conn, id)?;
    if plan.state != PlanState::Held {
        return Err(StoreError::Conflict(format!(
            "plan {id} is {}, not held: there is nothing to approve",
            plan.state.as_str()
        )));
    }
    let tx = conn.transaction().map_err(backend(ctx))?;
    tx.execute(
        "UPDATE plans SET state = 'approved', approved_by = ?2, approved_at = ?3
         WHERE id = ?1 AND state = 'held'",
        params![id, audit.actor, utc(audit.at)],
    )
    .map_err(backend(ctx))?;
    append(&tx, std::slice::from_ref(audit)).map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))?;
    get_plan_row(conn, id)
}

pub fn set_state(
    conn: &Connection,
    id: i64,
    state: PlanState,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let finished = matches!(state, PlanState::Applied | PlanState::Partial).then(|| utc(now));
    conn.execute(
        "UPDATE plans SET state = ?2, finished_at = COALESCE(?3, finished_at) WHERE id = ?1",
        params![id, state.as_str(), finished],
    )
    .map(|_| ())
    .map_err(backend("update plan"))
}

pub fn record_items(
    conn: &mut Connection,
    plan: i64,
    results: &[ItemResult],
    audit: &[NewAuditEntry],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let ctx = "record plan items";
    let tx = conn.transaction().map_err(backend(ctx))?;
    {
        let mut upd = tx
            .prepare_cached(
                "UPDATE plan_items SET state = ?3, note = ?4, done_at = ?5 WHERE plan_id = ?1 AND seq = ?2",
            )
            .map_err(backend(ctx))?;
        let at = utc(now);
        for r in results {
            upd.execute(params![plan, r.seq, r.state.as_str(), r.note, at])
                .map_err(backend(ctx))?;
        }
    }
    append(&tx, audit).map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))
}

pub fn append_entries(conn: &mut Connection, entries: &[NewAuditEntry]) -> StoreResult<()> {
    let ctx = "append audit";
    let tx = conn.transaction().map_err(backend(ctx))?;
    append(&tx, entries).map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))
}

/// Appends entries inside the caller's transaction, each chained to the one before.
fn append(tx: &Transaction, entries: &[NewAuditEntry]) -> rusqlite::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev): (i64, String) = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string()));
    let mut names = tx.prepare_cached("SELECT name FROM accounts WHERE id = ?1")?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO audit (seq, at, actor, account, action, target, plan_id, summary, outcome, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for e in entries {
        seq += 1;
        let account: Option<String> = match e.account {
            Some(a) => names.query_row([a.0], |r| r.get(0)).optional()?,
            None => None,
        };
        let at = utc(e.at);
        let hash = chain_hash(
            &prev,
            &AuditFields {
                seq,
                at: &at,
                actor: &e.actor,
                account: account.as_deref(),
                action: &e.action,
                target: &e.target,
                plan_id: e.plan_id,
                summary: &e.summary,
                outcome: &e.outcome,
            },
        );
        ins.execute(params![
            seq, at, e.actor, account, e.action, e.target, e.plan_id, e.summary, e.outcome, prev,
            hash
        ])?;
        prev = hash;
    }
    Ok(())
}

fn audit_from_row(r: &Row) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get("seq")?,
        at: r.get("at")?,
        actor: r.get("actor")?,
        account: r.get("account")?,
        action: r.get("action")?,
        target: r.get("target")?,
        plan_id: r.get("plan_id")?,
        summary: r.get("summary")?,
        outcome: r.get("outcome")?,
        prev_hash: r.get("prev_hash")?,
        hash: r.get("hash")?,
    })
}

pub fn list_audit(conn: &Connection, q: &AuditQuery) -> StoreResult<Vec<AuditRow>> {
    let ctx = "list audit";
    let mut stmt = conn
        .prepare(
            "SELECT * FROM audit WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR actor = ?2)
               AND (?3 IS NULL OR account = ?3)
               AND seq < COALESCE(?5, 9223372036854775807)
             ORDER BY seq DESC LIMIT ?4",
        )
        .map_err(backend(ctx))?;
    stmt.query_map(
        params![
            q.since.map(utc),
            q.actor,
            q.account,
            q.limit as i64,
            q.before
        ],
        audit_from_row,
    )
    .map_err(backend(ctx))?
    .collect::<Result<Vec<_>, _>>()
    .map_err(backend(ctx))
}

pub fn chain(conn: &Connection) -> StoreResult<Vec<AuditRow>> {
    let ctx = "read audit chain";
    let mut stmt = conn
        .prepare("SELECT * FROM audit ORDER BY seq")
        .map_err(backend(ctx))?;
    stmt.query_map([], audit_from_row)
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))
}
