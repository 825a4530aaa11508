//! Notification delivery: takes due notifications from the store's outbox, POSTs them to
//! their channel (a signed JSON webhook or a Slack incoming webhook), and records each
//! attempt's outcome.
//!
//! Delivery is at least once. A notification is written to the outbox in the same
//! transaction as what it announces, claimed with a lease before it is sent, and marked
//! delivered only after the receiver answered 2xx; a crash, a restart or a receiver that is
//! down only delays it. A receiver can see one notification twice (its answer was lost, or
//! lpgate stopped before recording it), always with the same delivery id, so it drops the
//! second by that id.
//!
//! Failed attempts are retried on [`BACKOFF`] (about 16 hours in all); after the last one the
//! notification is dead until `lpgate notifications retry` makes it due again. The signature
//! scheme and receiver checks are described in `docs/notifications.md`.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::StreamExt as _;
use hmac::{Hmac, KeyInit as _, Mac as _};
use lpgate_store::{Delivery, DeliveryOutcome, Store, StoreError};
use serde::Serialize;
use sha2::Sha256;

use crate::notify::{Channel, ChannelKind, Routing};

/// The header carrying the delivery id; the same on every attempt of one notification.
pub const HEADER_DELIVERY: &str = "X-Lpgate-Delivery";
/// The header carrying the event name (`finding.opened`, `user.admin_granted`…).
pub const HEADER_EVENT: &str = "X-Lpgate-Event";
/// The header carrying the signing time, in Unix seconds.
pub const HEADER_TIMESTAMP: &str = "X-Lpgate-Timestamp";
/// The header carrying the signature, `v1=<hex HMAC-SHA256>`.
pub const HEADER_SIGNATURE: &str = "X-Lpgate-Signature";

/// How long to wait after failed attempt n (1-based) before attempt n + 1: quick retries
/// for a blip, then hours for a receiver that is down for maintenance. About 15.7 hours in
/// all; the attempt after the last wait is the last one (10 attempts).
pub const BACKOFF: [Duration; 9] = [
    Duration::from_secs(30),
    Duration::from_secs(2 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(4 * 3600),
];

/// How delivery behaves; the default is what `lpgate` uses, tests shorten it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// The wait after each failed attempt; there are `backoff.len() + 1` attempts in all
    /// before a notification is dead.
    pub backoff: Vec<Duration>,
    /// Longest a single request may take (connecting, sending, and the answer).
    pub timeout: Duration,
    /// How long a claimed notification is hidden from other delivery passes; if lpgate stops
    /// while sending, it is due again after this. Must exceed the time one batch can take.
    pub lease: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            backoff: BACKOFF.to_vec(),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(5 * 60),
        }
    }
}

impl DeliveryPolicy {
    /// Attempts made in all before a notification is dead.
    pub fn max_attempts(&self) -> usize {
        self.backoff.len() + 1
    }

    /// When to try again after a failed attempt, given the attempts made before it; `None`
    /// when that attempt was the last one.
    pub fn retry_at(&self, attempts_before: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let index = usize::try_from(attempts_before).unwrap_or(0);
        let wait = self.backoff.get(index)?;
        Some(now + chrono::Duration::from_std(*wait).unwrap_or(chrono::Duration::MAX))
    }
}

/// What one delivery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Accepted by their receiver.
    pub delivered: usize,
    /// Failed and due again later.
    pub failed: usize,
    /// Failed for the last time (or refused with 410 Gone): dead until retried by hand.
    pub dead: usize,
}

/// Why a delivery pass stopped. Failed attempts are not errors (they are recorded and
/// retried); only the store or the HTTP set-up failing is.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The outbox could not be read or written.
    #[error("notification outbox: {0}")]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("notification delivery: cannot set up the HTTP client: {0}")]
    Http(String),
}

