//! Account administration for `admin` tokens not limited to an account:
//! `POST /v1/accounts`, `PATCH /v1/accounts/{id}`, `DELETE /v1/accounts/{id}`;
//! `POST /v1/accounts/{id}/sync` (write scope) and `GET /v1/sync-runs/{id}`;
//! `POST /v1/accounts/{id}/proxy` (admin), one raw Enterprise API call, audited.

use std::sync::Mutex;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use lpgate_domain::AccountZone;
use lpgate_engine::{SyncError, SyncStage, rules, sync_account};
use lpgate_lastpass::{BaseUrl, ProvisioningHash, Region};
use lpgate_store::{
    AccountEndpoint, AccountId, AccountRow, NewAccount, NewAuditEntry, Store, StoreError,
    TokenScope,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::{JsonBody, invalid_body};
use crate::error::ApiError;
use crate::ops::{Ops, off_thread, store_error};
use crate::params::Params;
use crate::reply::One;
use crate::state::AppState;

/// The administration routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/accounts", post(create::<S>))
        .route(
            "/accounts/{id}",
            axum::routing::patch(update::<S>).delete(remove::<S>),
        )
        .route("/accounts/{id}/sync", post(sync::<S>))
        .route("/accounts/{id}/proxy", post(proxy::<S>))
        .route("/sync-runs/{id}", get(run::<S>))
}

/// Shortest scheduled-sync interval.
const MIN_INTERVAL_SECS: i64 = 60;

/// 403 unless the caller has the admin scope over every account.
fn require_global_admin(caller: &Caller) -> Result<(), ApiError> {
    caller.require(TokenScope::Admin)?;
    if caller.account.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token is limited to one account; administering accounts needs an admin token for all accounts",
        ));
    }
    Ok(())
}

fn out(row: &AccountRow) -> Value {
    let mut v = serde_json::to_value(row).unwrap_or(Value::Null);
    v["id"] = json!(row.name);
    v
}

pub(crate) fn actor(caller: &Caller) -> String {
    format!("token:{}", caller.token)
}

/// The account the caller may see, or 404 (another account's answers the same).
pub(crate) async fn visible_account<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    name: &str,
) -> Result<AccountRow, ApiError> {
    if !caller.sees(name) {
        return Err(ApiError::not_found("account"));
    }
    match state.store.account(name).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found("account")),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn audit<S: Store>(state: &AppState<S>, entry: NewAuditEntry) {
    if let Err(e) = state.store.append_audit(vec![entry]).await {
        tracing::error!(error = %e, "could not append an audit entry");
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid_body(
            Some("name"),
            format!("invalid account name {name:?}: use 1-64 letters, digits, '-' or '_'"),
        ))
    }
}

fn check_interval(secs: i64) -> Result<(), ApiError> {
    if secs < MIN_INTERVAL_SECS {
        return Err(invalid_body(
            Some("interval_secs"),
            format!("invalid interval_secs {secs}: at least {MIN_INTERVAL_SECS}"),
        ));
    }
    Ok(())
}

fn parse_hash(text: String) -> Result<ProvisioningHash, ApiError> {
    // The client's message could quote the value: answer without it.
    ProvisioningHash::new(text).map_err(|_| {
        invalid_body(
            Some("provhash"),
            "invalid provisioning hash (it is not echoed)",
        )
    })
}

/// Asks LastPass once whether the credentials of `row` work; 422 when they do not.
async fn check_credentials(ops: &Ops, row: &AccountRow) -> Result<u64, ApiError> {
    let client = ops.client_for(row)?;
    client.check().await.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "credentials_rejected",
            format!("LastPass did not accept the credentials; nothing was saved: {e}"),
        )
    })
}

