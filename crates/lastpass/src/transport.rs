//! One command on the wire: build the body, post it, retry what may be retried, and read the
//! reply by its body — never by its `Content-Type`, which LastPass sets to `text/xml` even on
//! JSON.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Error;

/// The largest reply the client reads (a 2,000-user page is about 1 MB): a bound on the memory
/// a broken or hostile endpoint can make it use.
const MAX_BODY: usize = 256 << 20;

/// Whether a command may be sent again after LastPass might already have acted on it.
///
/// Every command is retried when the request provably never arrived (connection refused) or
/// was throttled (HTTP 429: LastPass refused it before doing anything). Beyond that — a 5xx, a
/// timeout, a connection cut mid-reply, a truncated body — only commands whose repetition is
/// harmless are retried: reads, and writes that set a state (disable, enable, update, group
/// add/remove, require a password change, turn off MFA, deactivate). Commands that send an email
/// or create something (batchadd, resetpassword, reinviteuser, pushsitestousers, deluser 1/2/3)
/// are not, because a second copy would send a second email or fail on an already-removed user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads and state-setting writes: retry on every transient failure.
    Safe,
    /// Retry only when the request cannot have been processed.
    OnlyIfUnsent,
}

/// The request envelope `{cid, provhash, cmd, data}`.
#[derive(Serialize)]
struct Envelope<'a, D: Serialize> {
    cid: u64,
    provhash: &'a str,
    cmd: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a D>,
}

/// Why one attempt failed, before it is decided whether to try again.
enum Failure {
    /// The connection was never made, so LastPass did nothing.
    Unsent(String),
    /// HTTP 429.
    Throttled(Option<Duration>),
    /// Another non-success HTTP status.
    Status(u16),
    /// No complete reply in time.
    Timeout,
    /// The connection broke after the request went out.
    Broken(String),
    /// The body arrived but could not be read (e.g. truncated).
    Undecodable(Error),
}

impl Client {
    /// Sends `cmd` with `data` and parses the reply with `parse`, retrying per `replay`.
    pub(crate) async fn call<D, T>(
        &self,
        cmd: &str,
        data: Option<&D>,
        replay: Replay,
        parse: impl Fn(&[u8]) -> Result<T, Error>,
    ) -> Result<T, Error>
    where
        D: Serialize,
    {
        let body = serde_json::to_vec(&Envelope {
            cid: self.cid.get(),
            provhash: self.provhash.expose(),
            cmd,
            data,
        })
        .map_err(|e| Error::InvalidInput {
            field: "data",
            value: cmd.to_string(),
            reason: if e.is_data() {
                "the request data could not be encoded as JSON"
            } else {
                "the request could not be encoded"
            },
        })?;
        let body = Bytes::from(body);
        let policy = &self.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let started = Instant::now();
            let failure = match self.attempt(body.clone()).await {
                Ok(bytes) => match parse(&bytes) {
                    Ok(value) => {
                        tracing::debug!(
                            command = cmd,
                            attempt,
                            bytes = bytes.len(),
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "lastpass reply"
                        );
                        return Ok(value);
                    }
                    Err(e @ Error::Decode { .. }) => Failure::Undecodable(e),
                    Err(e) => return Err(e.masked(self.provhash.expose())),
                },
                Err(f) => f,
            };
            let may_retry = match failure {
                Failure::Unsent(_) | Failure::Throttled(_) => true,
                _ => replay == Replay::Safe,
            };
            let wait = match failure {
                Failure::Throttled(Some(d)) if d > policy.max_retry_after => {
                    return Err(self
                        .give_up(cmd, failure, attempt)
                        .masked(self.provhash.expose()));
                }
                Failure::Throttled(Some(d)) => d,
                _ => policy.backoff(attempt),
            };
            if !may_retry || attempt >= policy.max_attempts {
                return Err(self
                    .give_up(cmd, failure, attempt)
                    .masked(self.provhash.expose()));
            }
            tracing::warn!(
                command = cmd,
                attempt,
                wait_ms = wait.as_millis() as u64,
                reason = %self.describe(&failure),
                "lastpass call failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One HTTP exchange.
    async fn attempt(&self, body: Bytes) -> Result<Bytes, Failure> {
        let mut resp = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(Failure::Throttled(retry_after));
        }
        if !status.is_success() {
            return Err(Failure::Status(status.as_u16()));
        }
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(Failure::Broken(format!(
                "the reply is larger than {} MiB",
                MAX_BODY >> 20
            )));
        }
        let mut body = bytes::BytesMut::with_capacity(resp.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Failure::Broken(format!(
                    "the reply is larger than {} MiB",
                    MAX_BODY >> 20
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn describe(&self, failure: &Failure) -> String {
        match failure {
            Failure::Unsent(r) => format!("connection failed: {r}"),
            Failure::Throttled(d) => format!("HTTP 429 (retry after {d:?})"),
            Failure::Status(s) => format!("HTTP {s}"),
            Failure::Timeout => "timed out".to_string(),
            Failure::Broken(r) => format!("connection broke: {r}"),
            Failure::Undecodable(e) => e.to_string(),
        }
    }

    fn give_up(&self, cmd: &str, failure: Failure, attempts: u32) -> Error {
        let command = cmd.to_string();
        match failure {
            Failure::Unsent(reason) | Failure::Broken(reason) => Error::Transport {
                command,
                endpoint: self.endpoint.clone(),
                attempts,
                reason,
            },
            Failure::Throttled(retry_after) => Error::RateLimited {
                command,
                attempts,
                retry_after,
            },
            Failure::Status(status) => Error::Http {
                command,
                status,
                attempts,
            },
            Failure::Timeout => Error::Timeout {
                command,
                attempts,
                timeout: self.request_timeout,
            },
            Failure::Undecodable(e) => e,
        }
    }
}

fn classify(e: reqwest::Error) -> Failure {
    let reason = error_chain(&e);
    // A connect timeout is both a timeout and a connect error: the request never left, so it
    // counts as unsent (and may be retried for any command).
    if e.is_connect() {
        Failure::Unsent(reason)
    } else if e.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Broken(reason)
    }
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

/// Parses a reply body as JSON of type `T`; an XML `<lastpass rc="…"/>` body becomes the API
/// error it stands for, and anything else a decode error showing the body's first 200 bytes.
pub(crate) fn decode<T: DeserializeOwned>(
    cmd: &str,
    bytes: &[u8],
    secret: &str,
) -> Result<T, Error> {
    parse_json::<T>(bytes).map_err(|e| not_json(cmd, bytes, secret, e.to_string()))
}

/// Parses a JSON body, checking its UTF-8 once for the whole body. `serde_json::from_slice`
/// checks every string on its own instead: a 100,000-user listing holds millions of short
/// strings, and those checks were the largest single cost of reading it. A body that is not
/// UTF-8 goes to `from_slice`, which says where.
pub(crate) fn parse_json<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// The error for a body that is not the expected JSON.
pub(crate) fn not_json(cmd: &str, bytes: &[u8], secret: &str, reason: String) -> Error {
    if let Some(rc) = xml_rc(bytes) {
        if rc.eq_ignore_ascii_case("Authorization Error") {
            return Error::Unauthorized {
                command: cmd.to_string(),
            };
        }
        return Error::ApiCode {
            command: cmd.to_string(),
            rc,
        };
    }
    Error::Decode {
        command: cmd.to_string(),
        reason,
        snippet: snippet(bytes, secret),
    }
}

/// The `rc` attribute of a `<lastpass rc="…"/>` body.
pub(crate) fn xml_rc(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if !trimmed.starts_with('<') {
        return None;
    }
    let start = trimmed.find("<lastpass")?;
    let rest = &trimmed[start..];
    let rc_at = rest.find("rc=")?;
    let after = &rest[rc_at + 3..];
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = &after[1..];
    let end = inner.find(quote)?;
    Some(inner[..end].to_string())
}

/// The first 200 characters of a body for an error message, with the secret masked before
/// the cut (so a secret across the cut cannot leave its first characters behind).
fn snippet(bytes: &[u8], secret: &str) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200 + secret.len())]);
    mask(&head, secret).chars().take(200).collect()
}

