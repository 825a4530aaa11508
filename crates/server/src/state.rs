//! What every handler shares: the store, the token key, the verified-token cache and the
//! failed-authentication limiter.

use std::sync::Arc;

use lpgate_engine::TokenKey;
use lpgate_store::Store;

use crate::auth::TokenCache;
use crate::ratelimit::FailureLimiter;

/// Shared state of the application. Cheap to clone.
#[derive(Clone)]
pub struct AppState<S: Store> {
    pub(crate) store: S,
    pub(crate) token_key: TokenKey,
    pub(crate) tokens: Arc<TokenCache>,
    pub(crate) failures: Arc<FailureLimiter>,
    /// HTTP request counts for `/metrics`.
    pub(crate) http: Arc<crate::metrics::HttpMetrics>,
}

impl<S: Store> AppState<S> {
    /// State over a store, hashing presented tokens with `token_key` (from
    /// `MasterKey::token_key`, the same key `lpgate token create` hashed them with).
    pub fn new(store: S, token_key: TokenKey) -> Self {
        AppState {
            store,
            token_key,
            tokens: Arc::new(TokenCache::default()),
            failures: Arc::new(FailureLimiter::default()),
            http: Arc::new(crate::metrics::HttpMetrics::default()),
        }
    }

    /// The same state with a different failed-authentication limit (tests).
    pub fn with_failure_limit(mut self, max_failures: u32, window: std::time::Duration) -> Self {
        self.failures = Arc::new(FailureLimiter::new(max_failures, window));
        self
    }
}