/// Builds the HTTP client delivery uses: the policy's timeout, no redirects (a 3xx is a
/// failure rather than the signed body going to a different address), lpgate's user agent.
pub fn http_client(policy: &DeliveryPolicy) -> Result<reqwest::Client, DeliverError> {
    reqwest::Client::builder()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("lpgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliverError::Http(error_chain(&e.without_url())))
}

/// Delivers every notification that is due at `now()`, in batches of 50, four at a time,
/// until none is due; records each attempt's outcome and returns the counts.
///
/// `now` is asked at each claim and each record so tests can drive time; lpgate passes
/// `Utc::now`. The webhook signature's timestamp is also `now()`.
pub async fn deliver_due<S: Store>(
    store: &S,
    routing: &Routing,
    policy: &DeliveryPolicy,
    http: &reqwest::Client,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<DeliveryReport, DeliverError> {
    const BATCH: usize = 50;
    const CONCURRENCY: usize = 4;
    let mut report = DeliveryReport::default();
    loop {
        let batch = store.claim_deliveries(now(), policy.lease, BATCH).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        let now = &now;
        let mut sends = futures_util::stream::iter(batch)
            .map(|d| async move {
                let result = send(routing, http, policy.timeout, &d, now()).await;
                (d, result)
            })
            .buffer_unordered(CONCURRENCY);
        while let Some((d, result)) = sends.next().await {
            let at = now();
            let outcome = match result {
                Ok(()) => {
                    tracing::info!(
                        id = d.id,
                        delivery_id = %d.delivery_id,
                        channel = %d.channel,
                        event = %d.event,
                        attempt = d.attempts + 1,
                        "notification delivered"
                    );
                    report.delivered += 1;
                    DeliveryOutcome::Delivered
                }
                Err(failure) => {
                    let retry_at = if failure.gone {
                        None
                    } else {
                        policy.retry_at(d.attempts, at)
                    };
                    match retry_at {
                        Some(when) => {
                            report.failed += 1;
                            tracing::warn!(
                                id = d.id,
                                delivery_id = %d.delivery_id,
                                channel = %d.channel,
                                event = %d.event,
                                attempt = d.attempts + 1,
                                retry_at = %when.to_rfc3339_opts(SecondsFormat::Secs, true),
                                error = %failure.message,
                                "notification delivery failed; will retry"
                            );
                        }
                        None => {
                            report.dead += 1;
                            tracing::warn!(
                                id = d.id,
                                delivery_id = %d.delivery_id,
                                channel = %d.channel,
                                event = %d.event,
                                attempt = d.attempts + 1,
                                error = %failure.message,
                                "notification delivery failed for the last time; it is dead \
                                 until `lpgate notifications retry`"
                            );
                        }
                    }
                    DeliveryOutcome::Failed {
                        error: failure.message,
                        retry_at,
                    }
                }
            };
            store.record_delivery(d.id, at, outcome).await?;
        }
    }
}

/// Why one attempt failed.
#[derive(Debug)]
struct Failure {
    /// For `last_error`: the status or the error, never the URL or the secret.
    message: String,
    /// The receiver answered 410 Gone: it will never take this, so do not retry.
    gone: bool,
}

impl Failure {
    fn new(message: String) -> Self {
        Failure {
            message,
            gone: false,
        }
    }
}

/// One attempt to deliver `d` through its channel.
async fn send(
    routing: &Routing,
    http: &reqwest::Client,
    timeout: Duration,
    d: &Delivery,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let Some(channel) = routing.channel(&d.channel) else {
        return Err(Failure::new(format!(
            "channel {:?} is not configured",
            d.channel
        )));
    };
    // The policy's bound holds even for a client built without a timeout.
    let request = build_request(http, channel, d, now)?.timeout(timeout);
    let response = request.send().await.map_err(|e| {
        let e = e.without_url();
        Failure::new(if e.is_timeout() {
            format!("no answer from {}: timed out", host_of(&channel.url))
        } else {
            format!(
                "could not reach {}: {}",
                host_of(&channel.url),
                error_chain(&e)
            )
        })
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let snippet = body_snippet(response).await;
    let mut message = format!("{} answered HTTP {status}", host_of(&channel.url));
    if !snippet.is_empty() {
        let _ = write!(message, ": {snippet}");
    }
    Err(Failure {
        message,
        gone: status == reqwest::StatusCode::GONE,
    })
}

/// The request for one attempt: a signed JSON webhook or a Slack message.
fn build_request(
    http: &reqwest::Client,
    channel: &Channel,
    d: &Delivery,
    now: DateTime<Utc>,
) -> Result<reqwest::RequestBuilder, Failure> {
    let url = reqwest::Url::parse(&channel.url).map_err(|e| {
        Failure::new(format!(
            "channel {:?} has an invalid url: {e}",
            channel.name
        ))
    })?;
    let base = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(HEADER_DELIVERY, &d.delivery_id)
        .header(HEADER_EVENT, &d.event);
    match channel.kind {
        ChannelKind::Webhook => {
            let Some(secret) = channel.secret.as_deref().filter(|s| !s.is_empty()) else {
                return Err(Failure::new(format!(
                    "channel {:?} is a webhook without a secret",
                    channel.name
                )));
            };
            let body = webhook_body(d);
            let timestamp = now.timestamp();
            let signature = sign(secret, timestamp, &body);
            Ok(base
                .header(HEADER_TIMESTAMP, timestamp.to_string())
                .header(HEADER_SIGNATURE, signature)
                .body(body))
        }
        ChannelKind::Slack => {
            let body = serde_json::json!({ "text": slack_text(d) }).to_string();
            Ok(base.body(body))
        }
    }
}

/// The webhook body: `{"id", "event", "created_at", "account", "data"}`, serialized once so
/// the signature covers exactly the bytes sent.
pub fn webhook_body(d: &Delivery) -> String {
    serde_json::json!({
        "id": d.delivery_id,
        "event": d.event,
        "created_at": d.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "account": d.account,
        "data": d.payload,
    })
    .to_string()
}

/// The webhook signature header value for `body` sent at `timestamp` (Unix seconds):
/// `v1=` and the lowercase hex HMAC-SHA256, keyed with the secret, of `"<timestamp>.<body>"`.
/// The timestamp is inside the signed text so a receiver can refuse an old request replayed.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let tag = mac(secret, timestamp.to_string().as_bytes(), body.as_bytes())
        .finalize()
        .into_bytes();
    let mut out = String::with_capacity(3 + tag.len() * 2);
    out.push_str("v1=");
    for b in tag.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Why a receiver should refuse a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp header is not a whole number of seconds.
    #[error("the timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    /// The timestamp is further from now than the tolerance (a replay, or a clock far off).
    #[error("the request was signed {age_secs} s from now, beyond the tolerance")]
    Stale {
        /// Seconds between the timestamp and now (negative: in the future).
        age_secs: i64,
    },
    /// The signature header is not `v1=` and 64 hex digits.
    #[error("the signature header is not v1=<hex>")]
    BadSignatureFormat,
    /// The signature does not match the body and timestamp under this secret.
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a webhook request as a receiver would: the timestamp header is within `tolerance`
/// of `now`, and the signature header is the HMAC of `"<timestamp>.<body>"` (compared in
/// constant time). `body` must be the raw bytes received, before any JSON parsing.
pub fn verify(
    secret: &str,
    header_timestamp: &str,
    header_signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let timestamp: i64 = header_timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let age_secs = now.timestamp().saturating_sub(timestamp);
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if age_secs.unsigned_abs() > tolerance.unsigned_abs() {
        return Err(VerifyError::Stale { age_secs });
    }
    let hex = header_signature
        .trim()
        .strip_prefix("v1=")
        .ok_or(VerifyError::BadSignatureFormat)?;
    let tag = decode_hex(hex).ok_or(VerifyError::BadSignatureFormat)?;
    mac(secret, header_timestamp.trim().as_bytes(), body)
        .verify_slice(&tag)
        .map_err(|_| VerifyError::Mismatch)
}

fn mac(secret: &str, timestamp: &[u8], body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail; an empty MAC would only make
    // verification fail, never pass.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => Hmac::<Sha256>::new(&Default::default()),
    };
    mac.update(timestamp);
    mac.update(b".");
    mac.update(body);
    mac
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

/// The Slack message for a notification: one line saying what happened, then details.
pub fn slack_text(d: &Delivery) -> String {
    let p = &d.payload;
    let field = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let account = d.account.as_deref().unwrap_or_else(|| field("account"));
    let account_part = if account.is_empty() {
        String::new()
    } else {
        format!(" in account {}", escape(account))
    };
    let mut text = String::new();
    match d.event.as_str() {
        "finding.opened" | "finding.resolved" => {
            let verb = if d.event == "finding.opened" {
                "opened"
            } else {
                "resolved"
            };
            let _ = write!(
                text,
                "[{}] Finding {verb}: *{}* for {}{account_part}",
                escape(&field("severity").to_uppercase()),
                escape(field("rule")),
                escape(field("key")),
            );
            let description = field("description");
            if !description.is_empty() {
                let _ = write!(text, "\n{}", escape(description));
            }
        }
        event => {
            let _ = write!(
                text,
                "{}: *{}*{account_part}",
                escape(event),
                escape(field("subject"))
            );
            let before = field("before");
            let after = field("after");
            if !before.is_empty() || !after.is_empty() {
                let show = |s: &str| if s.is_empty() { "(none)" } else { s }.to_string();
                let _ = write!(
                    text,
                    "\n{} → {}",
                    escape(&show(before)),
                    escape(&show(after))
                );
            }
            let related = field("related");
            if !related.is_empty() {
                let _ = write!(text, "\nrelated: {}", escape(related));
            }
        }
    }
    let _ = write!(text, "\n(delivery {})", d.delivery_id);
    text
}

/// Slack's three control characters in message text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The host (and port) of a channel URL, for messages: never the path or query, which for
/// Slack are the secret.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| "the receiver".to_string())
}

/// The first 200 characters of an error answer, on one line (Slack says `invalid_payload`,
/// `no_service`… there).
async fn body_snippet(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < 1024 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

/// The error and its causes in one line (reqwest's own message is terse).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn signature_is_known_answer() {
        // HMAC-SHA256("secret", "1700000000.{}") computed independently (Python hmac).
        let sig = sign("secret", 1_700_000_000, "{}");
        assert_eq!(
            sig,
            "v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
        let now = DateTime::from_timestamp(1_700_000_010, 0).unwrap();
        let tol = Duration::from_secs(300);
        assert_eq!(
            verify("secret", "1700000000", &sig, b"{}", now, tol),
            Ok(())
        );
        assert_eq!(
            verify("other", "1700000000", &sig, b"{}", now, tol),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("secret", "1700000000", "v1=zz", b"{}", now, tol),
            Err(VerifyError::BadSignatureFormat)
        );
        assert_eq!(
            verify("secret", "soon", &sig, b"{}", now, tol),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn backoff_totals_about_sixteen_hours_and_ends_dead() {
        let p = DeliveryPolicy::default();
        assert_eq!(p.max_attempts(), 10);
        let total: u64 = p.backoff.iter().map(Duration::as_secs).sum();
        assert!((15 * 3600..17 * 3600).contains(&total), "{total}");
        let now = Utc::now();
        assert_eq!(
            p.retry_at(0, now),
            Some(now + chrono::Duration::seconds(30))
        );
        assert_eq!(
            p.retry_at(8, now),
            Some(now + chrono::Duration::seconds(4 * 3600))
        );
        assert_eq!(p.retry_at(9, now), None);
    }

    #[test]
    fn host_hides_path_and_query() {
        assert_eq!(
            host_of("https://hooks.slack.com/services/T000/B000/XXXX?x=1"),
            "hooks.slack.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080/a"), "127.0.0.1:8080");
    }
}