/// An account to link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBody {
    /// Unique name, its id in the API: 1-64 letters, digits, `-` or `_`.
    name: String,
    /// Company ID.
    cid: u64,
    /// The provisioning hash (sealed with the master key; never echoed).
    provhash: String,
    /// `us` or `eu` (default `us`); not with `url`.
    #[serde(default)]
    region: Option<String>,
    /// Any base URL (an emulator, a proxy); not with `region`.
    #[serde(default)]
    url: Option<String>,
    /// IANA zone LastPass times are read in (default `America/New_York`).
    #[serde(default)]
    time_zone: Option<String>,
    /// Seconds between scheduled syncs, at least 60 (default from the configuration).
    #[serde(default)]
    interval_secs: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/v1/accounts",
    operation_id = "add_account",
    tag = "accounts",
    summary = "Links a LastPass account (admin token for all accounts)",
    description = "The provisioning hash is sealed with the master key and never echoed. Give region or url, not both (default region us).",
    request_body = CreateBody,
    responses((status = 201, description = "Added; the credentials were checked once with LastPass", body = crate::v1::openapi::Item<crate::v1::openapi::AccountAdded>), (status = 400, description = "The body or a query parameter is wrong: content type, JSON, a field (invalid_body, naming the field; invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "Not an admin token, or one limited to an account (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 409, description = "An account with this name exists (conflict)", body = crate::v1::openapi::ErrorBody), (status = 413, description = "The body is larger than 1 MiB (body_too_large)", body = crate::v1::openapi::ErrorBody), (status = 422, description = "LastPass did not accept the credentials; nothing was saved (credentials_rejected)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    JsonBody(b): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    require_global_admin(&caller)?;
    let ops = state.ops()?;
    check_name(&b.name)?;
    if b.cid == 0 {
        return Err(invalid_body(Some("cid"), "cid must be a positive number"));
    }
    let endpoint = match (&b.region, &b.url) {
        (Some(_), Some(_)) => {
            return Err(invalid_body(Some("url"), "give region or url, not both"));
        }
        (_, Some(url)) => {
            BaseUrl::custom(url).map_err(|e| invalid_body(Some("url"), e.to_string()))?;
            AccountEndpoint::Url(url.trim().trim_end_matches('/').to_string())
        }
        (Some(r), None) => {
            let region =
                Region::parse(r).map_err(|e| invalid_body(Some("region"), e.to_string()))?;
            AccountEndpoint::Region(if region == Region::Eu { "eu" } else { "us" }.into())
        }
        (None, None) => AccountEndpoint::Region("us".into()),
    };
    let zone = match &b.time_zone {
        Some(z) => {
            AccountZone::parse(z).map_err(|e| invalid_body(Some("time_zone"), e.to_string()))?
        }
        None => AccountZone::default(),
    };
    let interval = b
        .interval_secs
        .unwrap_or(ops.settings.default_interval_secs);
    check_interval(interval)?;
    let hash = parse_hash(b.provhash)?;
    match state.store.account(&b.name).await {
        Ok(_) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("an account named {:?} already exists", b.name),
            ));
        }
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let now = Utc::now();
    let row = NewAccount {
        name: b.name.clone(),
        cid: b.cid,
        endpoint,
        provhash_sealed: ops.settings.key.seal(&hash),
        time_zone: zone.name().to_string(),
        sync_interval_secs: interval,
        now,
    };
    let probe = AccountRow {
        id: AccountId(0),
        name: row.name.clone(),
        cid: row.cid,
        endpoint: row.endpoint.clone(),
        provhash_sealed: row.provhash_sealed.clone(),
        enabled: true,
        time_zone: row.time_zone.clone(),
        sync_interval_secs: interval,
        created_at: now,
        last_synced_at: None,
    };
    let users = check_credentials(ops, &probe).await?;
    let saved = state.store.add_account(row).await.map_err(store_error)?;
    audit(
        &state,
        NewAuditEntry {
            at: now,
            actor: actor(&caller),
            account: Some(saved.id),
            action: "account.add".into(),
            target: format!("account {}", saved.name),
            plan_id: None,
            summary: format!("CID {}; credentials checked ({users} users)", saved.cid),
            outcome: "added".into(),
        },
    )
    .await;
    let mut v = out(&saved);
    v["users"] = json!(users);
    Ok((StatusCode::CREATED, One(v)).into_response())
}

