//! `GET /v1/users` (filters, keyset cursor pagination) and `GET /v1/users/{id}`.
//!
//! Pages are keyset-based on (account, email): a sync between two pages cannot shift rows,
//! so a user present throughout appears exactly once in a walk of all pages.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use bytes::Bytes;
use lpgate_domain::AccountStatus;
use lpgate_store::{Store, StoreError, UserPageQuery, UserRow};

use crate::auth::{Caller, DataVersion};
use crate::error::ApiError;
use crate::params::{Params, decode_cursor, encode_cursor};
use crate::reply::{JsonOne, JsonPage};
use crate::state::AppState;
use crate::usercache::CachedUser;
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
    version: Option<Extension<DataVersion>>,
    RawQuery(raw): RawQuery,
) -> Result<JsonPage, ApiError> {
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
        ..UserPageQuery::default()
    };
    page_of_users(&state, version.map(|Extension(v)| v), query, limit).await
}

/// One keyset page: asks the store for the page's keys with one row more than `limit` (the
/// query's limit must be `limit + 1`), so the cursor is set exactly when another page exists,
/// then takes each user's JSON from the cache or, for those not there, from the store.
pub(crate) async fn page_of_users<S: Store>(
    state: &AppState<S>,
    version: Option<DataVersion>,
    query: UserPageQuery,
    limit: usize,
) -> Result<JsonPage, ApiError> {
    let version = version.map_or_else(|| state.store.data_version(), |v| v.0);
    let mut keys = state.store.page_user_keys(query).await?;
    let next_cursor = if keys.len() > limit {
        keys.truncate(limit);
        keys.last().map(|k| encode_cursor(&k.account, &k.email))
    } else {
        None
    };
    let ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
    let mut found = state.users.get_many(version, &ids);
    let missing: Vec<i64> = ids
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(id, _)| *id)
        .collect();
    if !missing.is_empty() {
        let mut read: HashMap<i64, CachedUser> = HashMap::with_capacity(missing.len());
        for user in state.store.users_by_ids(missing).await? {
            let cached = cache_user(state, version, &user)?;
            read.insert(user.id, cached);
        }
        for (slot, id) in found.iter_mut().zip(&ids) {
            if slot.is_none() {
                *slot = read.remove(id);
            }
        }
    }
    // A user removed between reading the keys and the rows is left out, as if the page had
    // been read just after.
    Ok(JsonPage {
        result: found.into_iter().flatten().map(|u| u.json).collect(),
        next_cursor,
    })
}

/// Serializes `user` and keeps it for later requests at `version`.
fn cache_user<S: Store>(
    state: &AppState<S>,
    version: Option<u64>,
    user: &UserRow,
) -> Result<CachedUser, ApiError> {
    let json = serde_json::to_vec(user).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot serialize user {}: {e}", user.id),
        )
    })?;
    let cached = CachedUser {
        account: Arc::from(user.account.as_str()),
        json: Bytes::from(json),
    };
    state.users.put(version, user.id, cached.clone());
    Ok(cached)
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
    version: Option<Extension<DataVersion>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<JsonOne, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::not_found("user"));
    };
    let version = version.map_or_else(|| state.store.data_version(), |Extension(v)| v.0);
    let user = match state.users.get_many(version, &[id]).pop().flatten() {
        Some(u) => u,
        None => match state.store.user_by_id(id).await {
            Ok(u) => cache_user(&state, version, &u)?,
            Err(StoreError::NotFound { .. }) => return Err(ApiError::not_found("user")),
            Err(e) => return Err(e.into()),
        },
    };
    if !caller.sees(&user.account) {
        return Err(ApiError::not_found("user"));
    }
    Ok(JsonOne(user.json))
}
