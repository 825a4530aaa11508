//! lpgate's HTTP server: the `/v1` REST API over the store, bearer-token authentication with
//! scopes and account isolation, failed-authentication rate limiting, and health checks.
//!
//! Reads come from the store only, never from LastPass on a request's path. Start-up is a
//! library call ([`serve`]) so tests drive the same server the binary runs.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod body;
mod dashboard;
mod error;
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

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use lpgate_store::Store;

pub use auth::Caller;
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

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish. Client addresses reach the handlers (the rate limiter keys on them).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
