//! `GET /v1/users` (filters, keyset cursor pagination) and `GET /v1/users/{id}`.
//!
//! Pages are keyset-based on (account, email): a sync between two pages cannot shift rows,
//! so a user present throughout appears exactly once in a walk of all pages.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use lpgate_domain::AccountStatus;
use lpgate_store::{Store, StoreError, UserPageQuery, UserRow};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::{Params, decode_cursor, encode_cursor};
use crate::reply::{One, Page};
use crate::state::AppState;
use crate::v1::account_param;
use crate::v1::changes::parse_since;

/// The user routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/users", get(index::<S>))
        .route("/users/{id}", get(show::<S>))
}

const PARAMS: &[&str] = &[
    "status",
    "admin",
    "role",
    "updated_since",
    "group",
    "account",
    "q",
    "limit",
    "cursor",
];

/// `role` (`admin` or `user`) and `admin` (true/false) are two spellings of one filter; both
/// may be given only when they agree.
fn admin_filter(p: &Params) -> Result<Option<bool>, ApiError> {
    let admin = p.bool("admin")?;
    let role = match p.get("role") {
        None => None,
        Some("admin") => Some(true),
        Some("user") => Some(false),
        Some(r) => {
            return Err(ApiError::invalid(
                "role",
                format!("unknown role {r:?}: expected admin or user"),
            ));
        }
    };
    match (admin, role) {
        (Some(a), Some(r)) if a != r => Err(ApiError::invalid(
            "role",
            "role and admin disagree; give one of them",
        )),
        (a, r) => Ok(a.or(r)),
    }
}

#[utoipa::path(
    get,
    path = "/v1/users",
    operation_id = "list_users",
    tag = "users",
    summary = "Current users by account then email, in keyset pages",
    params(("status" = Option<String>, Query, description = "active, suspended, staged or deprovisioned"), ("admin" = Option<bool>, Query, description = "true or false"), ("role" = Option<String>, Query, description = "admin or user (the same filter as admin)"), ("updated_since" = Option<String>, Query, description = "Users whose current version began at or after this instant (RFC 3339, or 7d, 12h, 30m ago)"), ("group" = Option<String>, Query, description = "Only members of this group (by name)"), ("account" = Option<String>, Query, description = "Only this account (by name)"), ("q" = Option<String>, Query, description = "Substring of email or full name"), ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::UserRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<UserRow>, ApiError> {
    let p = Params::parse(raw.as_deref(), PARAMS)?;
    let limit = p.limit()?;
    let status = match p.get("status") {
        None => None,
        Some(s) => Some(
            s.parse::<AccountStatus>()
                .map_err(|e| ApiError::invalid("status", e.to_string()))?,
        ),
    };
    let text = p.get("q").map(str::trim).filter(|q| !q.is_empty());
    if text.is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::invalid("q", "q is longer than 200 characters"));
    }
    let query = UserPageQuery {
        account: account_param(&state, &caller, &p).await?,
        status: status.map(|s| s.as_str().to_string()),
        admin: admin_filter(&p)?,
        group: p.get("group").map(str::to_string),
        text: text.map(str::to_string),
        updated_since: p
            .get("updated_since")
            .map(|t| parse_since("updated_since", t, chrono::Utc::now()))
            .transpose()?,
        after: p.get("cursor").map(decode_cursor).transpose()?,
        limit: limit + 1,
    };
    page_of_users(&state.store, query, limit).await
}

/// One keyset page: asks the store for one row more than `limit` (the query's limit must be
/// `limit + 1`), so the cursor is set exactly when another page exists.
pub(crate) async fn page_of_users<S: Store>(
    store: &S,
    query: UserPageQuery,
    limit: usize,
) -> Result<Page<UserRow>, ApiError> {
    let mut rows = store.page_users(query).await?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|u| encode_cursor(&u.account, &u.email))
    } else {
        None
    };
    Ok(Page {
        result: rows,
        next_cursor,
    })
}

#[utoipa::path(
    get,
    path = "/v1/users/{id}",
    operation_id = "get_user",
    tag = "users",
    summary = "One user by its id",
    params(("id" = String, Path, description = "The user's id field")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::Item<lpgate_store::UserRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<One<UserRow>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found("user"));
    };
    match state.store.user_by_id(id).await {
        Ok(u) if caller.sees(&u.account) => Ok(One(u)),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(ApiError::not_found("user")),
        Err(e) => Err(e.into()),
    }
}
