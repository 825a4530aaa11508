//! Plans, their items and the hash-chained audit log (the same chain, byte for byte, as the
//! SQLite store writes: `lpgate_domain::audit::chain_hash` over the same stored text).

use chrono::{DateTime, Utc};
use lpgate_domain::ActionKind;
use lpgate_domain::audit::{AuditFields, GENESIS, chain_hash};
use lpgate_store::{
    AuditQuery, AuditRow, ItemResult, ItemState, NewAuditEntry, NewPlan, PlanItemRow, PlanRow,
    PlanState, StoreError, StoreResult,
};
use tokio_postgres::{GenericClient, Row, Transaction};

use crate::backend;
use crate::rows::{opt_utc, parse_utc, utc};

/// Key of the transaction-level advisory lock audit appends take ("lpga"), so entries of
/// two processes never chain to the same predecessor.
const AUDIT_LOCK: i64 = 0x6c70_6761;

const PLAN_COLUMNS: &str = "p.id, p.account_id, a.name AS account, p.state, p.held_reason, \
    p.approved_by, p.approved_at, p.created_at, p.created_by, p.source, p.finished_at, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'pending') AS pending, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'done') AS done, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'failed') AS failed, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'skipped') AS skipped, \
    (SELECT COUNT(*) FROM plan_items i WHERE i.plan_id = p.id AND i.state = 'refused') AS refused";

fn plan_from_row(r: &Row) -> StoreResult<PlanRow> {
    let state: &str = r.get("state");
    Ok(PlanRow {
        id: r.get("id"),
        account_id: lpgate_store::AccountId(r.get("account_id")),
        account: r.get("account"),
        state: PlanState::parse(state).unwrap_or(PlanState::Held),
        held_reason: r.get("held_reason"),
        approved_by: r.get("approved_by"),
        approved_at: opt_utc(r.get("approved_at"))?,
        created_at: parse_utc(r.get("created_at"))?,
        created_by: r.get("created_by"),
        source: r.get("source"),
        finished_at: opt_utc(r.get("finished_at"))?,
        pending: r.get("pending"),
        done: r.get("done"),
        failed: r.get("failed"),
        skipped: r.get("skipped"),
        refused: r.get("refused"),
    })
}

pub async fn get_plan_row<C: GenericClient>(c: &C, id: i64) -> StoreResult<PlanRow> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {PLAN_COLUMNS} FROM plans p JOIN accounts a ON a.id = p.account_id WHERE p.id = $1"
            ),
            &[&id],
        )
        .await
        .map_err(backend("read plan"))?;
    match row {
        Some(r) => plan_from_row(&r),
        None => Err(StoreError::NotFound {
            what: "plan",
            name: id.to_string(),
        }),
    }
}

pub async fn create(
    tx: &Transaction<'_>,
    plan: &NewPlan,
    audit: &NewAuditEntry,
) -> StoreResult<i64> {
    let ctx = "create plan";
    let state = if plan.held_reason.is_some() {
        PlanState::Held
    } else {
        PlanState::Ready
    };
    let id: i64 = tx
        .query_one(
            "INSERT INTO plans (account_id, created_at, created_by, source, state, held_reason)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &plan.account.0,
                &utc(plan.created_at),
                &plan.created_by,
                &plan.source,
                &state.as_str(),
                &plan.held_reason,
            ],
        )
        .await
        .map_err(backend(ctx))?
        .get(0);
    for (i, item) in plan.items.iter().enumerate() {
        let params = serde_json::to_string(&item.params).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO plan_items (plan_id, seq, action, email, params, state, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &id,
                &(i as i64 + 1),
                &item.action.as_str(),
                &item.email,
                &params,
                &item.state.as_str(),
                &item.note,
            ],
        )
        .await
        .map_err(backend(ctx))?;
    }
    let mut entry = audit.clone();
    entry.plan_id = Some(id);
    append(tx, &[entry]).await.map_err(backend(ctx))?;
    Ok(id)
}

pub async fn get<C: GenericClient>(c: &C, id: i64) -> StoreResult<(PlanRow, Vec<PlanItemRow>)> {
    let plan = get_plan_row(c, id).await?;
    let rows = c
        .query(
            "SELECT seq, action, email, params, state, note, done_at FROM plan_items
             WHERE plan_id = $1 ORDER BY seq",
            &[&id],
        )
        .await
        .map_err(backend("read plan items"))?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let action: &str = r.get("action");
        let params: &str = r.get("params");
        let state: &str = r.get("state");
        items.push(PlanItemRow {
            seq: r.get("seq"),
            action: ActionKind::parse(action).map_err(|e| StoreError::Backend {
                context: "read plan items",
                message: e.to_string(),
            })?,
            email: r.get("email"),
            params: serde_json::from_str(params).unwrap_or_default(),
            state: ItemState::parse(state).unwrap_or(ItemState::Pending),
            note: r.get("note"),
            done_at: opt_utc(r.get("done_at"))?,
        });
    }
    Ok((plan, items))
}

