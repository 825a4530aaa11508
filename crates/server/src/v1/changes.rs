//! `GET /v1/changes?since=`: recorded changes, newest first.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use lpgate_domain::ChangeKind;
use lpgate_store::{ChangeRow, Store};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::{Params, decode_id_position, encode_position};
use crate::reply::Page;
use crate::state::AppState;
use crate::v1::account_param;

/// The change routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/changes", get(index::<S>))
}

/// An instant parameter (`since`, `updated_since`): an RFC 3339 instant, or `7d`, `12h`,
/// `30m` ago. A bad value is a 400 naming `field`.
pub(crate) fn parse_since(
    field: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let secs = match text.chars().last() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => 0,
    };
    match text[..text.len().saturating_sub(1)].parse::<i64>() {
        Ok(n) if secs > 0 && (0..=36_500 * 86_400 / secs).contains(&n) => {
            Ok(now - chrono::Duration::seconds(n * secs))
        }
        _ => Err(ApiError::invalid(
            field,
            format!("invalid {field} {text:?}: expected an RFC 3339 time or 7d, 12h, 30m"),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v1/changes",
    operation_id = "list_changes",
    tag = "changes",
    summary = "Recorded changes, newest first",
    params(("since" = Option<String>, Query, description = "RFC 3339, or 7d, 12h, 30m ago"), ("kind" = Option<String>, Query, description = "Only this change kind"), ("account" = Option<String>, Query, description = "Only this account (by name)"), ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::ChangeRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<ChangeRow>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &["account", "since", "kind", "limit", "cursor"],
    )?;
    let before = p
        .get("cursor")
        .map(|c| decode_id_position(c, "changes"))
        .transpose()?;
    let since = p
        .get("since")
        .map(|s| parse_since("since", s, Utc::now()))
        .transpose()?;
    let kind = match p.get("kind") {
        Some(k) if ChangeKind::parse(k).is_none() => {
            return Err(ApiError::invalid(
                "kind",
                format!("unknown change kind {k:?}"),
            ));
        }
        k => k.map(str::to_string),
    };
    let limit = p.limit()?;
    let account = account_param(&state, &caller, &p).await?;
    let rows = state
        .store
        .list_changes(account, since, kind, before, limit + 1)
        .await?;
    Ok(Page::of(rows, limit, |c| {
        encode_position("changes", &[&c.id.to_string()])
    }))
}
