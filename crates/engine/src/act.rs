//! Acting on LastPass: plans decided against the store (no-ops skipped, impossible actions
//! refused, large removals held for approval), then applied in batches with a rate limit,
//! each item's outcome and audit entry recorded as it comes back, so applying again resumes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use lpgate_domain::{AccountZone, Action, ActionKind, Current, Decision, SafetyLimits, decide};
use lpgate_lastpass::{Client, DeleteAction, GroupChange, NewUser, UserUpdate};
use lpgate_store::{
    AccountRow, ItemResult, ItemState, NewAuditEntry, NewPlan, NewPlanItem, PlanItemRow, PlanRow,
    PlanState, QueryRequest, Store, StoreError,
};
use serde::{Deserialize, Serialize};

use crate::notify::Routing;
use crate::refresh::refresh_users;

/// What can stop a plan from being made or applied.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The plan needs an approval first.
    #[error(
        "plan {plan} is held for approval: {reason}. Approve it with `lpgate approve {plan} --by NAME`"
    )]
    Held {
        /// Plan id.
        plan: i64,
        /// Why.
        reason: String,
    },
    /// A sync or another apply holds the account.
    #[error("account {account}: {message}")]
    Busy {
        /// Account name.
        account: String,
        /// The store's message.
        message: String,
    },
    /// Nothing to plan.
    #[error("the plan would be empty: {0}")]
    Empty(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Re-reading the affected users failed (the actions themselves were applied).
    #[error("the plan was applied, but re-reading its users failed (the next sync will): {0}")]
    Refresh(crate::sync::SyncError),
}

/// How a plan is applied (per account; `[act]` in lpgate.toml).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApplyPolicy {
    /// Users per batch command (`batchadd`, `batchchangegrp`, `enableuser`).
    pub batch_size: usize,
    /// Requests per second to one account, at most.
    pub requests_per_sec: f64,
    /// Single-user requests in flight at once.
    pub concurrency: usize,
    /// Above this many affected users the result is re-read with one full sync instead of
    /// one `getuserdata` per user.
    pub refresh_by_listing_above: usize,
}

impl Default for ApplyPolicy {
    fn default() -> Self {
        ApplyPolicy {
            batch_size: 200,
            requests_per_sec: 5.0,
            concurrency: 2,
            refresh_by_listing_above: 300,
        }
    }
}

/// A plan to make.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The account acted on.
    pub account: AccountRow,
    /// The actions, as asked.
    pub actions: Vec<Action>,
    /// Who asks.
    pub actor: String,
    /// From what (`cli`, `csv: FILE`…).
    pub source: String,
    /// Let remove / deprovision touch admins.
    pub allow_admins: bool,
    /// Never act on these users (break-glass accounts, VIPs): their items are refused.
    pub exclude: Vec<String>,
    /// The account's safety limits.
    pub limits: SafetyLimits,
}

/// Decides every action against the store and stores the plan. A plan over the safety
/// limits is stored held, and holding it queues a `plan.held` notification.
pub async fn make_plan<S: Store>(
    store: &S,
    req: PlanRequest,
    routing: &Routing,
    now: DateTime<Utc>,
) -> Result<(PlanRow, Vec<PlanItemRow>), ActError> {
    make_plan_holding(store, req, None, routing, now).await
}

