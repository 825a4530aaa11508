//! The SCIM 2.0 server (RFC 7643, RFC 7644) under `/scim/v2`: identity providers (Okta,
//! Entra ID, OneLogin…) provision LastPass through lpgate, so their changes get lpgate's
//! safety limits, approvals and audit log.
//!
//! Authentication is a bearer token of scope `scim` bound to one account; every resource is
//! that account's. Reads come from the store (with a cache that is exact: it is dropped
//! whenever the store changes); writes become plans applied to LastPass, after which the
//! affected users are re-read, so a GET after a write shows it.

mod cache;
mod error;
mod filter;
pub(crate) mod fuzz;
mod groups;
mod patch;
mod resource;
mod schemas;
mod users;
mod write;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lpgate_store::{AccountId, Store, TokenScope};

pub(crate) use cache::Shared;
pub use error::ScimError;
pub use write::{DeleteMode, ScimSettings, ScimWrite};

use crate::state::AppState;

/// Who calls: the token's name and its account.
#[derive(Debug, Clone)]
pub(crate) struct ScimCaller {
    /// Token name (the audit actor is `scim:NAME`).
    pub token: String,
    /// The account every resource belongs to.
    pub account: AccountId,
    /// Its name.
    pub account_name: String,
    /// The store's data version when the request arrived.
    pub version: Option<u64>,
}

impl ScimCaller {
    /// The audit log's actor.
    pub fn actor(&self) -> String {
        format!("scim:{}", self.token)
    }
}

/// The `/scim/v2` routes.
pub fn routes<S: Store>(state: AppState<S>) -> Router<AppState<S>> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(service_provider_config).fallback(not_allowed),
        )
        .route("/ResourceTypes", get(resource_types).fallback(not_allowed))
        .route(
            "/ResourceTypes/{id}",
            get(resource_type).fallback(not_allowed),
        )
        .route("/Schemas", get(schemas_index).fallback(not_allowed))
        .route("/Schemas/{id}", get(schema_one).fallback(not_allowed))
        .route(
            "/Users",
            get(users::index::<S>)
                .post(users::create::<S>)
                .fallback(not_allowed),
        )
        .route(
            "/Users/.search",
            post(users::search::<S>).fallback(not_allowed),
        )
        .route(
            "/Users/{id}",
            get(users::show::<S>)
                .put(users::replace::<S>)
                .patch(users::patch::<S>)
                .delete(users::delete::<S>)
                .fallback(not_allowed),
        )
        .route(
            "/Groups",
            get(groups::index::<S>)
                .post(groups::create::<S>)
                .fallback(not_allowed),
        )
        .route(
            "/Groups/.search",
            post(groups::search::<S>).fallback(not_allowed),
        )
        .route(
            "/Groups/{id}",
            get(groups::show::<S>)
                .put(groups::replace::<S>)
                .patch(groups::patch::<S>)
                .delete(groups::delete::<S>)
                .fallback(not_allowed),
        )
        .route("/Bulk", post(unsupported))
        .route("/Me", get(unsupported).post(unsupported))
        .fallback(not_found)
        .route_layer(from_fn_with_state(state, authenticate::<S>))
}

async fn not_found() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, "no such SCIM endpoint")
}

async fn not_allowed() -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this method is not supported on this endpoint",
    )
}

async fn unsupported() -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not supported by this server (see /scim/v2/ServiceProviderConfig)",
    )
}

/// Middleware: a `scim` token bound to one account, checked as the REST API checks tokens
/// (same failure limit), answered in SCIM's error format.
async fn authenticate<S: Store>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = peer.ip();
    let now = Instant::now();
    if let Some(wait) = state.failures.blocked(ip, now) {
        let mut e = ScimError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed authentications from this address; try again later",
        );
        e.retry_after = Some(wait);
        return e.into_response();
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = presented else {
        state.failures.fail(ip, now);
        return ScimError::new(
            StatusCode::UNAUTHORIZED,
            "missing bearer token: send Authorization: Bearer lpg_… (lpgate scim token create)",
        )
        .into_response();
    };
    // Read once per request: the token check and the user cache both go by it.
    let version = state.store.data_version();
    let row = match crate::auth::verify(&state, token, now, version).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            state.failures.fail(ip, now);
            return ScimError::new(StatusCode::UNAUTHORIZED, "invalid, revoked or reset token")
                .into_response();
        }
        Err(e) => return ScimError::from(e).into_response(),
    };
    if row.scope != TokenScope::Scim {
        return ScimError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this token has the {} scope; /scim/v2 needs a scim token (lpgate scim token create --account NAME)",
                row.scope.as_str()
            ),
        )
        .into_response();
    }
    let (Some(account), Some(account_name)) = (row.account_id, row.account.clone()) else {
        return ScimError::new(
            StatusCode::FORBIDDEN,
            "this scim token is not bound to an account: make one with lpgate scim token create --account NAME",
        )
        .into_response();
    };
    request.extensions_mut().insert(ScimCaller {
        token: row.name.clone(),
        account,
        account_name,
        version,
    });
    next.run(request).await
}

async fn service_provider_config(headers: HeaderMap) -> Response {
    resource::scim_json(&schemas::service_provider_config(&resource::base_url(
        &headers,
    )))
}

async fn resource_types(headers: HeaderMap) -> Response {
    let all = schemas::resource_types(&resource::base_url(&headers));
    let n = all.len();
    resource::scim_json(&resource::list(all, n, 1))
}

async fn resource_type(
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ScimError> {
    schemas::resource_types(&resource::base_url(&headers))
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| resource::scim_json(&r))
        .ok_or_else(|| ScimError::not_found("resource type", &id))
}

async fn schemas_index(headers: HeaderMap) -> Response {
    let all = schemas::schemas(&resource::base_url(&headers));
    let n = all.len();
    resource::scim_json(&resource::list(all, n, 1))
}

async fn schema_one(
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ScimError> {
    schemas::schemas(&resource::base_url(&headers))
        .into_iter()
        .find(|r| {
            r["id"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(&id))
        })
        .map(|r| resource::scim_json(&r))
        .ok_or_else(|| ScimError::not_found("schema", &id))
}
