//! Dashboard sessions: an API token exchanged once for a session cookie, kept in memory on
//! the server with an expiry, each with its own CSRF token.
//!
//! A session holds the token's hash, never the token; every request checks that hash again
//! (through the verified-token cache), so a revoked or expired token ends its sessions within
//! [`crate::auth::CACHE_TTL`]. Cookies are `HttpOnly`, `SameSite=Strict`, and `Secure` when
//! the request came over TLS (`X-Forwarded-Proto: https` from a proxy in front).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};

use crate::auth::Caller;

/// Name of the session cookie.
pub const COOKIE: &str = "lpgate_session";
/// Name of the cookie that carries the sign-in form's CSRF token (before a session exists).
pub const PRE_COOKIE: &str = "lpgate_signin";
/// How long a session lasts without use.
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// Most sessions kept; the oldest expire first past this.
const MAX_SESSIONS: usize = 10_000;

/// One signed-in browser.
#[derive(Clone)]
pub struct Session {
    /// The token's keyed hash (as the store keeps it).
    pub token_hash: String,
    /// The per-session CSRF token every form posts back.
    pub csrf: String,
    /// When it expires unless used.
    pub expires: Instant,
}

/// The sessions of one server.
#[derive(Default)]
pub struct Sessions {
    entries: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for a verified token; returns its id (the cookie's value).
    pub fn start(&self, token_hash: String, now: Instant) -> String {
        let id = random_id();
        let session = Session {
            token_hash,
            csrf: random_id(),
            expires: now + IDLE,
        };
        if let Ok(mut e) = self.entries.lock() {
            if e.len() >= MAX_SESSIONS {
                e.retain(|_, s| s.expires > now);
            }
            e.insert(id.clone(), session);
        }
        id
    }

    /// The live session with this id, its expiry pushed back.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut e = self.entries.lock().ok()?;
        let s = e.get_mut(id)?;
        if s.expires <= now {
            e.remove(id);
            return None;
        }
        s.expires = now + IDLE;
        Some(s.clone())
    }

    /// Ends a session.
    pub fn end(&self, id: &str) {
        if let Ok(mut e) = self.entries.lock() {
            e.remove(id);
        }
    }
}

/// Who is looking at a page: the token's caller, the session's CSRF token and id.
#[derive(Clone)]
pub struct Viewer {
    /// Scope and account of the token behind the session.
    pub caller: Caller,
    /// The CSRF token forms must carry.
    pub csrf: String,
    /// The session id.
    pub session: String,
}

impl Viewer {
    /// Whether the viewer may act (write scope).
    pub fn can_write(&self) -> bool {
        self.caller.scope.allows(lpgate_store::TokenScope::Write)
    }

    /// Whether the viewer may approve plans and retry notifications (admin scope).
    pub fn is_admin(&self) -> bool {
        self.caller.scope.allows(lpgate_store::TokenScope::Admin)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for `name=value` on `/ui`, for `max_age` seconds (0 deletes it).
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/ui; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Random identifiers for sessions and CSRF tokens (256 bits from the OS's CSPRNG, the same
/// source API tokens come from).
pub fn random_id() -> String {
    let token = lpgate_engine::token::generate_token();
    token
        .strip_prefix(lpgate_engine::token::TOKEN_PREFIX)
        .unwrap_or(&token)
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let s = Sessions::default();
        let now = Instant::now();
        let id = s.start("h".into(), now);
        assert_eq!(s.get(&id, now).unwrap().token_hash, "h");
        assert!(s.get(&id, now + IDLE + Duration::from_secs(1)).is_none());
        let id = s.start("h".into(), now);
        s.end(&id);
        assert!(s.get(&id, now).is_none());
    }

    #[test]
    fn cookies_parse_and_compare() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; lpgate_session=xyz".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("xyz"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(set_cookie(COOKIE, "v", 1, true).contains("; Secure"));
        assert!(!set_cookie(COOKIE, "v", 1, false).contains("Secure"));
    }
}