/// [`make_plan`], held for approval with `hold` as the reason when it is given and the plan
/// has anything to send (the SCIM server's `require_approval` setting and its removal window),
/// whatever the safety limits say.
pub async fn make_plan_holding<S: Store>(
    store: &S,
    req: PlanRequest,
    hold: Option<String>,
    routing: &Routing,
    now: DateTime<Utc>,
) -> Result<(PlanRow, Vec<PlanItemRow>), ActError> {
    if req.actions.is_empty() {
        return Err(ActError::Empty("no actions were given".into()));
    }
    // One item per (action, user, group): the same request twice is one item.
    let mut seen = HashSet::new();
    let mut actions: Vec<Action> = req
        .actions
        .into_iter()
        .filter(|a| seen.insert((a.kind, a.email.clone(), a.params.groups.clone())))
        .collect();
    actions.sort_by_key(|a| a.kind.order());
    let emails: Vec<String> = actions
        .iter()
        .map(|a| a.email.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let current: HashMap<String, Current> = store
        .load_users(req.account.id, emails)
        .await?
        .into_iter()
        .map(|u| {
            let c = Current {
                status: u.status,
                admin: u.admin,
                mfa: u.has_mfa(),
                groups: u.groups,
                fullname: u.fullname,
                duo_username: u.duo_username,
                invited_only: u.invited_only,
            };
            (u.email, c)
        })
        .collect();
    let exclude: HashSet<String> = req.exclude.iter().map(|e| e.to_lowercase()).collect();
    let mut items = Vec::with_capacity(actions.len());
    let mut removals = 0;
    for a in actions {
        let decision = if exclude.contains(&a.email) {
            Decision::Refuse("on the exclusion list".into())
        } else {
            decide(&a, current.get(&a.email), req.allow_admins)
        };
        let (state, note) = match decision {
            Decision::Do => {
                if a.kind.is_removal() {
                    removals += 1;
                }
                (ItemState::Pending, None)
            }
            Decision::Skip(why) => (ItemState::Skipped, Some(why)),
            Decision::Refuse(why) => (ItemState::Refused, Some(why)),
        };
        items.push(NewPlanItem {
            action: a.kind,
            email: a.email,
            params: a.params,
            state,
            note,
        });
    }
    let held_reason = if removals > 0 {
        let active = active_users(store, &req.account).await?;
        req.limits.hold_reason(removals, active)
    } else {
        None
    };
    let pending = items
        .iter()
        .filter(|i| i.state == ItemState::Pending)
        .count();
    let held_reason = match hold {
        Some(reason) if pending > 0 => Some(reason),
        _ => held_reason,
    };
    let plan = NewPlan {
        account: req.account.id,
        created_at: now,
        created_by: req.actor.clone(),
        source: req.source.clone(),
        held_reason: held_reason.clone(),
        items,
    };
    let row = store
        .create_plan(
            plan,
            NewAuditEntry {
                at: now,
                actor: req.actor.clone(),
                account: Some(req.account.id),
                action: "plan.create".into(),
                target: format!("{pending} action(s)"),
                plan_id: None,
                summary: req.source.clone(),
                outcome: match &held_reason {
                    Some(r) => format!("held: {r}"),
                    None => "ready".into(),
                },
            },
        )
        .await?;
    if let Some(reason) = &held_reason {
        let notes = routing.for_event(
            "plan.held",
            req.account.id,
            serde_json::json!({
                "account": req.account.name,
                "plan": row.id,
                "reason": reason,
                "created_by": req.actor,
                "source": req.source,
            }),
        );
        if !notes.is_empty() {
            store.enqueue_notifications(notes, now).await?;
        }
    }
    Ok(store.plan(row.id).await?)
}

async fn active_users<S: Store>(store: &S, account: &AccountRow) -> Result<usize, ActError> {
    let r = store
        .query(QueryRequest {
            sql: "SELECT COUNT(*) FROM users WHERE status = 'active'".into(),
            account: Some(account.id),
            ..Default::default()
        })
        .await?;
    Ok(r.rows
        .first()
        .and_then(|row| row.first())
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as usize)
}

/// What applying did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Plan id.
    pub plan: i64,
    /// Items LastPass accepted in this run.
    pub done: usize,
    /// Items LastPass refused in this run (applying again retries them).
    pub failed: usize,
    /// Items already done before this run.
    pub already_done: usize,
    /// Users re-read afterwards.
    pub refreshed: usize,
    /// Changes the re-read recorded.
    pub changes: i64,
}

