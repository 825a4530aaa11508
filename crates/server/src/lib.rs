//! lpgate's HTTP server: the `/v1` REST API over the store, bearer-token authentication with
//! scopes and account isolation, failed-authentication rate limiting, and health checks.
//!
//! Reads come from the store only, never from LastPass on a request's path. Start-up is a
//! library call ([`serve`]) so tests drive the same server the binary runs.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod body;
mod conn;
mod dashboard;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod metrics;
mod ops;
mod params;
mod ratelimit;
mod reply;
mod scim;
mod state;
mod usercache;
mod v1;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use lpgate_store::Store;

pub use auth::Caller;
pub use conn::{Timeouts, serve};
pub use error::ApiError;
pub use ops::{ActSettings, Operations};
pub use scim::{DeleteMode, ScimSettings, ScimWrite};
pub use state::AppState;

/// Largest request body accepted unless configured otherwise
/// ([`AppState::with_body_limit`]); larger ones get 413 before any handler runs.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body limit in force, for the 413's message.
#[derive(Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// The whole application: health checks (no token), `/v1` (token required) and the
/// dashboard under `/ui` (session required).
pub fn router<S: Store>(state: AppState<S>) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(metrics::routes(state.clone()))
        .route("/openapi.json", axum::routing::get(v1::openapi::document))
        .nest("/v1", v1::routes(state.clone()))
        .nest("/scim/v2", scim::routes(state.clone()))
        .merge(dashboard::routes(state.clone()))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.http.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(axum::Extension(BodyLimit(state.max_body_bytes)))
        .with_state(state)
}
