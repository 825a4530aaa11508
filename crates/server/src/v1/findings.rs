//! `GET /v1/findings`: what the rules matched, newest first.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Extension, Router};
use lpgate_store::{FindingQuery, FindingRow, Store};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::{Params, decode_id_position, encode_position};
use crate::reply::Page;
use crate::state::AppState;
use crate::v1::account_param;

/// The finding routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/findings", get(index::<S>))
}

#[utoipa::path(
    get,
    path = "/v1/findings",
    operation_id = "list_findings",
    tag = "findings",
    summary = "What the rules matched, newest first",
    params(("account" = Option<String>, Query, description = "Only this account (by name)"), ("rule" = Option<String>, Query, description = "Only this rule"), ("open" = Option<bool>, Query, description = "Only open findings"), ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page, unchanged")),
    responses((status = 200, description = "OK", body = crate::v1::openapi::List<lpgate_store::FindingRow>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Page<FindingRow>, ApiError> {
    let p = Params::parse(
        raw.as_deref(),
        &["account", "rule", "open", "limit", "cursor"],
    )?;
    let limit = p.limit()?;
    let query = FindingQuery {
        account: account_param(&state, &caller, &p).await?,
        rule: p.get("rule").map(str::to_string),
        open_only: p.bool("open")?.unwrap_or(false),
        before: p
            .get("cursor")
            .map(|c| decode_id_position(c, "findings"))
            .transpose()?,
        limit: limit + 1,
    };
    let rows = state.store.list_findings(query).await?;
    Ok(Page::of(rows, limit, |f| {
        encode_position("findings", &[&f.id.to_string()])
    }))
}