/// Applies a plan: sends its pending (and previously failed) items in batches, records each
/// outcome and audit entry as it returns, then re-reads the affected users.
pub async fn apply_plan<S: Store>(
    store: &S,
    client: &Client,
    plan_id: i64,
    actor: &str,
    policy: &ApplyPolicy,
    routing: &Routing,
    now: &(impl Fn() -> DateTime<Utc> + Sync),
) -> Result<ApplyReport, ActError> {
    let (plan, items) = store.plan(plan_id).await?;
    if plan.state == PlanState::Held {
        return Err(ActError::Held {
            plan: plan.id,
            reason: plan.held_reason.unwrap_or_default(),
        });
    }
    let account = store.account(&plan.account).await?;
    let _lock = store
        .try_lock_account(account.id)
        .await
        .map_err(|e| ActError::Busy {
            account: account.name.clone(),
            message: e.to_string(),
        })?;
    let mut report = ApplyReport {
        plan: plan.id,
        already_done: items.iter().filter(|i| i.state == ItemState::Done).count(),
        ..Default::default()
    };
    let todo: Vec<&PlanItemRow> = items
        .iter()
        .filter(|i| matches!(i.state, ItemState::Pending | ItemState::Failed))
        .collect();
    if !todo.is_empty() {
        store
            .set_plan_state(plan.id, PlanState::Applying, now())
            .await?;
    }
    let limiter = Limiter::new(policy.requests_per_sec);
    let ctx = Ctx {
        store,
        client,
        plan: &plan,
        account: &account,
        actor,
        policy,
        limiter: &limiter,
        now,
    };
    let mut by_kind: BTreeMap<usize, Vec<&PlanItemRow>> = BTreeMap::new();
    for i in todo {
        by_kind.entry(i.action.order()).or_default().push(i);
    }
    let mut affected = Vec::new();
    let mut may_leave = HashSet::new();
    for (_, items) in by_kind {
        let kind = items[0].action;
        let results = match kind {
            ActionKind::Provision => ctx.provision(&items).await?,
            ActionKind::AddToGroup | ActionKind::RemoveFromGroup => ctx.groups(&items).await?,
            ActionKind::Enable => ctx.enable(&items).await?,
            _ => ctx.one_by_one(&items).await?,
        };
        for (item, r) in items.iter().zip(&results) {
            if r.state == ItemState::Done {
                report.done += 1;
                affected.push(item.email.clone());
                if matches!(
                    kind,
                    ActionKind::Remove | ActionKind::Deprovision | ActionKind::Uninvite
                ) {
                    may_leave.insert(item.email.clone());
                }
            } else {
                report.failed += 1;
            }
        }
    }
    let (_, after) = store.plan(plan.id).await?;
    let failed_left = after.iter().any(|i| i.state == ItemState::Failed);
    store
        .set_plan_state(
            plan.id,
            if failed_left {
                PlanState::Partial
            } else {
                PlanState::Applied
            },
            now(),
        )
        .await?;
    affected.sort();
    affected.dedup();
    if !affected.is_empty() {
        let zone = AccountZone::parse(&account.time_zone).unwrap_or_default();
        let refreshed = if affected.len() > policy.refresh_by_listing_above {
            drop(_lock);
            crate::sync::sync_account(
                store,
                client,
                &account,
                zone,
                &crate::SyncOptions {
                    allow_shrink: true,
                    routing: routing.clone(),
                    ..Default::default()
                },
                now,
                |_| {},
            )
            .await
        } else {
            refresh_users(
                store,
                client,
                &account,
                zone,
                &affected,
                &may_leave,
                routing,
                now(),
            )
            .await
        };
        let r = refreshed.map_err(ActError::Refresh)?;
        report.refreshed = affected.len();
        report.changes = r.run.changes;
    }
    Ok(report)
}

/// Single-user commands whose outcomes are recorded together.
const SINGLE_SLICE: usize = 10;

/// A steady request rate to one account.
struct Limiter {
    interval: Option<tokio::sync::Mutex<tokio::time::Interval>>,
}

impl Limiter {
    fn new(per_sec: f64) -> Self {
        let interval = (per_sec.is_finite() && per_sec > 0.0).then(|| {
            let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec));
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::sync::Mutex::new(i)
        });
        Limiter { interval }
    }

    async fn wait(&self) {
        if let Some(i) = &self.interval {
            i.lock().await.tick().await;
        }
    }
}

struct Ctx<'a, S, N> {
    store: &'a S,
    client: &'a Client,
    plan: &'a PlanRow,
    account: &'a AccountRow,
    actor: &'a str,
    policy: &'a ApplyPolicy,
    limiter: &'a Limiter,
    now: &'a N,
}