/// Replaces the secret, and any trailing piece of at least 8 of its first characters, by `***`.
pub(crate) fn mask(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    let mut out = text.replace(secret, "***");
    for n in (8..secret.len()).rev() {
        if let Some(prefix) = secret.get(..n)
            && out.ends_with(prefix)
        {
            out.truncate(out.len() - n);
            out.push_str("***");
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_read_alike_whether_or_not_the_body_is_utf8() {
        let v: serde_json::Value =
            parse_json(r#"{"name": "Zoë \u00e9", "n": [1, 2]}"#.as_bytes()).unwrap();
        assert_eq!(v["name"], "Zoë é");
        assert_eq!(v["n"][1], 2);
        // Not UTF-8 inside a string: refused, with where.
        let err = parse_json::<serde_json::Value>(b"{\"name\": \"Zo\xff\"}").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err =
            decode::<serde_json::Value>("getuserdata", b"{\"a\": \"\xff\"}", "secret").unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    }

    #[test]
    fn xml_rc_is_found() {
        let body =
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lastpass rc=\"Authorization Error\"/>\n";
        assert_eq!(xml_rc(body).as_deref(), Some("Authorization Error"));
        assert_eq!(xml_rc(b"{\"a\":1}"), None);
        assert_eq!(xml_rc(b"<html>oops</html>"), None);
    }

    #[test]
    fn masking_covers_partial_secrets() {
        let secret = "0123456789abcdef0123";
        assert_eq!(mask("x 0123456789abcdef0123 y", secret), "x *** y");
        assert_eq!(mask("cut here 0123456789", secret), "cut here ***");
        assert_eq!(mask("short 0123", secret), "short 0123");
        let body = format!("{}{secret}", "a".repeat(190));
        let s = snippet(body.as_bytes(), secret);
        assert!(!s.contains("0123456789"), "{s}");
    }

    #[test]
    fn decode_errors_mask_the_secret() {
        let e = decode::<serde_json::Value>("getuserdata", b"oops sekrit-hash here", "sekrit-hash")
            .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("getuserdata") && s.contains("oops") && !s.contains("sekrit-hash"),
            "{s}"
        );
    }
}