pub async fn list<C: GenericClient>(
    c: &C,
    account: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<PlanRow>> {
    c.query(
        &format!(
            "SELECT {PLAN_COLUMNS} FROM plans p JOIN accounts a ON a.id = p.account_id
             WHERE ($1::text IS NULL OR a.name = $1) ORDER BY p.id DESC LIMIT $2"
        ),
        &[&account, &(limit as i64)],
    )
    .await
    .map_err(backend("list plans"))?
    .iter()
    .map(plan_from_row)
    .collect()
}

pub async fn approve(tx: &Transaction<'_>, id: i64, audit: &NewAuditEntry) -> StoreResult<()> {
    let ctx = "approve plan";
    let plan = get_plan_row(tx, id).await?;
    if plan.state != PlanState::Held {
        return Err(StoreError::Conflict(format!(
            "plan {id} is {}, not held: there is nothing to approve",
            plan.state.as_str()
        )));
    }
    tx.execute(
        "UPDATE plans SET state = 'approved', approved_by = $2, approved_at = $3
         WHERE id = $1 AND state = 'held'",
        &[&id, &audit.actor, &utc(audit.at)],
    )
    .await
    .map_err(backend(ctx))?;
    append(tx, std::slice::from_ref(audit))
        .await
        .map_err(backend(ctx))
}

pub async fn set_state<C: GenericClient>(
    c: &C,
    id: i64,
    state: PlanState,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let finished = matches!(state, PlanState::Applied | PlanState::Partial).then(|| utc(now));
    c.execute(
        "UPDATE plans SET state = $2, finished_at = COALESCE($3, finished_at) WHERE id = $1",
        &[&id, &state.as_str(), &finished],
    )
    .await
    .map(|_| ())
    .map_err(backend("update plan"))
}

pub async fn record_items(
    tx: &Transaction<'_>,
    plan: i64,
    results: &[ItemResult],
    audit: &[NewAuditEntry],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let ctx = "record plan items";
    let at = utc(now);
    for r in results {
        tx.execute(
            "UPDATE plan_items SET state = $3, note = $4, done_at = $5 WHERE plan_id = $1 AND seq = $2",
            &[&plan, &r.seq, &r.state.as_str(), &r.note, &at],
        )
        .await
        .map_err(backend(ctx))?;
    }
    append(tx, audit).await.map_err(backend(ctx))
}

/// Appends entries inside the caller's transaction, each chained to the one before.
pub async fn append(
    tx: &Transaction<'_>,
    entries: &[NewAuditEntry],
) -> Result<(), tokio_postgres::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await?;
    let (mut seq, mut prev): (i64, String) = tx
        .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])
        .await?
        .map(|r| (r.get(0), r.get(1)))
        .unwrap_or((0, GENESIS.to_string()));
    for e in entries {
        seq += 1;
        let account: Option<String> = match e.account {
            Some(a) => tx
                .query_opt("SELECT name FROM accounts WHERE id = $1", &[&a.0])
                .await?
                .map(|r| r.get(0)),
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
        tx.execute(
            "INSERT INTO audit (seq, at, actor, account, action, target, plan_id, summary, outcome, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &seq, &at, &e.actor, &account, &e.action, &e.target, &e.plan_id, &e.summary,
                &e.outcome, &prev, &hash,
            ],
        )
        .await?;
        prev = hash;
    }
    Ok(())
}

fn audit_from_row(r: &Row) -> AuditRow {
    AuditRow {
        seq: r.get("seq"),
        at: r.get("at"),
        actor: r.get("actor"),
        account: r.get("account"),
        action: r.get("action"),
        target: r.get("target"),
        plan_id: r.get("plan_id"),
        summary: r.get("summary"),
        outcome: r.get("outcome"),
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    }
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, account, action, target, plan_id, summary, outcome, prev_hash, hash";

pub async fn list_audit<C: GenericClient>(c: &C, q: &AuditQuery) -> StoreResult<Vec<AuditRow>> {
    Ok(c.query(
        &format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE ($1::text IS NULL OR at >= $1)
                   AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR account = $3)
                   AND seq < COALESCE($5::int8, 9223372036854775807)
                 ORDER BY seq DESC LIMIT $4"
        ),
        &[
            &q.since.map(utc),
            &q.actor,
            &q.account,
            &(q.limit as i64),
            &q.before,
        ],
    )
    .await
    .map_err(backend("list audit"))?
    .iter()
    .map(audit_from_row)
    .collect())
}

pub async fn chain<C: GenericClient>(c: &C) -> StoreResult<Vec<AuditRow>> {
    Ok(c.query(
        &format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq"),
        &[],
    )
    .await
    .map_err(backend("read audit chain"))?
    .iter()
    .map(audit_from_row)
    .collect())
}
