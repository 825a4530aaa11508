//! Plans over the API: `POST /v1/plans` (write), `GET /v1/plans`, `GET /v1/plans/{id}`,
//! `POST /v1/plans/{id}/approve` (admin), `POST /v1/plans/{id}/apply` (write), and
//! `GET /v1/audit`. The same engine as `lpgate plan` / `apply` / `approve`: the same
//! decisions, exclusions and safety limits (`[act]`), the audit actor `token:NAME`.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::Utc;
use lpgate_domain::{Action, ActionKind, ActionParams};
use lpgate_engine::act::{self, ActError, PlanRequest};
use lpgate_store::{
    AuditQuery, AuditRow, NewAuditEntry, PlanItemRow, PlanRow, PlanState, Store, StoreError,
    TokenScope,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::{JsonBody, invalid_body};
use crate::error::ApiError;
use crate::ops::{off_thread, store_error};
use crate::params::{Params, decode_id_position, encode_position};
use crate::reply::{One, Page};
use crate::state::AppState;
use crate::v1::account_param;
use crate::v1::admin::{actor, visible_account};

/// The plan and audit routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/plans", post(create::<S>).get(index::<S>))
        .route("/plans/{id}", get(show::<S>))
        .route("/plans/{id}/approve", post(approve::<S>))
        .route("/plans/{id}/apply", post(apply::<S>))
        .route("/audit", get(audit::<S>))
}

/// Most actions one request may plan.
const MAX_ACTIONS: usize = 10_000;

/// Actions to plan on one account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanBody {
    /// The account (by name).
    account: String,
    /// The actions, 1 to 10000.
    pub(super) actions: Vec<ActionBody>,
    /// Act on administrators too (needs an admin token).
    #[serde(default)]
    allow_admins: bool,
}

/// One action on one user, as `lpgate plan` takes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionBody {
    /// `provision`, `update`, `suspend`, `remove`, `deprovision`, `uninvite`, `enable`,
    /// `reinvite`, `reset-password`, `require-password-change`, `reset-mfa`, `add-to-group`,
    /// `remove-from-group`.
    action: String,
    /// Whom.
    email: String,
    /// A group (`add-to-group` / `remove-from-group` need one, here or in `groups`).
    #[serde(default)]
    group: Option<String>,
    /// Groups: each is its own item for `add-to-group` / `remove-from-group`; provision
    /// joins them.
    #[serde(default)]
    groups: Vec<String>,
    /// Provision / update: full name.
    #[serde(default)]
    fullname: Option<String>,
    /// Provision / update: Duo username.
    #[serde(default)]
    duo_username: Option<String>,
    /// Provision / update: RSA SecurID username.
    #[serde(default)]
    securid_username: Option<String>,
    /// Require a new master password at first login (provision: default true).
    #[serde(default)]
    password_reset_required: Option<bool>,
    /// Provision: free attributes (Department, EmployeeNumber…).
    #[serde(default)]
    attribs: BTreeMap<String, String>,
}

/// The engine's actions, one per (action, user, group) as `lpgate plan` makes them.
pub(super) fn actions(body: Vec<ActionBody>) -> Result<Vec<Action>, ApiError> {
    if body.is_empty() {
        return Err(invalid_body(Some("actions"), "give at least one action"));
    }
    if body.len() > MAX_ACTIONS {
        return Err(invalid_body(
            Some("actions"),
            format!("at most {MAX_ACTIONS} actions per plan"),
        ));
    }
    let mut out = Vec::new();
    for (i, a) in body.into_iter().enumerate() {
        let field = |f: &str| format!("actions[{i}].{f}");
        let kind = ActionKind::parse(a.action.trim())
            .map_err(|e| invalid_body(Some(&field("action")), e.to_string()))?;
        let email = a.email.trim().to_lowercase();
        if !lpgate_domain::directory::looks_like_email(&email) {
            return Err(invalid_body(
                Some(&field("email")),
                format!("invalid email {:?}", a.email),
            ));
        }
        let mut groups = a.groups;
        groups.extend(a.group);
        if groups.iter().any(|g| g.trim().is_empty()) {
            return Err(invalid_body(Some(&field("group")), "a group name is empty"));
        }
        match kind {
            ActionKind::AddToGroup | ActionKind::RemoveFromGroup => {
                if groups.is_empty() {
                    return Err(invalid_body(
                        Some(&field("group")),
                        format!("{} needs a group", kind.as_str()),
                    ));
                }
                for g in groups {
                    out.push(Action {
                        kind,
                        email: email.clone(),
                        params: ActionParams {
                            groups: vec![g],
                            ..ActionParams::default()
                        },
                    });
                }
            }
            _ => out.push(Action {
                kind,
                email,
                params: ActionParams {
                    fullname: a.fullname,
                    groups,
                    duo_username: a.duo_username,
                    securid_username: a.securid_username,
                    password_reset_required: match kind {
                        ActionKind::Provision => Some(a.password_reset_required.unwrap_or(true)),
                        _ => a.password_reset_required,
                    },
                    attribs: a.attribs,
                },
            }),
        }
    }
    Ok(out)
}

