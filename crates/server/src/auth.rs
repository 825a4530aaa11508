//! Bearer-token authentication: the middleware that turns `Authorization: Bearer lpg_…` into
//! a [`Caller`], and the short cache of verified tokens.
//!
//! A presented token is hashed with the installation's token key (one HMAC-SHA256) and looked
//! up by that hash, so no comparison of secret bytes happens and no slow KDF runs per
//! request. Verified tokens are cached for [`CACHE_TTL`]: a revocation takes effect within
//! that time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use lpgate_engine::token::looks_like_token;
use lpgate_store::{AccountId, Store, TokenRow, TokenScope};

use crate::error::ApiError;
use crate::state::AppState;

/// How long a verified token is trusted without asking the store again.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// Who is calling: the token's scope and, for an account-scoped token, its account.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name (for logs and the audit log).
    pub token: String,
    /// What it may do.
    pub scope: TokenScope,
    /// The only account it sees, when limited to one: (id, name).
    pub account: Option<(AccountId, String)>,
}

impl Caller {
    /// The caller a verified token row stands for.
    pub(crate) fn of(row: &TokenRow) -> Self {
        Caller {
            token: row.name.clone(),
            scope: row.scope,
            account: row.account_id.zip(row.account.clone()),
        }
    }

    /// Whether the caller may see this account (by name).
    pub fn sees(&self, account: &str) -> bool {
        self.account
            .as_ref()
            .is_none_or(|(_, name)| name == account)
    }

    /// The account filter every list must apply: the caller's own account when it is limited
    /// to one, else what the request asked for.
    pub fn account_filter(&self, requested: Option<String>) -> Option<String> {
        match &self.account {
            Some((_, name)) => Some(name.clone()),
            None => requested,
        }
    }

    /// 403 unless the token's scope covers `needed`.
    pub fn require(&self, needed: TokenScope) -> Result<(), ApiError> {
        if self.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this token has the {} scope; this request needs {}",
                    self.scope.as_str(),
                    needed.as_str()
                ),
            ))
        }
    }
}

/// Verified tokens by hash, each with the time it was read from the store and the store's
/// data version then.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, CachedToken>>,
}

/// A verified token row, when it was read, and the store's data version then.
type CachedToken = (TokenRow, Instant, Option<u64>);

impl TokenCache {
    /// A cached row younger than [`CACHE_TTL`]. SCIM tokens are trusted only while the store
    /// has not changed since they were read (`version`), so `lpgate scim token reset` in
    /// another process takes effect at once, as LastPass's own token reset does.
    fn get(&self, hash: &str, now: Instant, version: Option<u64>) -> Option<TokenRow> {
        let entries = self.entries.lock().ok()?;
        let (row, at, seen) = entries.get(hash)?;
        let fresh = now.duration_since(*at) < CACHE_TTL
            && (row.scope != TokenScope::Scim || (seen.is_some() && *seen == version));
        fresh.then(|| row.clone())
    }

    fn put(&self, hash: String, row: TokenRow, now: Instant, version: Option<u64>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= 10_000 {
                entries.retain(|_, (_, at, _)| now.duration_since(*at) < CACHE_TTL);
            }
            entries.insert(hash, (row, now, version));
        }
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// Middleware: authenticates the request, applies the failure limit, requires at least the
/// read scope (handlers require more where they need it), and hands handlers a [`Caller`].
pub async fn authenticate<S: Store>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = peer.ip();
    let now = Instant::now();
    if let Some(wait) = state.failures.blocked(ip, now) {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many failed authentications from this address; try again later",
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = presented else {
        state.failures.fail(ip, now);
        return unauthorized("missing bearer token: send Authorization: Bearer lpg_…");
    };
    let version = state.store.data_version();
    let row = match verify(&state, token, now, version).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            state.failures.fail(ip, now);
            return unauthorized("invalid, expired or revoked token");
        }
        Err(e) => return e.into_response(),
    };
    let caller = Caller::of(&row);
    if let Err(e) = caller.require(TokenScope::Read) {
        return e.into_response();
    }
    request.extensions_mut().insert(caller);
    request.extensions_mut().insert(DataVersion(version));
    next.run(request).await
}

/// The store's data version as authentication read it, before the handler ran: handlers that
/// cache by it (the user cache) use this reading rather than asking the store again (each
/// asking takes SQLite's shared-memory lock).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DataVersion(pub Option<u64>);

/// The usable token row for a presented token, from the cache or the store (`version`: the
/// store's data version, read before).
pub(crate) async fn verify<S: Store>(
    state: &AppState<S>,
    token: &str,
    now: Instant,
    version: Option<u64>,
) -> Result<Option<TokenRow>, ApiError> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    verify_hash(state, state.token_key.hash(token), now, version).await
}

/// The usable token row whose hash is `hash`, from the cache or the store (the dashboard's
/// sessions keep the hash, never the token, and check it again on every request).
pub(crate) async fn verify_hash<S: Store>(
    state: &AppState<S>,
    hash: String,
    now: Instant,
    version: Option<u64>,
) -> Result<Option<TokenRow>, ApiError> {
    let wall = Utc::now();
    let row = match state.tokens.get(&hash, now, version) {
        Some(row) => row,
        None => {
            let Some(row) = state.store.token_by_hash(hash.clone()).await? else {
                return Ok(None);
            };
            if row.usable(wall) {
                record_use(state, &row, wall);
            }
            state.tokens.put(hash, row.clone(), now, version);
            row
        }
    };
    Ok(row.usable(wall).then_some(row))
}

/// Notes the use in the store at most about once a minute per token, off the request's path.
fn record_use<S: Store>(state: &AppState<S>, row: &TokenRow, now: chrono::DateTime<Utc>) {
    let stale = row
        .last_used_at
        .is_none_or(|t| now - t > chrono::Duration::seconds(60));
    if stale {
        let store = state.store.clone();
        let id = row.id;
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(id, now).await {
                tracing::warn!(error = %e, "could not record a token's use");
            }
        });
    }
}
