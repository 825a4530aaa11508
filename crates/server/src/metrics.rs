//! `GET /metrics`: Prometheus text exposition (format 0.0.4), written by hand.
//!
//! Store-derived series (sync runs, last sync, users, open findings, outbox, sync durations)
//! are read from the store at each scrape; HTTP request counts are kept in memory by the
//! [`track`] middleware, by method, matched route (the route template, never the raw path)
//! and status. The endpoint needs a token (read scope): the series name accounts and counts.
//! A token limited to one account sees only that account's series, and not the
//! installation-wide ones (outbox, HTTP requests).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use lpgate_store::{LabelledCount, SYNC_DURATION_BUCKETS, Store};

use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::state::AppState;

/// The label a request gets when no route matched it.
pub const UNMATCHED: &str = "unmatched";

/// HTTP requests counted by (method, route template, status).
#[derive(Debug, Default)]
pub struct HttpMetrics {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl HttpMetrics {
    fn record(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut counts) = self.counts.lock() {
            // The key is built only for a request of a kind not seen before.
            if let Some(n) = counts.get_mut(&(method.to_string(), route.to_string(), status)) {
                *n += 1;
            } else {
                counts.insert((method.to_string(), route.to_string(), status), 1);
            }
        }
    }

    fn snapshot(&self) -> Vec<((String, String, u16), u64)> {
        self.counts
            .lock()
            .map(|c| c.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }
}

/// Middleware: counts every request by method, matched route and response status.
pub async fn track(State(http): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    http.record(
        &method,
        route.as_deref().unwrap_or(UNMATCHED),
        response.status().as_u16(),
    );
    response
}

/// The `/metrics` route, authenticated.
pub fn routes<S: Store>(state: AppState<S>) -> Router<AppState<S>> {
    Router::new()
        .route("/metrics", get(metrics::<S>))
        .route_layer(from_fn_with_state(state, authenticate::<S>))
}

/// Escapes a label value for the text format.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Text(String);

impl Text {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn counts(&mut self, name: &str, label: &str, rows: &[&LabelledCount]) {
        for r in rows {
            self.sample(name, &[("account", &r.account), (label, &r.label)], r.count);
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "metrics",
    summary = "Prometheus text exposition (read token)",
    responses((status = 200, description = "OK", content_type = "text/plain; version=0.0.4", body = String), (status = "default", description = "Error envelope", body = crate::v1::openapi::ErrorBody)),
    security(("bearer" = [])),
)]
async fn metrics<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let snap = state.store.metrics().await?;
    let mine = |rows: &[LabelledCount]| -> Vec<LabelledCount> {
        rows.iter()
            .filter(|r| caller.sees(&r.account))
            .cloned()
            .collect()
    };
    let whole = caller.account.is_none();
    let mut t = Text(String::with_capacity(4096));

    t.header(
        "lpgate_sync_runs_total",
        "counter",
        "Sync runs recorded in the store, by account and outcome.",
    );
    t.counts(
        "lpgate_sync_runs_total",
        "outcome",
        &mine(&snap.runs).iter().collect::<Vec<_>>(),
    );

    let last: Vec<_> = snap
        .last_sync
        .iter()
        .filter(|l| caller.sees(&l.account))
        .collect();
    t.header(
        "lpgate_last_sync_duration_seconds",
        "gauge",
        "Duration of the account's newest finished sync run.",
    );
    for l in &last {
        t.sample(
            "lpgate_last_sync_duration_seconds",
            &[("account", &l.account), ("outcome", &l.outcome)],
            l.seconds,
        );
    }
    t.header(
        "lpgate_last_sync_timestamp_seconds",
        "gauge",
        "When the account's newest finished sync run ended (Unix time).",
    );
    for l in &last {
        t.sample(
            "lpgate_last_sync_timestamp_seconds",
            &[("account", &l.account), ("outcome", &l.outcome)],
            l.finished_at.timestamp_millis() as f64 / 1000.0,
        );
    }

    t.header(
        "lpgate_users",
        "gauge",
        "Users in the current snapshot, by account and status.",
    );
    t.counts(
        "lpgate_users",
        "status",
        &mine(&snap.users).iter().collect::<Vec<_>>(),
    );

    t.header(
        "lpgate_open_findings",
        "gauge",
        "Open findings, by account and severity.",
    );
    t.counts(
        "lpgate_open_findings",
        "severity",
        &mine(&snap.open_findings).iter().collect::<Vec<_>>(),
    );

    t.header(
        "lpgate_sync_duration_seconds",
        "histogram",
        "Durations of successful sync runs, by account.",
    );
    for h in snap
        .sync_durations
        .iter()
        .filter(|h| caller.sees(&h.account))
    {
        for (le, n) in SYNC_DURATION_BUCKETS.iter().zip(&h.buckets) {
            t.sample(
                "lpgate_sync_duration_seconds_bucket",
                &[("account", &h.account), ("le", &le.to_string())],
                n,
            );
        }
        t.sample(
            "lpgate_sync_duration_seconds_bucket",
            &[("account", &h.account), ("le", "+Inf")],
            h.count,
        );
        t.sample(
            "lpgate_sync_duration_seconds_sum",
            &[("account", &h.account)],
            h.sum,
        );
        t.sample(
            "lpgate_sync_duration_seconds_count",
            &[("account", &h.account)],
            h.count,
        );
    }

    if whole {
        t.header(
            "lpgate_outbox_notifications",
            "gauge",
            "Notifications in the outbox, by delivery state.",
        );
        for r in &snap.outbox {
            t.sample(
                "lpgate_outbox_notifications",
                &[("state", &r.label)],
                r.count,
            );
        }
        t.header(
            "lpgate_http_requests_total",
            "counter",
            "HTTP requests answered since the server started, by method, route and status.",
        );
        for ((method, route, status), n) in state.http.snapshot() {
            t.sample(
                "lpgate_http_requests_total",
                &[
                    ("method", &method),
                    ("route", &route),
                    ("status", &status.to_string()),
                ],
                n,
            );
        }
    }

    let mut response = t.0.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
