//! `GET/POST /ui/sign-in` (an API token for a session cookie) and `POST /ui/sign-out`.
//!
//! The sign-in form is protected by a double-submit token (a cookie and a hidden field that
//! must match), since there is no session yet; failed sign-ins count against the same
//! per-address limit as failed bearer tokens.

use std::net::SocketAddr;
use std::time::Instant;

use askama::Template;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, body::to_bytes};
use lpgate_store::{Store, TokenScope};
use serde::Deserialize;

use super::session::{
    COOKIE, IDLE, PRE_COOKIE, Viewer, cookie, over_tls, random_id, same_secret, set_cookie,
};
use super::{error_page, page, secure_headers};
use crate::auth::verify;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "dashboard/signin.html")]
struct SignIn {
    csrf: String,
    error: Option<String>,
}

fn form_page(headers: &HeaderMap, error: Option<String>, status: StatusCode) -> Response {
    let csrf = random_id();
    let mut r = page(&SignIn {
        csrf: csrf.clone(),
        error,
    });
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(PRE_COOKIE, &csrf, 3600, over_tls(headers))) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    secure_headers(h);
    r
}

/// `GET /ui/sign-in`: the form.
pub async fn form(headers: HeaderMap) -> Response {
    form_page(&headers, None, StatusCode::OK)
}

#[derive(Deserialize)]
struct SignInForm {
    token: String,
    csrf: String,
}

/// `POST /ui/sign-in`: checks the form's CSRF token, then the API token; on success starts
/// a session and sends the browser to the overview.
pub async fn submit<S: Store>(State(state): State<AppState<S>>, request: Request) -> Response {
    let headers = request.headers().clone();
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let now = Instant::now();
    if let Some(ip) = ip
        && state.failures.blocked(ip, now).is_some()
    {
        return form_page(
            &headers,
            Some("Too many failed sign-ins from this address; try again later.".into()),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Ok(body) = to_bytes(request.into_body(), 16 * 1024).await else {
        return csrf_refused();
    };
    let Ok(f) = serde_urlencoded::from_bytes::<SignInForm>(&body) else {
        return csrf_refused();
    };
    let expected = cookie(&headers, PRE_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(&expected, &f.csrf) {
        return csrf_refused();
    }
    match verify(&state, f.token.trim(), now, state.store.data_version()).await {
        Ok(Some(row)) if row.scope.allows(TokenScope::Read) => {}
        Ok(_) => {
            if let Some(ip) = ip {
                state.failures.fail(ip, now);
            }
            return form_page(
                &headers,
                Some("That token is unknown, expired, revoked, or cannot read (SCIM tokens cannot sign in).".into()),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return error_page(e),
    }
    let id = state
        .dashboard
        .sessions
        .start(state.token_key.hash(f.token.trim()), now);
    let secure = over_tls(&headers);
    let mut r = Redirect::to("/ui").into_response();
    let h = r.headers_mut();
    for c in [
        set_cookie(COOKIE, &id, IDLE.as_secs(), secure),
        set_cookie(PRE_COOKIE, "", 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    pub csrf: Option<String>,
}

/// 403 for a form whose CSRF token is missing or wrong.
pub(super) fn csrf_refused() -> Response {
    error_page(ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "the form's security token is missing or wrong; reload the page and try again",
    ))
}

/// Whether a posted form body carries the session's CSRF token.
pub(super) fn csrf_ok(viewer: &Viewer, body: &[u8]) -> bool {
    serde_urlencoded::from_bytes::<CsrfForm>(body)
        .ok()
        .and_then(|f| f.csrf)
        .is_some_and(|c| same_secret(&c, &viewer.csrf))
}

/// `POST /ui/sign-out`: ends the session and clears the cookie.
pub async fn sign_out<S: Store>(
    State(state): State<AppState<S>>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !csrf_ok(&viewer, &body) {
        return csrf_refused();
    }
    state.dashboard.sessions.end(&viewer.session);
    let mut r = Redirect::to("/ui/sign-in").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(COOKIE, "", 0, over_tls(&headers))) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
