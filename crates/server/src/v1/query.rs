//! `POST /v1/query`: one read-only SQL statement over the documented views, within the
//! installation's `[query]` limits; an account-scoped token sees only its account's rows.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::routing::post;
use axum::{Extension, Router};
use lpgate_store::{QueryLimits, QueryRequest, QueryResult, Store};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::{JsonBody, invalid_body};
use crate::error::ApiError;
use crate::ops::store_error;
use crate::params::Params;
use crate::reply::One;
use crate::state::AppState;

/// The query route.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/query", post(run::<S>))
}

/// Longest SQL text accepted.
const MAX_SQL: usize = 100_000;

/// One read-only SQL statement.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryBody {
    /// The SQL: one statement, at most 100000 bytes.
    sql: String,
    /// Seconds before it is stopped: more than 0, at most the configured timeout (the default).
    #[serde(default)]
    timeout_secs: Option<f64>,
    /// Most rows returned: 1 to the configured maximum (the default).
    #[serde(default)]
    max_rows: Option<usize>,
    /// Named parameters (`:name` in the SQL) and their values.
    #[serde(default)]
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    params: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(
    post,
    path = "/v1/query",
    operation_id = "run_query",
    tag = "query",
    summary = "Runs one read-only SQL statement over the documented views",
    description = "Within the installation's [query] limits; a token limited to an account sees only that account's rows.",
    request_body = QueryBody,
    responses((status = 200, description = "OK", body = crate::v1::openapi::Item<lpgate_store::QueryResult>), (status = 400, description = "A wrong body or query parameter (invalid_body, invalid_parameter), or the statement was refused (query_refused)", body = crate::v1::openapi::ErrorBody), (status = 401, description = "No token, or an unknown, revoked or expired one (unauthorized)", body = crate::v1::openapi::ErrorBody), (status = 408, description = "The statement ran longer than its timeout (query_timeout)", body = crate::v1::openapi::ErrorBody), (status = 413, description = "The body is larger than 1 MiB (body_too_large)", body = crate::v1::openapi::ErrorBody), (status = "default", description = "Error envelope: 429 rate_limited, 503 not_configured (no write settings) or busy, 500 internal", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn run<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    JsonBody(b): JsonBody<QueryBody>,
) -> Result<One<QueryResult>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let most = state.ops()?.settings.query;
    if b.sql.trim().is_empty() || b.sql.len() > MAX_SQL {
        return Err(invalid_body(
            Some("sql"),
            format!("give one SQL statement of at most {MAX_SQL} bytes"),
        ));
    }
    let timeout = match b.timeout_secs {
        None => most.timeout,
        Some(t) if t > 0.0 && t.is_finite() && t <= most.timeout.as_secs_f64() => {
            Duration::from_secs_f64(t)
        }
        Some(t) => {
            return Err(invalid_body(
                Some("timeout_secs"),
                format!(
                    "invalid timeout_secs {t}: more than 0 and at most {}",
                    most.timeout.as_secs_f64()
                ),
            ));
        }
    };
    let max_rows = match b.max_rows {
        None => most.max_rows,
        Some(n) if (1..=most.max_rows).contains(&n) => n,
        Some(n) => {
            return Err(invalid_body(
                Some("max_rows"),
                format!("invalid max_rows {n}: 1 to {}", most.max_rows),
            ));
        }
    };
    let request = QueryRequest {
        sql: b.sql,
        params: b.params.into_iter().collect(),
        account: caller.account.as_ref().map(|(id, _)| *id),
        limits: QueryLimits { timeout, max_rows },
    };
    let result = state.store.query(request).await.map_err(store_error)?;
    Ok(One(result))
}
