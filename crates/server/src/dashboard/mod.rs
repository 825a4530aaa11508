//! The web dashboard under `/ui`: server-rendered askama pages (compiled into the binary),
//! one vendored htmx for search-as-you-type, sign-in with an API token exchanged for a
//! session cookie, and a CSRF token on every form.
//!
//! Pages read through the same store calls as `/v1`, and actions go through the same
//! functions as the `/v1` handlers (`v1::plans::approve_plan`, `apply_plan`,
//! `v1::reports::respond`), so a read-only token that sees no button is refused anyway.

mod actions;
mod assets;
mod chart;
mod pages;
mod session;
mod signin;
mod users;

use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use lpgate_store::{QueryLimits, QueryRequest, QueryResult, Store};

use crate::auth::{Caller, verify_hash};
use crate::error::ApiError;
use crate::state::AppState;

use session::Sessions;

/// What the dashboard keeps between requests.
#[derive(Default)]
pub struct Shared {
    /// Signed-in browsers.
    sessions: Sessions,
    /// The overview's figures while the data is unchanged.
    overview: pages::OverviewCache,
}
use session::{COOKIE, Viewer, cookie};

/// The dashboard's routes: assets and sign-in are open, every other page needs a session.
pub fn routes<S: Store>(state: AppState<S>) -> Router<AppState<S>> {
    let pages = Router::new()
        .route("/ui", get(pages::overview::<S>))
        .route("/ui/", get(pages::overview::<S>))
        .route("/ui/users", get(users::index::<S>))
        .route("/ui/users/{id}", get(users::show::<S>))
        .route("/ui/groups", get(pages::groups::<S>))
        .route("/ui/folders", get(pages::folders::<S>))
        .route("/ui/findings", get(pages::findings::<S>))
        .route("/ui/changes", get(pages::changes::<S>))
        .route("/ui/events", get(pages::events::<S>))
        .route("/ui/runs", get(pages::runs::<S>))
        .route("/ui/notifications", get(pages::notifications::<S>))
        .route("/ui/notifications/{id}/retry", post(actions::retry::<S>))
        .route("/ui/plans", get(pages::plans::<S>))
        .route("/ui/plans/{id}", get(pages::plan::<S>))
        .route("/ui/plans/{id}/approve", post(actions::approve::<S>))
        .route("/ui/plans/{id}/apply", post(actions::apply::<S>))
        .route("/ui/audit", get(pages::audit::<S>))
        .route("/ui/reports", get(pages::reports))
        .route("/ui/reports/{name}", get(pages::report::<S>))
        .route("/ui/sign-out", post(signin::sign_out::<S>))
        .route_layer(from_fn_with_state(state, require_session::<S>));
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui") }))
        .route("/ui/sign-in", get(signin::form).post(signin::submit::<S>))
        .route("/ui/assets/{name}", get(assets::serve))
        .merge(pages)
}

/// Middleware: the session's [`Viewer`], or a redirect to the sign-in page (htmx requests
/// get `HX-Redirect` so the whole page moves, not the fragment).
async fn require_session<S: Store>(
    State(state): State<AppState<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = Instant::now();
    let found = match cookie(request.headers(), COOKIE) {
        Some(id) => state.dashboard.sessions.get(&id, now).map(|s| (id, s)),
        None => None,
    };
    let viewer = match found {
        Some((id, s)) => match verify_hash(
            &state,
            s.token_hash.clone(),
            now,
            state.store.data_version(),
        )
        .await
        {
            Ok(Some(row)) => Some(Viewer {
                caller: Caller::of(&row),
                csrf: s.csrf,
                session: id,
            }),
            Ok(None) => {
                state.dashboard.sessions.end(&id);
                None
            }
            Err(e) => return error_page(e),
        },
        None => None,
    };
    let Some(viewer) = viewer else {
        let mut r = Redirect::to("/ui/sign-in").into_response();
        if request.headers().contains_key("hx-request") {
            r.headers_mut()
                .insert("hx-redirect", HeaderValue::from_static("/ui/sign-in"));
        }
        return r;
    };
    if viewer
        .caller
        .require(lpgate_store::TokenScope::Read)
        .is_err()
    {
        return error_page(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token cannot read the directory",
        ));
    }
    request.extensions_mut().insert(viewer);
    let mut res = next.run(request).await;
    let h = res.headers_mut();
    // Pages name people: never cached; never framed.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    secure_headers(h);
    res
}

/// Headers every dashboard page carries: no framing, no sniffing, scripts and styles only
/// from this server.
/// A response that set its own policy (a standalone report) keeps it.
pub(crate) fn secure_headers(h: &mut axum::http::HeaderMap) {
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ));
}

/// What every page's frame needs: title, the current section, who is signed in, the CSRF
/// token for the sign-out form.
pub struct Chrome {
    pub title: String,
    pub section: &'static str,
    pub who: String,
    pub scope: &'static str,
    pub csrf: String,
}

impl Chrome {
    pub fn new(viewer: &Viewer, section: &'static str, title: impl Into<String>) -> Self {
        Chrome {
            title: title.into(),
            section,
            who: match &viewer.caller.account {
                Some((_, a)) => format!("{} ({a})", viewer.caller.token),
                None => viewer.caller.token.clone(),
            },
            scope: viewer.caller.scope.as_str(),
            csrf: viewer.csrf.clone(),
        }
    }

    /// The sections of the navigation: (path, label, key).
    pub fn nav(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        &[
            ("/ui", "Overview", "overview"),
            ("/ui/users", "Users", "users"),
            ("/ui/groups", "Groups", "groups"),
            ("/ui/folders", "Shared folders", "folders"),
            ("/ui/findings", "Findings", "findings"),
            ("/ui/changes", "Changes", "changes"),
            ("/ui/events", "Events", "events"),
            ("/ui/runs", "Sync runs", "runs"),
            ("/ui/notifications", "Notifications", "notifications"),
            ("/ui/plans", "Plans", "plans"),
            ("/ui/audit", "Audit log", "audit"),
            ("/ui/reports", "Reports", "reports"),
        ]
    }
}

/// Renders a template as an HTML response.
pub fn page(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a dashboard page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "rendering the page failed",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage {
    status: u16,
    reason: String,
    message: String,
}

/// An error as a small HTML page with its status.
pub fn error_page(e: ApiError) -> Response {
    let t = ErrorPage {
        status: e.status.as_u16(),
        reason: e.status.canonical_reason().unwrap_or("Error").to_string(),
        // Bad input names the field it came from, as the API's error envelope does.
        message: match &e.field {
            Some(field) if !e.message.starts_with(field.as_str()) => {
                format!("{field}: {}", e.message)
            }
            _ => e.message,
        },
    };
    let mut r = page(&t);
    *r.status_mut() = e.status;
    secure_headers(r.headers_mut());
    r
}

/// Runs a read-only query over the documented views, limited to the viewer's account.
pub async fn query<S: Store>(
    state: &AppState<S>,
    viewer: &Viewer,
    sql: &str,
    params: Vec<(&str, serde_json::Value)>,
) -> Result<QueryResult, ApiError> {
    let r = state
        .store
        .query(QueryRequest {
            sql: sql.to_string(),
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            account: viewer.caller.account.as_ref().map(|(id, _)| *id),
            limits: QueryLimits::default(),
        })
        .await
        .map_err(crate::ops::store_error)?;
    Ok(r)
}

/// A JSON cell as display text.
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A time as `YYYY-MM-DD HH:MM` UTC.
pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
