//! `/healthz` (the process answers) and `/readyz` (the store answers too). No token needed:
//! they say nothing about the directory.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use lpgate_store::Store;
use serde_json::json;

use crate::error::ApiError;
use crate::reply::One;
use crate::state::AppState;

/// The health routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    summary = "The process answers (no token)",
    responses((status = 200, description = "OK", body = crate::v1::openapi::Item<serde_json::Value>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
)]
async fn healthz() -> One<serde_json::Value> {
    One(json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    summary = "The store answers too (no token); 503 when it does not",
    responses((status = 200, description = "OK", body = crate::v1::openapi::Item<serde_json::Value>), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
)]
async fn readyz<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<One<serde_json::Value>, ApiError> {
    match state.store.list_accounts().await {
        Ok(_) => Ok(One(json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: the store does not answer");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the store does not answer",
            ))
        }
    }
}