/// What to change; fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateBody {
    /// A new name: 1-64 letters, digits, `-` or `_`.
    #[serde(default)]
    name: Option<String>,
    /// Seconds between scheduled syncs, at least 60.
    #[serde(default)]
    interval_secs: Option<i64>,
    /// Whether scheduled and `--all` syncs include it.
    #[serde(default)]
    enabled: Option<bool>,
    /// A new provisioning hash, checked with LastPass before it is saved (never echoed).
    #[serde(default)]
    provhash: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/v1/accounts/{id}",
    operation_id = "update_account",
    tag = "accounts",
    summary = "Changes an account's interval, enabled flag, provisioning hash or name (admin token for all accounts)",
    description = "Everything is checked before anything changes; a new provisioning hash is checked with LastPass first.",
    params(("id" = String, Path, description = "Account name")),
    request_body = UpdateBody,
    responses((status = 200, description = "The account as it now is", body = crate::v1::openapi::Item<lpgate_store::AccountRow>), (status = 400, description = "The body or a query parameter is wrong: content type, JSON, a field (invalid_body, naming the field; invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "Not an admin token, or one limited to an account (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such account (not_found)", body = crate::v1::openapi::ErrorBody), (status = 409, description = "Renaming to a name another account has (conflict)", body = crate::v1::openapi::ErrorBody), (status = 413, description = "The body is larger than 1 MiB (body_too_large)", body = crate::v1::openapi::ErrorBody), (status = 422, description = "LastPass did not accept the new provisioning hash; nothing was changed (credentials_rejected)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn update<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    JsonBody(b): JsonBody<UpdateBody>,
) -> Result<One<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    require_global_admin(&caller)?;
    let ops = state.ops()?;
    let row = visible_account(&state, &caller, &id).await?;
    // Everything is checked before anything changes.
    if let Some(n) = &b.name {
        check_name(n)?;
    }
    if let Some(i) = b.interval_secs {
        check_interval(i)?;
    }
    let sealed = match b.provhash {
        None => None,
        Some(text) => {
            let hash = parse_hash(text)?;
            let sealed = ops.settings.key.seal(&hash);
            let probe = AccountRow {
                provhash_sealed: sealed.clone(),
                ..row.clone()
            };
            check_credentials(ops, &probe).await?;
            Some(sealed)
        }
    };
    let mut changed = Vec::new();
    if let Some(i) = b.interval_secs {
        state
            .store
            .set_account_interval(&row.name, i)
            .await
            .map_err(store_error)?;
        changed.push(format!("interval_secs {i}"));
    }
    if let Some(e) = b.enabled {
        state
            .store
            .set_account_enabled(&row.name, e)
            .await
            .map_err(store_error)?;
        changed.push(format!("enabled {e}"));
    }
    if let Some(s) = sealed {
        state
            .store
            .set_account_provhash(&row.name, s)
            .await
            .map_err(store_error)?;
        changed.push("provisioning hash replaced (checked)".into());
    }
    let mut name = row.name.clone();
    if let Some(n) = b.name.filter(|n| *n != row.name) {
        state
            .store
            .rename_account(&row.name, &n)
            .await
            .map_err(store_error)?;
        changed.push(format!("renamed to {n}"));
        name = n;
    }
    if !changed.is_empty() {
        audit(
            &state,
            NewAuditEntry {
                at: Utc::now(),
                actor: actor(&caller),
                account: Some(row.id),
                action: "account.update".into(),
                target: format!("account {}", row.name),
                plan_id: None,
                summary: changed.join("; "),
                outcome: "updated".into(),
            },
        )
        .await;
    }
    let fresh = state.store.account(&name).await?;
    Ok(One(out(&fresh)))
}

#[utoipa::path(
    delete,
    path = "/v1/accounts/{id}",
    operation_id = "remove_account",
    tag = "accounts",
    summary = "Removes an account with its history (admin token for all accounts)",
    params(("id" = String, Path, description = "Account name")),
    responses((status = 200, description = "Removed", body = crate::v1::openapi::Item<crate::v1::openapi::AccountDeleted>), (status = 400, description = "An unknown or invalid query parameter (invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "Not an admin token, or one limited to an account (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such account (not_found)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn remove<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<One<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    require_global_admin(&caller)?;
    let row = visible_account(&state, &caller, &id).await?;
    state
        .store
        .remove_account(&row.name)
        .await
        .map_err(store_error)?;
    audit(
        &state,
        NewAuditEntry {
            at: Utc::now(),
            actor: actor(&caller),
            account: None,
            action: "account.remove".into(),
            target: format!("account {}", row.name),
            plan_id: None,
            summary: format!("CID {}, with its history", row.cid),
            outcome: "removed".into(),
        },
    )
    .await;
    Ok(One(json!({"id": row.name, "deleted": true})))
}

/// Removes an account from the running set when the sync task ends, however it ends.
struct Running<'a> {
    ops: &'a Ops,
    id: AccountId,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.ops.syncing.lock() {
            set.remove(&self.id);
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/accounts/{id}/sync",
    operation_id = "sync_account",
    tag = "sync",
    summary = "Starts a sync of the account (write scope)",
    params(("id" = String, Path, description = "Account name")),
    responses((status = 202, description = "Started; the sync goes on after the reply", body = crate::v1::openapi::Item<crate::v1::openapi::SyncStarted>), (status = 400, description = "An unknown or invalid query parameter (invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "The token lacks the write scope (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such account (not_found)", body = crate::v1::openapi::ErrorBody), (status = 409, description = "A sync of this account is already running (sync_running)", body = crate::v1::openapi::ErrorBody), (status = 502, description = "The sync failed before fetching (sync_failed)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn sync<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    caller.require(TokenScope::Write)?;
    state.ops()?;
    let ops_arc = state.ops.clone().ok_or_else(crate::ops::not_configured)?;
    let account = visible_account(&state, &caller, &id).await?;
    let busy = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "sync_running",
            format!("a sync of account {} is already running", account.name),
        )
    };
    let inserted = ops_arc
        .syncing
        .lock()
        .map(|mut s| s.insert(account.id))
        .unwrap_or(false);
    if !inserted {
        return Err(busy());
    }
    let client = match ops_arc.client_for(&account) {
        Ok(c) => c,
        Err(e) => {
            if let Ok(mut s) = ops_arc.syncing.lock() {
                s.remove(&account.id);
            }
            return Err(e);
        }
    };
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<Result<(), SyncError>>();
    let store = state.store.clone();
    let task_account = account.clone();
    let ops_task = ops_arc.clone();
    // Not awaited: the sync goes on after the reply.
    let task = off_thread(move || async move {
        let ops = &*ops_task;
        let _running = Running {
            ops,
            id: task_account.id,
        };
        let started = Mutex::new(Some(started_tx));
        let signal = |r: Result<(), SyncError>| {
            if let Some(tx) = started.lock().ok().and_then(|mut s| s.take()) {
                let _ = tx.send(r);
            }
        };
        let zone = AccountZone::parse(&task_account.time_zone).unwrap_or_default();
        let result = sync_account(
            &store,
            &client,
            &task_account,
            zone,
            &ops.settings.sync,
            Utc::now,
            |stage| {
                if stage == SyncStage::Fetching {
                    signal(Ok(()));
                }
            },
        )
        .await;
        match result {
            Ok(report) => {
                tracing::info!(account = %task_account.name, changes = report.run.changes, "API sync done");
                if let Err(e) = rules::check_account(
                    &store,
                    task_account.id,
                    &task_account.name,
                    &ops.settings.rules,
                    &ops.settings.sync.routing,
                    Utc::now(),
                )
                .await
                {
                    tracing::error!(account = %task_account.name, error = %e, "rules failed after an API sync");
                }
            }
            Err(e) => {
                tracing::warn!(account = %task_account.name, error = %e, "API sync failed");
                signal(Err(e));
            }
        }
    });
    tokio::spawn(task);
    match started_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(SyncError::Busy { .. })) => return Err(busy()),
        Ok(Err(e)) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "sync_failed",
                e.to_string(),
            ));
        }
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the sync task ended without starting; see the server log",
            ));
        }
    }
    // The run was begun with the account's lock held: the newest run is this one.
    let runs = state.store.list_runs(Some(account.name.clone()), 1).await?;
    let run = runs.first().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the sync run was not recorded",
        )
    })?;
    Ok((
        StatusCode::ACCEPTED,
        One(json!({"run_id": run.id.0, "account": account.name})),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/v1/sync-runs/{id}",
    operation_id = "get_sync_run",
    tag = "sync",
    summary = "One sync run",
    params(("id" = i64, Path, description = "The run id (run_id of POST /v1/accounts/{id}/sync)")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::Item<lpgate_store::SyncRunRow>), (status = 400, description = "An unknown or invalid query parameter (invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such sync run, or another account's (not_found)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn run<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<One<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found("sync run"));
    };
    match state.store.sync_run(id).await {
        Ok(r) if caller.sees(&r.account) => {
            let mut v = serde_json::to_value(&r).unwrap_or(Value::Null);
            v["id"] = json!(r.id.0);
            Ok(One(v))
        }
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(ApiError::not_found("sync run")),
        Err(e) => Err(e.into()),
    }
}

/// One Enterprise API call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ProxyBody {
    /// The Enterprise API command (`getuserdata`…): 1-64 letters, digits or underscores.
    cmd: String,
    /// Its `data`, sent as given.
    #[serde(default)]
    data: Option<Value>,
}

