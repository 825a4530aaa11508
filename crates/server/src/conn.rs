//! Accepting connections with read deadlines, so slow clients (slowloris) cannot hold the
//! server's connections and memory open:
//!
//! - a request's **headers** must arrive within [`Timeouts::header`] of its first byte, or
//!   the connection is closed without an answer (hyper's `header_read_timeout`);
//! - its **body** must arrive within [`Timeouts::body`] of the headers, or the request is
//!   answered `408 request_timeout` (the SCIM error body under `/scim/v2`) and the
//!   connection closed.
//!
//! Graceful shutdown: on the signal the listener closes, idle connections close, and
//! in-flight requests finish.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::scim::ScimError;

/// How long a client may take to send a request (`[serve] header_timeout_secs` and
/// `body_timeout_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From a request's first byte to the end of its headers.
    pub header: Duration,
    /// From the end of the headers to the end of the body.
    pub body: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish. Client addresses reach the handlers (the rate limiter keys on them).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    let body_timeout = timeouts.body;
    let router = router.layer(axum::middleware::from_fn(move |req, next| {
        body_deadline(body_timeout, req, next)
    }));
    let (close_tx, close_rx) = watch::channel(());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let close_rx = close_rx.clone();
        let mut stop_rx = stop_rx.clone();
        let header_timeout = timeouts.header;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: Request<_>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let mut router = router.clone();
                tower_service::Service::call(&mut router, req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let stopping = async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            };
            tokio::select! {
                result = conn.as_mut() => log_end(result),
                () = stopping => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await);
                }
            }
            drop(close_rx);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(close_rx);
    close_tx.closed().await;
    Ok(())
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Middleware: the body must be read within `timeout`; a handler that could not read it in
/// time gets its answer replaced by a 408.
async fn body_deadline(timeout: Duration, req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let scim = req.uri().path().starts_with("/scim/");
    let (parts, body) = req.into_parts();
    let deadline = tokio::time::Instant::now() + timeout;
    let late = Arc::new(AtomicBool::new(false));
    let flag = late.clone();
    let stream = futures_util::stream::unfold(Some(body.into_data_stream()), move |state| {
        let flag = flag.clone();
        async move {
            let mut data = state?;
            match tokio::time::timeout_at(deadline, data.next()).await {
                Ok(Some(chunk)) => Some((chunk.map_err(axum::BoxError::from), Some(data))),
                Ok(None) => None,
                Err(_) => {
                    flag.store(true, Ordering::Relaxed);
                    Some((Err(axum::BoxError::from(BodyTimedOut)), None))
                }
            }
        }
    });
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(stream)))
        .await;
    if !late.load(Ordering::Relaxed) {
        return response;
    }
    let message = format!(
        "the request body was not received within {} s",
        timeout.as_secs_f64()
    );
    let mut response = if scim {
        ScimError::new(StatusCode::REQUEST_TIMEOUT, message).into_response()
    } else {
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", message).into_response()
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
struct BodyTimedOut;
