//! The rest of the directory, read-only: `GET /v1/roles`, `GET /v1/users/{id}/roles`,
//! `GET /v1/groups/{id}/members` (keyset pages like `/v1/users`), `GET /v1/folders` and
//! `GET /v1/events`.

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use lpgate_store::{EventRow, FolderRow, Store, StoreError, UserPageQuery};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::{Params, decode_cursor, decode_position, encode_position};
use crate::reply::Page;
use crate::state::AppState;
use crate::v1::account_param;
use crate::v1::changes::parse_since;

/// The directory routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/roles", get(roles))
        .route("/users/{id}/roles", get(user_roles::<S>))
        .route("/groups/{id}/members", get(group_members::<S>))
        .route("/folders", get(folders::<S>))
        .route("/events", get(events::<S>))
}

/// A LastPass role. LastPass Enterprise has two for provisioning: company admins and users.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Role {
    /// `admin` or `user` (what a user's `role` field holds).
    pub id: &'static str,
    /// What it means.
    pub description: &'static str,
}

/// Every role, in a fixed order.
pub const ROLES: [Role; 2] = [
    Role {
        id: "admin",
        description: "company administrator in the LastPass Admin Console",
    },
    Role {
        id: "user",
        description: "member of the company without administrative rights",
    },
];

fn role(id: &str) -> Role {
    ROLES.iter().find(|r| r.id == id).cloned().unwrap_or(Role {
        id: "user",
        description: ROLES[1].description,
    })
}

#[utoipa::path(
    get,
    path = "/v1/roles",
    operation_id = "list_roles",
    tag = "roles",
    summary = "The LastPass roles: admin and user",
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<Role>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn roles(RawQuery(raw): RawQuery) -> Result<Page<Role>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    Ok(Page::all(ROLES.to_vec()))
}

#[utoipa::path(
    get,
    path = "/v1/users/{id}/roles",
    operation_id = "list_user_roles",
    tag = "roles",
    summary = "A user's role",
    params(("id" = String, Path, description = "The user's id field")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<Role>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn user_roles<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Page<Role>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found("user"));
    };
    match state.store.user_by_id(id).await {
        Ok(u) if caller.sees(&u.account) => Ok(Page::all(vec![role(&u.role)])),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(ApiError::not_found("user")),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/groups/{id}/members",
    operation_id = "list_group_members",
    tag = "groups",
    summary = "A group's current members, in keyset pages like /v1/users",
    params(("id" = String, Path, description = "The group's id as /v1/groups lists it"), ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::UserRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn group_members<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    version: Option<Extension<crate::auth::DataVersion>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<crate::reply::JsonPage, ApiError> {
    let p = Params::parse(raw.as_deref(), &["limit", "cursor"])?;
    let limit = p.limit()?;
    let after = p.get("cursor").map(decode_cursor).transpose()?;
    let group = match state.store.group_by_id(id).await {
        Ok(g) if caller.sees(&g.account) => g,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Err(ApiError::not_found("group")),
        Err(e) => return Err(e.into()),
    };
    let query = UserPageQuery {
        account: Some(group.account),
        group: Some(group.name),
        after,
        limit: limit + 1,
        ..UserPageQuery::default()
    };
    crate::v1::users::page_of_users(&state, version.map(|Extension(v)| v), query, limit).await
}

#[utoipa::path(
    get,
    path = "/v1/folders",
    operation_id = "list_folders",
    tag = "folders",
    summary = "Shared folders with member counts",
    params(("account" = Option<String>, Query, description = "Only this account (by name)")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::FolderRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn folders<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<FolderRow>, ApiError> {
    let p = Params::parse(raw.as_deref(), &["account"])?;
    let account = account_param(&state, &caller, &p).await?;
    Ok(Page::all(state.store.list_folders(account).await?))
}

#[utoipa::path(
    get,
    path = "/v1/events",
    operation_id = "list_events",
    tag = "events",
    summary = "Reporting events, newest first",
    params(("since" = Option<String>, Query, description = "RFC 3339, or 7d, 12h, 30m ago"), ("account" = Option<String>, Query, description = "Only this account (by name)"), ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::EventRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn events<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<EventRow>, ApiError> {
    let p = Params::parse(raw.as_deref(), &["account", "since", "limit", "cursor"])?;
    let before = match p.get("cursor") {
        None => None,
        Some(c) => {
            let parts = decode_position(c, "events", 2)?;
            let bad = || {
                ApiError::invalid(
                    "cursor",
                    "invalid cursor: pass the next_cursor of a previous page of this list unchanged",
                )
            };
            let time = DateTime::parse_from_rfc3339(&parts[0]).map_err(|_| bad())?;
            let id = parts[1].parse::<i64>().map_err(|_| bad())?;
            Some((time.with_timezone(&Utc), id))
        }
    };
    let since = p
        .get("since")
        .map(|s| parse_since("since", s, Utc::now()))
        .transpose()?;
    let limit = p.limit()?;
    let account = account_param(&state, &caller, &p).await?;
    let rows = state
        .store
        .list_events(account, since, before, limit + 1)
        .await?;
    Ok(Page::of(rows, limit, |e| {
        encode_position("events", &[&e.time.to_rfc3339(), &e.id.to_string()])
    }))
}