/// What the audit keeps of a proxied call's data: its shape, never its values.
fn shape(data: Option<&Value>) -> String {
    match data {
        None | Some(Value::Null) => "no data".into(),
        Some(Value::Object(m)) => format!(
            "data keys: {}",
            m.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Some(Value::Array(a)) => format!("data: {} item(s)", a.len()),
        Some(_) => "data: a scalar".into(),
    }
}

#[utoipa::path(
    post,
    path = "/v1/accounts/{id}/proxy",
    operation_id = "proxy_account",
    tag = "accounts",
    summary = "Sends one raw Enterprise API command to LastPass and answers its reply unchanged (admin scope)",
    description = "Audited: the command and the shape of its data (keys, never values).",
    params(("id" = String, Path, description = "Account name")),
    request_body = ProxyBody,
    responses((status = 200, description = "LastPass's reply, unchanged (no result envelope)", body = serde_json::Value), (status = 400, description = "The body or a query parameter is wrong: content type, JSON, a field (invalid_body, naming the field; invalid_parameter)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 403, description = "The token lacks the admin scope (forbidden)", body = crate::v1::openapi::ErrorBody), (status = 404, description = "No such account (not_found)", body = crate::v1::openapi::ErrorBody), (status = 413, description = "The body is larger than 1 MiB (body_too_large)", body = crate::v1::openapi::ErrorBody), (status = 502, description = "The call to LastPass failed (upstream_error)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn proxy<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    JsonBody(b): JsonBody<ProxyBody>,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    caller.require(TokenScope::Admin)?;
    let ops = state.ops()?;
    let account = visible_account(&state, &caller, &id).await?;
    let cmd_ok = !b.cmd.is_empty()
        && b.cmd.len() <= 64
        && b.cmd
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if !cmd_ok {
        return Err(invalid_body(
            Some("cmd"),
            "a command is 1-64 letters, digits or underscores",
        ));
    }
    let client = ops.client_for(&account)?;
    let result = client.raw(&b.cmd, b.data.as_ref()).await;
    let outcome = match &result {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("failed: {e}"),
    };
    audit(
        &state,
        NewAuditEntry {
            at: Utc::now(),
            actor: actor(&caller),
            account: Some(account.id),
            action: "proxy".into(),
            target: b.cmd.clone(),
            plan_id: None,
            summary: shape(b.data.as_ref()),
            outcome,
        },
    )
    .await;
    match result {
        Ok(reply) => Ok(Json(reply).into_response()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            e.to_string(),
        )),
    }
}
