//! `POST /v1/query`: one read-only SQL statement over the documented views, within the
//! installation's `[query]` limits; an account-scoped token sees only its account's rows.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::routing::post;
use axum::{Extension, Router};
use lpgate_store::{QueryLimits, QueryRequest, QueryResult, Store};
use serde::Deserialize;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    sql: String,
    #[serde(default)]
    timeout_secs: Option<f64>,
    #[serde(default)]
    max_rows: Option<usize>,
    #[serde(default)]
    params: serde_json::Map<String, serde_json::Value>,
}

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
