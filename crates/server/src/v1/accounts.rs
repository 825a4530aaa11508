//! `GET /v1/accounts` and `GET /v1/accounts/{name}` (with the last sync run). An account's id
//! in the API is its name: unique, and what every command already uses.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use lpgate_store::{AccountRow, Store, StoreError};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::Params;
use crate::reply::{One, Page};
use crate::state::AppState;

/// The account routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/accounts", get(index::<S>))
        .route("/accounts/{id}", get(show::<S>))
}

fn out(row: &AccountRow) -> Value {
    let mut v = serde_json::to_value(row).unwrap_or(Value::Null);
    v["id"] = json!(row.name);
    v
}

#[utoipa::path(
    get,
    path = "/v1/accounts",
    operation_id = "list_accounts",
    tag = "accounts",
    summary = "Linked accounts (an account's id is its name)",
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::AccountRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let rows = state.store.list_accounts().await?;
    Ok(Page::all(
        rows.iter()
            .filter(|a| caller.sees(&a.name))
            .map(out)
            .collect(),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}",
    operation_id = "get_account",
    tag = "accounts",
    summary = "One account, with last_sync (the newest sync run)",
    params(("id" = String, Path, description = "Account name")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::Item<lpgate_store::AccountRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<One<Value>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    if !caller.sees(&id) {
        return Err(ApiError::not_found("account"));
    }
    let row = match state.store.account(&id).await {
        Ok(r) => r,
        Err(StoreError::NotFound { .. }) => return Err(ApiError::not_found("account")),
        Err(e) => return Err(e.into()),
    };
    let last = state.store.list_runs(Some(row.name.clone()), 1).await?;
    let mut v = out(&row);
    v["last_sync"] = serde_json::to_value(last.first()).unwrap_or(Value::Null);
    Ok(One(v))
}
