//! The dashboard's actions: approve and apply a plan, retry a notification. Each checks the
//! session's CSRF token first (403 when missing or wrong), then goes through the same
//! function as its `/v1` twin, which checks the scope again (403 for a read-only token even
//! though it was shown no button).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use lpgate_store::{NewAuditEntry, Store, TokenScope};
use serde::Deserialize;

use super::error_page;
use super::session::Viewer;
use super::signin::{csrf_ok, csrf_refused};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
struct ApproveForm {
    by: Option<String>,
}

fn back_to_plan(id: &str, message: &str) -> Response {
    let q = serde_urlencoded::to_string([("msg", message)]).unwrap_or_default();
    Redirect::to(&format!("/ui/plans/{}?{q}", id.parse::<i64>().unwrap_or(0))).into_response()
}

/// `POST /ui/plans/{id}/approve` (admin): `by` names the approver (default: the token).
pub async fn approve<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !csrf_ok(&v, &body) {
        return csrf_refused();
    }
    let by = serde_urlencoded::from_bytes::<ApproveForm>(&body)
        .ok()
        .and_then(|f| f.by)
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| v.caller.token.clone());
    match crate::v1::plans::approve_plan(&state, &v.caller, &id, &by).await {
        Ok(p) => back_to_plan(&id, &format!("Plan {} approved by {by}.", p.id)),
        Err(e) => error_page(e),
    }
}

/// `POST /ui/plans/{id}/apply` (write): sends the plan to LastPass.
pub async fn apply<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !csrf_ok(&v, &body) {
        return csrf_refused();
    }
    match crate::v1::plans::apply_plan(&state, &v.caller, &id).await {
        Ok(r) => {
            let report = &r["report"];
            let msg = match r["warning"].as_str() {
                Some(w) => format!("Applied; the users could not be re-read: {w}"),
                None => format!(
                    "Applied: {} done, {} failed, {} skipped.",
                    report["done"], report["failed"], report["skipped"]
                ),
            };
            back_to_plan(&id, &msg)
        }
        Err(e) => error_page(e),
    }
}

/// `POST /ui/notifications/{id}/retry` (admin for all accounts): makes the delivery due now,
/// as `lpgate notifications retry` does, and records it in the audit log.
pub async fn retry<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !csrf_ok(&v, &body) {
        return csrf_refused();
    }
    let run = async {
        v.caller.require(TokenScope::Admin)?;
        if v.caller.account.is_some() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "retrying notifications needs an admin token for all accounts",
            ));
        }
        let id = id
            .parse::<i64>()
            .map_err(|_| ApiError::not_found("notification"))?;
        let n = state.store.retry_deliveries(Some(id), Utc::now()).await?;
        if n == 0 {
            return Err(ApiError::not_found("notification"));
        }
        crate::v1::admin::audit(
            &state,
            NewAuditEntry {
                at: Utc::now(),
                actor: crate::v1::admin::actor(&v.caller),
                account: None,
                action: "notification.retry".into(),
                target: format!("delivery {id}"),
                plan_id: None,
                summary: "retried from the dashboard".into(),
                outcome: "queued".into(),
            },
        )
        .await;
        Ok(())
    };
    match run.await {
        Ok(()) => Redirect::to("/ui/notifications").into_response(),
        Err(e) => error_page(e),
    }
}