impl<S: Store, N: Fn() -> DateTime<Utc> + Sync> Ctx<'_, S, N> {
    /// Records a batch's outcomes with one audit entry per item (`Ok(Some(note))`: done,
    /// with a remark).
    async fn record(
        &self,
        items: &[&PlanItemRow],
        outcomes: Vec<Outcome>,
    ) -> Result<Vec<ItemResult>, ActError> {
        let now = (self.now)();
        let mut results = Vec::with_capacity(items.len());
        let mut audit = Vec::with_capacity(items.len());
        for (item, outcome) in items.iter().zip(outcomes) {
            let (state, note) = match outcome {
                Ok(remark) => (ItemState::Done, remark),
                Err(e) => (ItemState::Failed, Some(e)),
            };
            audit.push(NewAuditEntry {
                at: now,
                actor: self.actor.to_string(),
                account: Some(self.account.id),
                action: item.action.as_str().to_string(),
                target: item.email.clone(),
                plan_id: Some(self.plan.id),
                summary: summary(item),
                outcome: match (state, &note) {
                    (_, None) => "done".into(),
                    (ItemState::Done, Some(remark)) => format!("done: {remark}"),
                    (_, Some(e)) => format!("failed: {e}"),
                },
            });
            results.push(ItemResult {
                seq: item.seq,
                state,
                note,
            });
        }
        self.store
            .record_items(self.plan.id, results.clone(), audit, now)
            .await?;
        Ok(results)
    }

    async fn provision(&self, items: &[&PlanItemRow]) -> Result<Vec<ItemResult>, ActError> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.policy.batch_size.max(1)) {
            let users: Vec<NewUser> = chunk
                .iter()
                .map(|i| NewUser {
                    username: i.email.clone(),
                    fullname: i.params.fullname.clone(),
                    groups: i.params.groups.clone(),
                    duo_username: i.params.duo_username.clone(),
                    securid_username: i.params.securid_username.clone(),
                    password_reset_required: Some(i.params.password_reset_required.unwrap_or(true)),
                    attribs: i.params.attribs.clone(),
                })
                .collect();
            self.limiter.wait().await;
            let outcomes = match self.client.batch_add(&users).await {
                // The reply was lost or unreadable: LastPass may have added them (batchadd is
                // never sent twice). Ask it, so the outcome and the audit log say what happened.
                Err(e) if e.is_transient() => self.confirm_added(chunk, &e).await,
                other => per_user_outcome(chunk, other),
            };
            out.extend(self.record(chunk, outcomes).await?);
        }
        Ok(out)
    }

    /// After a `batchadd` whose reply was lost: each user LastPass now lists is done (with a
    /// note saying so), the others failed with the original error. Without this, a provision
    /// that LastPass ran would stay `failed` in the plan and the audit log, and a retry (an
    /// identity provider's) would find the user present and record nothing.
    async fn confirm_added(
        &self,
        chunk: &[&PlanItemRow],
        error: &lpgate_lastpass::Error,
    ) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(chunk.len());
        for item in chunk {
            self.limiter.wait().await;
            out.push(match self.client.get_user(&item.email).await {
                Ok(Some(_)) => Ok(Some(format!(
                    "LastPass lists the user; its reply to batchadd was lost ({error})"
                ))),
                Ok(None) => Err(error.to_string()),
                Err(check) => Err(format!(
                    "{error}; asking LastPass whether it added the user failed too: {check}"
                )),
            });
        }
        out
    }

    async fn groups(&self, items: &[&PlanItemRow]) -> Result<Vec<ItemResult>, ActError> {
        // One batchchangegrp entry per user, merging that user's adds and removes.
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.policy.batch_size.max(1)) {
            let mut per_user: BTreeMap<&str, GroupChange> = BTreeMap::new();
            for i in chunk {
                let e = per_user.entry(&i.email).or_insert_with(|| GroupChange {
                    username: i.email.clone(),
                    add: Vec::new(),
                    del: Vec::new(),
                });
                let group = i.params.groups.first().cloned().unwrap_or_default();
                if i.action == ActionKind::AddToGroup {
                    e.add.push(group);
                } else {
                    e.del.push(group);
                }
            }
            let changes: Vec<GroupChange> = per_user.into_values().collect();
            self.limiter.wait().await;
            let outcome = self.client.batch_change_groups(&changes).await;
            out.extend(self.record(chunk, per_user_outcome(chunk, outcome)).await?);
        }
        Ok(out)
    }

    async fn enable(&self, items: &[&PlanItemRow]) -> Result<Vec<ItemResult>, ActError> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.policy.batch_size.max(1)) {
            let emails: Vec<String> = chunk.iter().map(|i| i.email.clone()).collect();
            self.limiter.wait().await;
            let outcomes = match self.client.enable_users(&emails).await {
                Ok(t) => {
                    let ok: HashSet<&String> = t.changed.iter().chain(&t.unchanged).collect();
                    chunk
                        .iter()
                        .map(|i| {
                            if ok.contains(&i.email) {
                                Ok(None)
                            } else {
                                Err(t
                                    .error
                                    .clone()
                                    .unwrap_or_else(|| "LastPass did not enable the user".into()))
                            }
                        })
                        .collect()
                }
                Err(e) => chunk.iter().map(|_| Err(e.to_string())).collect(),
            };
            out.extend(self.record(chunk, outcomes).await?);
        }
        Ok(out)
    }

    async fn one_by_one(&self, items: &[&PlanItemRow]) -> Result<Vec<ItemResult>, ActError> {
        let mut out = Vec::with_capacity(items.len());
        // Recorded in small slices so a stopped process loses at most a slice's outcomes
        // (those actions are then sent again, which is safe).
        for chunk in items.chunks(SINGLE_SLICE.min(self.policy.batch_size.max(1))) {
            let outcomes: Vec<Outcome> = stream::iter(chunk.iter())
                .map(|i| async move {
                    self.limiter.wait().await;
                    self.single(i).await
                })
                .buffered(self.policy.concurrency.max(1))
                .collect()
                .await;
            out.extend(self.record(chunk, outcomes).await?);
        }
        Ok(out)
    }

    async fn single(&self, i: &PlanItemRow) -> Outcome {
        let c = self.client;
        let e = &i.email;
        let r = match i.action {
            // updateuser takes no attributes; batchadd of an existing user updates them
            // (and the names given with them).
            ActionKind::Update if !i.params.attribs.is_empty() => {
                c.batch_add(&[NewUser {
                    username: e.clone(),
                    fullname: i.params.fullname.clone(),
                    groups: Vec::new(),
                    duo_username: i.params.duo_username.clone(),
                    securid_username: i.params.securid_username.clone(),
                    password_reset_required: None,
                    attribs: i.params.attribs.clone(),
                }])
                .await
            }
            ActionKind::Update => {
                c.update_user(&UserUpdate {
                    username: e.clone(),
                    fullname: i.params.fullname.clone(),
                    duo_username: i.params.duo_username.clone(),
                    securid_username: i.params.securid_username.clone(),
                })
                .await
            }
            ActionKind::Suspend => c.delete_user(e, DeleteAction::Deactivate).await,
            ActionKind::Remove => c.delete_user(e, DeleteAction::Remove).await,
            ActionKind::Deprovision => c.delete_user(e, DeleteAction::Delete).await,
            ActionKind::Uninvite => c.delete_user(e, DeleteAction::Uninvite).await,
            ActionKind::Reinvite => c.reinvite_user(e).await,
            ActionKind::ResetPassword => c.reset_password(e).await,
            ActionKind::RequirePasswordChange => c.require_master_password_change(e).await,
            ActionKind::ResetMfa => c.disable_multifactor(e).await,
            ActionKind::Provision
            | ActionKind::Enable
            | ActionKind::AddToGroup
            | ActionKind::RemoveFromGroup => {
                return Err(format!("{} is sent in batches", i.action.as_str()));
            }
        };
        match r {
            Ok(o) if o.is_clean() => Ok(None),
            // A removal whose user is already gone reached its goal: its earlier attempt's reply
            // was lost (or the process stopped before recording it), or someone else removed
            // them. Failing it would leave the plan partial forever, since every retry fails
            // the same way.
            Err(lpgate_lastpass::Error::Rejected { errors, .. })
                if matches!(
                    i.action,
                    ActionKind::Remove | ActionKind::Deprovision | ActionKind::Uninvite
                ) && !errors.is_empty()
                    && errors.iter().all(|m| is_not_found(m, e)) =>
            {
                Ok(Some(format!(
                    "already gone (LastPass: {})",
                    errors.join("; ")
                )))
            }
            Ok(o) => Err(o
                .warnings
                .iter()
                .map(|w| w.message.clone())
                .collect::<Vec<_>>()
                .join("; ")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// One item's outcome: done (with a remark, sometimes) or LastPass's error.
type Outcome = Result<Option<String>, String>;

/// True when LastPass's message says that this user is not in the company.
fn is_not_found(message: &str, email: &str) -> bool {
    message.contains("does not exist") && message.to_lowercase().contains(email)
}

/// A batch's outcome per item: a `WARN` fails only the users it names (all of them when it
/// names none), a failed call fails the whole batch.
fn per_user_outcome(
    chunk: &[&PlanItemRow],
    outcome: Result<lpgate_lastpass::WriteOutcome, lpgate_lastpass::Error>,
) -> Vec<Outcome> {
    match outcome {
        Ok(o) if o.is_clean() => chunk.iter().map(|_| Ok(None)).collect(),
        Ok(o) => {
            let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
            let mut general = Vec::new();
            for w in &o.warnings {
                match &w.username {
                    Some(u) => by_user
                        .entry(u.to_lowercase())
                        .or_default()
                        .push(w.message.clone()),
                    None => general.push(w.message.clone()),
                }
            }
            chunk
                .iter()
                .map(|i| match by_user.get(&i.email) {
                    Some(m) => Err(m.join("; ")),
                    None if by_user.is_empty() => Err(general.join("; ")),
                    None => Ok(None),
                })
                .collect()
        }
        Err(e) => chunk.iter().map(|_| Err(e.to_string())).collect(),
    }
}

/// What an item asks, for the audit log (names and groups, never secrets).
fn summary(i: &PlanItemRow) -> String {
    let cmd = match i.action {
        ActionKind::Provision => "batchadd",
        ActionKind::Update => "updateuser",
        ActionKind::Suspend => "deluser 0",
        ActionKind::Remove => "deluser 1",
        ActionKind::Deprovision => "deluser 2",
        ActionKind::Uninvite => "deluser 3",
        ActionKind::Enable => "enableuser",
        ActionKind::Reinvite => "reinviteuser",
        ActionKind::ResetPassword => "resetpassword",
        ActionKind::RequirePasswordChange => "requiremasterpasswordchange",
        ActionKind::ResetMfa => "disablemultifactor",
        ActionKind::AddToGroup | ActionKind::RemoveFromGroup => "batchchangegrp",
    };
    let mut parts = vec![cmd.to_string()];
    if !i.params.groups.is_empty() {
        parts.push(format!("groups={}", i.params.groups.join(";")));
    }
    if let Some(f) = &i.params.fullname {
        parts.push(format!("fullname={f}"));
    }
    parts.join(" ")
}

/// Checks the whole audit chain; returns how many entries verified.
pub async fn verify_audit<S: Store>(
    store: &S,
) -> Result<Result<usize, lpgate_domain::audit::ChainBroken>, StoreError> {
    use lpgate_domain::audit::{AuditFields, StoredEntry, verify_chain};
    let rows = store.audit_chain().await?;
    Ok(verify_chain(rows.iter().map(|r| StoredEntry {
        fields: AuditFields {
            seq: r.seq,
            at: &r.at,
            actor: &r.actor,
            account: r.account.as_deref(),
            action: &r.action,
            target: &r.target,
            plan_id: r.plan_id,
            summary: &r.summary,
            outcome: &r.outcome,
        },
        prev_hash: &r.prev_hash,
        hash: &r.hash,
    })))
}
