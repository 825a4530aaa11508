//! The `/enterpriseapi.php` handler: parse, authorize, roll the fault dice, wait, run the
//! command, and shape the HTTP reply (or the injected failure).

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;

use crate::emulator::{Admission, Emulator};
use crate::faults::Fault;
use crate::wire::{AUTH_ERROR_XML, CONTENT_TYPE, INVALID_REQUEST_XML};

const HTML_500: &str = "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n";
const HTML_429: &str = "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>\n";

/// `POST /enterpriseapi.php`.
pub(super) async fn enterpriseapi(State(emu): State<Emulator>, body: Bytes) -> Response {
    let (cmd, env) = match emu.admit(&body) {
        Admission::Unparseable => return api_reply(INVALID_REQUEST_XML.to_vec()),
        Admission::Unauthorized => return api_reply(AUTH_ERROR_XML.to_vec()),
        Admission::Accepted(cmd, env) => (cmd, env),
    };
    let decision = emu.decide(&cmd);
    if let Some(d) = decision.latency {
        tokio::time::sleep(d).await;
    }
    match decision.fault {
        Fault::Http500 => return html(StatusCode::INTERNAL_SERVER_ERROR, HTML_500, None),
        Fault::Http429 { retry_after_secs } => {
            return html(
                StatusCode::TOO_MANY_REQUESTS,
                HTML_429,
                Some(retry_after_secs),
            );
        }
        Fault::Stall { secs } => {
            tokio::time::sleep(Duration::from_secs(u64::from(secs))).await;
            return html(StatusCode::INTERNAL_SERVER_ERROR, HTML_500, None);
        }
        Fault::None | Fault::Truncate | Fault::Drop => {}
    }
    let reply = {
        let emu = emu.clone();
        let cmd = cmd.clone();
        match tokio::task::spawn_blocking(move || emu.execute(&cmd, &env)).await {
            Ok(r) => r,
            Err(_) => return html(StatusCode::INTERNAL_SERVER_ERROR, HTML_500, None),
        }
    };
    tracing::debug!(message = "enterpriseapi reply", cmd = %cmd, bytes = reply.len(), fault = ?decision.fault);
    match decision.fault {
        Fault::Truncate => {
            let mut cut = reply;
            cut.truncate(cut.len() / 2);
            api_reply(cut)
        }
        Fault::Drop => dropped(reply),
        _ => api_reply(reply),
    }
}

/// A normal reply: HTTP 200 labelled `text/xml;charset=UTF-8`, whatever the body is.
pub(super) fn api_reply(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}

fn html(status: StatusCode, body: &'static str, retry_after: Option<u32>) -> Response {
    let mut r = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=UTF-8"),
        )],
        body,
    )
        .into_response();
    if let Some(secs) = retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// Sends the headers (announcing the full length) and the first part of the body, then fails
/// the body stream so the server aborts the connection mid-body.
fn dropped(reply: Vec<u8>) -> Response {
    let full = reply.len();
    let mut first = Bytes::from(reply);
    first.truncate((full / 2).max(1).min(full));
    let parts = stream::unfold(0u8, move |step| {
        let first = first.clone();
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(first), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "emulator fault: connection dropped",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    let mut r = Response::new(Body::from_stream(parts));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
    r
}
