//! The `/v1` unified REST API: one module per resource, each with its `routes()`. Every route
//! here sits behind token authentication.

mod accounts;
pub(crate) mod admin;
mod changes;
mod directory;
mod findings;
pub(crate) mod fuzz;
mod groups;
pub(crate) mod openapi;
pub(crate) mod plans;
mod query;
pub(crate) mod reports;
mod users;

use axum::Router;
use axum::middleware::from_fn_with_state;
use lpgate_store::{Store, StoreError};

use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;

/// The `/v1` routes, authenticated.
pub fn routes<S: Store>(state: AppState<S>) -> Router<AppState<S>> {
    Router::new()
        .merge(accounts::routes())
        .merge(users::routes())
        .merge(groups::routes())
        .merge(findings::routes())
        .merge(changes::routes())
        .merge(admin::routes())
        .merge(plans::routes())
        .merge(query::routes())
        .merge(directory::routes())
        .merge(reports::routes())
        .route_layer(from_fn_with_state(state, authenticate::<S>))
}

/// The `account` filter of a list: the caller's own account when its token is limited to
/// one; otherwise the requested account, which must exist. An account the caller may not see
/// is answered exactly like one that does not exist.
async fn account_param<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    params: &Params,
) -> Result<Option<String>, ApiError> {
    let Some(requested) = params.get("account") else {
        return Ok(caller.account_filter(None));
    };
    let unknown = || ApiError::invalid("account", format!("unknown account {requested:?}"));
    if !caller.sees(requested) {
        return Err(unknown());
    }
    match state.store.account(requested).await {
        Ok(_) => Ok(caller.account_filter(Some(requested.to_string()))),
        Err(StoreError::NotFound { .. }) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}
