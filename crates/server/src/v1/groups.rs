//! `GET /v1/groups`: groups with member counts (one page: groups are few).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use lpgate_store::{GroupRow, Store};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::Params;
use crate::reply::Page;
use crate::state::AppState;
use crate::v1::account_param;

/// The group routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/groups", get(index::<S>))
}

#[utoipa::path(
    get,
    path = "/v1/groups",
    operation_id = "list_groups",
    tag = "groups",
    summary = "Groups with member counts",
    params(("account" = Option<String>, Query, description = "Only this account (by name)")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::GroupRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<GroupRow>, ApiError> {
    let p = Params::parse(raw.as_deref(), &["account"])?;
    let account = account_param(&state, &caller, &p).await?;
    Ok(Page::all(state.store.list_groups(account).await?))
}