fn plan_json(plan: &PlanRow, items: &[PlanItemRow]) -> Value {
    let mut v = serde_json::to_value(plan).unwrap_or(Value::Null);
    v["items"] = serde_json::to_value(items).unwrap_or(Value::Null);
    v
}

fn act_error(e: ActError) -> ApiError {
    match e {
        ActError::Held { .. } => ApiError::new(StatusCode::CONFLICT, "plan_held", e.to_string()),
        ActError::Busy { .. } => ApiError::new(StatusCode::CONFLICT, "busy", e.to_string()),
        ActError::Empty(m) => invalid_body(Some("actions"), m),
        ActError::Store(s) => store_error(s),
        ActError::Refresh(_) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/plans",
    operation_id = "create_plan",
    tag = "plans",
    summary = "Makes a plan from actions (write scope; allow_admins needs admin)",
    description = "The same decisions, exclusions and [act] safety limits as lpgate plan.",
    request_body = PlanBody,
    responses((status = 201, description = "Made; it may be applied", body = crate::v1::openapi::Item<crate::v1::openapi::PlanDetail>), (status = 202, description = "Made but held: over a safety limit, it needs an approval first", body = crate::v1::openapi::Item<crate::v1::openapi::PlanDetail>), (status = 400, description = "The body or a query parameter is wrong: content type, JSON, a field (invalid_body, naming the field; invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "The token lacks the write scope, or allow_admins without admin (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 409, description = "Another plan of this account is being made or applied (busy)", body = crate::v1::openapi::ErrorBody), (status = 413, description = "The body is larger than 1 MiB (body_too_large)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    JsonBody(b): JsonBody<PlanBody>,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    caller.require(TokenScope::Write)?;
    let ops = state.ops()?;
    if b.allow_admins {
        caller.require(TokenScope::Admin).map_err(|_| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "allow_admins (acting on administrators) needs an admin token",
            )
        })?;
    }
    let account = visible_account(&state, &caller, &b.account)
        .await
        .map_err(|_| invalid_body(Some("account"), format!("unknown account {:?}", b.account)))?;
    let actions = actions(b.actions)?;
    let settings = (ops.settings.act)(&account.name);
    let routing = ops.settings.sync.routing.clone();
    let req = PlanRequest {
        account,
        actions,
        actor: actor(&caller),
        source: format!("api: token {}", caller.token),
        allow_admins: b.allow_admins,
        exclude: settings.exclude,
        limits: settings.limits,
    };
    let store = state.store.clone();
    let (plan, items) =
        off_thread(move || async move { act::make_plan(&store, req, &routing, Utc::now()).await })
            .await?
            .map_err(act_error)?;
    let status = if plan.state == PlanState::Held {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, One(plan_json(&plan, &items))).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/plans",
    operation_id = "list_plans",
    tag = "plans",
    summary = "Plans, newest first",
    params(("account" = Option<String>, Query, description = "Only this account (by name)"), ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::PlanRow>), (status = 400, description = "An unknown or invalid query parameter (invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<PlanRow>, ApiError> {
    let p = Params::parse(raw.as_deref(), &["account", "limit"])?;
    let account = account_param(&state, &caller, &p).await?;
    let rows = state.store.list_plans(account, p.limit()?).await?;
    Ok(Page::all(rows))
}

/// A plan the caller may see, or 404.
pub(crate) async fn visible_plan<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    id: &str,
) -> Result<(PlanRow, Vec<PlanItemRow>), ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found("plan"));
    };
    match state.store.plan(id).await {
        Ok((p, items)) if caller.sees(&p.account) => Ok((p, items)),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(ApiError::not_found("plan")),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/plans/{id}",
    operation_id = "get_plan",
    tag = "plans",
    summary = "One plan with its items",
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::Item<crate::v1::openapi::PlanDetail>), (status = 400, description = "An unknown or invalid query parameter (invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such plan, or another account's (not_found)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<One<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let (plan, items) = visible_plan(&state, &caller, &id).await?;
    Ok(One(plan_json(&plan, &items)))
}

/// Who approves.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ApproveBody {
    /// The approver's name (1-200 characters), recorded in the audit log.
    by: String,
}

