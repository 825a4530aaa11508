//! SCIM writes as plans: each change an identity provider asks for becomes a plan made and
//! applied by the engine (the account's safety limits and exclusions, the audit log with the
//! actor `scim:TOKEN`), one at a time per account. A plan held for approval is answered 503
//! with `Retry-After`; the provider's retry of the same change finds that plan (by its
//! source, which fingerprints the change) and applies it once it is approved.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use lpgate_domain::Action;
use lpgate_engine::act::{self, ActError, PlanRequest};
use lpgate_store::{ItemState, PlanRow, PlanState, ScimUserQuery, Store, UserFilter, UserSort};
use serde::Deserialize;

use super::ScimCaller;
use super::error::ScimError;
use crate::ops::off_thread;
use crate::state::AppState;

/// The kinds of SCIM write `scim.require_approval` can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScimWrite {
    /// A new user (batchadd).
    Create,
    /// Names, attributes, groups, re-enabling.
    Update,
    /// `active: false` (suspend).
    Deactivate,
    /// DELETE of a user (remove or deprovision).
    Delete,
}

impl ScimWrite {
    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimWrite::Create => "create",
            ScimWrite::Update => "update",
            ScimWrite::Deactivate => "deactivate",
            ScimWrite::Delete => "delete",
        }
    }
}

/// What `DELETE /Users/{id}` does in LastPass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteMode {
    /// `deluser 1`: the user leaves the company; their LastPass account stays (Free).
    #[default]
    Remove,
    /// `deluser 2`: the LastPass account and vault are deleted.
    Deprovision,
}

/// The SCIM settings of one account (`[act.accounts.NAME.scim]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimSettings {
    /// Writes held for an admin's approval whatever their size.
    pub require_approval: Vec<ScimWrite>,
    /// What DELETE does.
    pub delete: DeleteMode,
    /// Deactivations and deletions by the SCIM client inside this window count together
    /// against the account's safety limits (each request is one user; the window is what
    /// makes a mass deactivation visible).
    pub removal_window: Duration,
}

impl Default for ScimSettings {
    fn default() -> Self {
        ScimSettings {
            require_approval: Vec::new(),
            delete: DeleteMode::Remove,
            removal_window: Duration::from_secs(3600),
        }
    }
}

/// Seconds an identity provider is told to wait before retrying a held change.
const HELD_RETRY_AFTER: u64 = 300;

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn held(plan: &PlanRow) -> ScimError {
    ScimError::unavailable(
        format!(
            "the change awaits approval: plan {} is held ({}). An admin approves it with `lpgate approve {} --by NAME`; a retry then applies it",
            plan.id,
            plan.held_reason.as_deref().unwrap_or("held"),
            plan.id
        ),
        HELD_RETRY_AFTER,
    )
}

/// Users of the account that are not suspended.
pub(crate) async fn active_users<S: Store>(
    store: &S,
    caller: &ScimCaller,
) -> Result<usize, ScimError> {
    Ok(store
        .scim_users(ScimUserQuery {
            account: caller.account,
            filter: UserFilter::Active(true),
            sort: UserSort::Id,
            descending: false,
            offset: 0,
            limit: Some(0),
        })
        .await?
        .total)
}

/// Makes (or finds) and applies the plan for `actions`. `what` names the request in the
/// plan's source (`POST /Users`, `PATCH /Users/42`).
pub(crate) async fn execute<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    actions: Vec<Action>,
    kind: ScimWrite,
    what: &str,
) -> Result<(), ScimError> {
    if actions.is_empty() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let ops = state.ops()?;
    let lock = state.scim.account_lock(caller.account);
    let _turn = lock.lock().await;
    let account = state.store.account(&caller.account_name).await?;
    let settings = (ops.settings.act)(&account.name);
    let fingerprint = fnv(serde_json::to_string(&actions)
        .unwrap_or_default()
        .as_bytes());
    let source = format!("scim {what} #{fingerprint:016x}");
    let actor = caller.actor();
    let plan_id = match state.store.waiting_plan(account.id, source.clone()).await? {
        Some(p) if p.state == PlanState::Held => return Err(held(&p)),
        Some(p) => p.id,
        None => {
            let removals = actions.iter().filter(|a| a.kind.is_removal()).count();
            let hold = if settings.scim.require_approval.contains(&kind) {
                Some(format!(
                    "scim.require_approval includes {:?}",
                    kind.as_str()
                ))
            } else if removals > 0 {
                let window = settings.scim.removal_window;
                let since = Utc::now()
                    - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::hours(1));
                let recent = state
                    .store
                    .recent_removals(account.id, actor.clone(), since)
                    .await?;
                let active = active_users(&state.store, caller).await?;
                settings
                    .limits
                    .hold_reason(recent + removals, active)
                    .map(|r| {
                        format!(
                            "{r}, counting this SCIM client's last {} s",
                            window.as_secs()
                        )
                    })
            } else {
                None
            };
            let req = PlanRequest {
                account: account.clone(),
                actions,
                actor: actor.clone(),
                source,
                allow_admins: false,
                exclude: settings.exclude.clone(),
                limits: settings.limits,
            };
            let store = state.store.clone();
            let routing = ops.settings.sync.routing.clone();
            let (plan, _) = off_thread(move || async move {
                act::make_plan_holding(&store, req, hold, &routing, Utc::now()).await
            })
            .await?
            .map_err(act_error)?;
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                plan = plan.id,
                "SCIM plan made"
            );
            if plan.state == PlanState::Held {
                return Err(held(&plan));
            }
            plan.id
        }
    };
    let (plan, items) = state.store.plan(plan_id).await?;
    if let Some(refused) = items.iter().find(|i| i.state == ItemState::Refused) {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            format!(
                "lpgate refuses to {} {}: {}",
                refused.action.as_str(),
                refused.email,
                refused.note.as_deref().unwrap_or("refused")
            ),
        ));
    }
    if plan.pending == 0 && plan.failed == 0 {
        return Ok(());
    }
    let client = ops.client_for(&account)?;
    let policy = settings.policy;
    let routing = ops.settings.sync.routing.clone();
    let store = state.store.clone();
    let result = off_thread(move || async move {
        act::apply_plan(
            &store,
            &client,
            plan_id,
            &actor,
            &policy,
            &routing,
            &Utc::now,
        )
        .await
    })
    .await?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        plan = plan_id,
        "SCIM plan applied"
    );
    match result {
        Ok(_) => {}
        Err(e @ ActError::Refresh(_)) => {
            tracing::warn!(error = %e, "a SCIM change was applied but re-reading its users failed");
        }
        Err(e) => return Err(act_error(e)),
    }
    let (_, items) = state.store.plan(plan_id).await?;
    if let Some(failed) = items.iter().find(|i| i.state == ItemState::Failed) {
        return Err(ScimError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "LastPass did not {} {}: {} (plan {plan_id}; a retry sends it again)",
                failed.action.as_str(),
                failed.email,
                failed.note.as_deref().unwrap_or("failed")
            ),
        ));
    }
    Ok(())
}

fn act_error(e: ActError) -> ScimError {
    match e {
        ActError::Held { plan, reason } => ScimError::unavailable(
            format!("the change awaits approval: plan {plan} is held ({reason})"),
            HELD_RETRY_AFTER,
        ),
        ActError::Busy { .. } => ScimError::unavailable(
            format!("{e}; retry shortly (a sync or another change of the account is running)"),
            10,
        ),
        ActError::Empty(m) => ScimError::invalid_value(m),
        ActError::Store(s) => s.into(),
        ActError::Refresh(_) => ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