#[utoipa::path(
    post,
    path = "/v1/plans/{id}/approve",
    operation_id = "approve_plan",
    tag = "plans",
    summary = "Approves a held plan (admin scope)",
    params(("id" = i64, Path, description = "Plan id")),
    request_body = ApproveBody,
    responses((status = 200, description = "Approved; it may now be applied", body = crate::v1::openapi::Item<crate::v1::openapi::PlanDetail>), (status = 400, description = "The body or a query parameter is wrong: content type, JSON, a field (invalid_body, naming the field; invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "The token lacks the admin scope (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such plan, or another account's (not_found)", body = crate::v1::openapi::ErrorBody), (status = 409, description = "The plan is not held (conflict)", body = crate::v1::openapi::ErrorBody), (status = 413, description = "The body is larger than 1 MiB (body_too_large)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn approve<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    JsonBody(b): JsonBody<ApproveBody>,
) -> Result<One<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let row = approve_plan(&state, &caller, &id, &b.by).await?;
    let (_, items) = state.store.plan(row.id).await?;
    Ok(One(plan_json(&row, &items)))
}

/// Approves a held plan the caller may see, as `by` (admin scope); shared with the dashboard.
pub(crate) async fn approve_plan<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    id: &str,
    by: &str,
) -> Result<PlanRow, ApiError> {
    caller.require(TokenScope::Admin)?;
    let by = by.trim();
    if by.is_empty() || by.len() > 200 {
        return Err(invalid_body(
            Some("by"),
            "give the approver's name (1-200 characters)",
        ));
    }
    let (plan, _) = visible_plan(state, caller, id).await?;
    state
        .store
        .approve_plan(
            plan.id,
            NewAuditEntry {
                at: Utc::now(),
                actor: actor(caller),
                account: Some(plan.account_id),
                action: "plan.approve".into(),
                target: format!("plan {}", plan.id),
                plan_id: Some(plan.id),
                summary: format!(
                    "approved by {by}: {}",
                    plan.held_reason.clone().unwrap_or_default()
                ),
                outcome: "approved".into(),
            },
        )
        .await
        .map_err(store_error)
}

#[utoipa::path(
    post,
    path = "/v1/plans/{id}/apply",
    operation_id = "apply_plan",
    tag = "plans",
    summary = "Applies a plan: sends its pending and failed items, then re-reads the users (write scope)",
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "Applied (items' outcomes are on the items)", body = crate::v1::openapi::Item<crate::v1::openapi::PlanApplied>), (status = 400, description = "An unknown or invalid query parameter (invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "The token lacks the write scope (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such plan, or another account's (not_found)", body = crate::v1::openapi::ErrorBody), (status = 409, description = "The plan is held for approval; nothing was sent (plan_held), or the account is busy (busy)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn apply<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<One<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    apply_plan(&state, &caller, &id).await.map(One)
}

/// Applies a plan the caller may see (write scope): the plan with its items, `report` and
/// `warning`. Shared with the dashboard.
pub(crate) async fn apply_plan<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    id: &str,
) -> Result<Value, ApiError> {
    caller.require(TokenScope::Write)?;
    let ops = state.ops()?;
    let (plan, _) = visible_plan(state, caller, id).await?;
    if plan.state == PlanState::Held {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "plan_held",
            format!(
                "plan {} is held for approval ({}); nothing was sent. An admin token approves it with POST /v1/plans/{}/approve",
                plan.id,
                plan.held_reason.as_deref().unwrap_or(""),
                plan.id
            ),
        ));
    }
    let account = state.store.account(&plan.account).await?;
    let client = ops.client_for(&account)?;
    let policy = (ops.settings.act)(&account.name).policy;
    let routing = ops.settings.sync.routing.clone();
    let store = state.store.clone();
    let who = actor(caller);
    let plan_id = plan.id;
    let result = off_thread(move || async move {
        act::apply_plan(&store, &client, plan_id, &who, &policy, &routing, &Utc::now).await
    })
    .await?;
    let (report, warning) = match result {
        Ok(r) => (Some(r), None),
        Err(e @ ActError::Refresh(_)) => (None, Some(e.to_string())),
        Err(e) => return Err(act_error(e)),
    };
    let (plan, items) = state.store.plan(plan_id).await?;
    let mut v = plan_json(&plan, &items);
    v["report"] = serde_json::to_value(&report).unwrap_or(Value::Null);
    v["warning"] = json!(warning);
    Ok(v)
}

#[utoipa::path(
    get,
    path = "/v1/audit",
    operation_id = "list_audit",
    tag = "audit",
    summary = "The audit log, newest first (admin scope unless the token is limited to an account)",
    params(("since" = Option<String>, Query, description = "RFC 3339, or 7d, 12h, 30m ago"), ("actor" = Option<String>, Query, description = "Only this actor (token:NAME, a local user…)"), ("account" = Option<String>, Query, description = "Only this account (by name)"), ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::AuditRow>), (status = 400, description = "An unknown or invalid query parameter (invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "A token for all accounts without the admin scope (forbidden)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn audit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<AuditRow>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &["since", "actor", "account", "limit", "cursor"],
    )?;
    if caller.account.is_none() {
        caller.require(TokenScope::Admin)?;
    }
    let limit = p.limit()?;
    let since = match p.get("since") {
        None => None,
        Some(s) => Some(crate::v1::changes::parse_since("since", s, Utc::now())?),
    };
    let rows = state
        .store
        .list_audit(AuditQuery {
            since,
            actor: p.get("actor").map(str::to_string),
            account: account_param(&state, &caller, &p).await?,
            before: p
                .get("cursor")
                .map(|c| decode_id_position(c, "audit"))
                .transpose()?,
            limit: limit + 1,
        })
        .await?;
    Ok(Page::of(rows, limit, |a| {
        encode_position("audit", &[&a.seq.to_string()])
    }))
}
