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
    /// Largest request body accepted (bytes).
    pub(crate) max_body_bytes: usize,
    /// Users' JSON between requests while the data is unchanged.
    pub(crate) users: Arc<crate::usercache::UserCache>,
    /// What the write endpoints need; `None` answers them 503.
    pub(crate) ops: Option<Arc<crate::ops::Ops>>,
    /// Seats and thresholds of `GET /v1/reports/{name}`.
    pub(crate) reports: Arc<lpgate_report::Settings>,
    /// The SCIM server's cache and per-account write locks.
    pub(crate) scim: Arc<crate::scim::Shared>,
    /// The dashboard's signed-in browsers and its overview figures.
    pub(crate) dashboard: Arc<crate::dashboard::Shared>,
}

impl<S: Store> AppState<S> {
    /// Waits until no sync started through the API (`POST /v1/accounts/{id}/sync`) is
    /// running, so a stopping server lets them finish instead of cutting them off.
    pub async fn wait_for_syncs(&self) {
        let Some(ops) = &self.ops else { return };
        loop {
            let idle = ops.syncing.lock().map(|s| s.is_empty()).unwrap_or(true);
            if idle {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
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
            max_body_bytes: crate::MAX_BODY_BYTES,
            users: Arc::new(crate::usercache::UserCache::default()),
            ops: None,
            reports: Arc::new(lpgate_report::Settings::default()),
            scim: Arc::new(crate::scim::Shared::default()),
            dashboard: Arc::new(crate::dashboard::Shared::default()),
        }
    }

    /// The same state with the installation's report settings (purchased seats, the rules'
    /// thresholds); without them reports use the defaults and know no seats.
    pub fn with_report_settings(mut self, settings: lpgate_report::Settings) -> Self {
        self.reports = Arc::new(settings);
        self
    }

    /// The same state with a different request body limit (`[serve] max_body_bytes`).
    pub fn with_body_limit(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// The same state with a different failed-authentication limit (tests).
    pub fn with_failure_limit(mut self, max_failures: u32, window: std::time::Duration) -> Self {
        self.failures = Arc::new(FailureLimiter::new(max_failures, window));
        self
    }

    /// The same state with what the write endpoints need (account administration, plans,
    /// syncs, queries, the proxy).
    pub fn with_operations(mut self, operations: crate::ops::Operations) -> Self {
        self.ops = Some(Arc::new(crate::ops::Ops::new(operations)));
        self
    }

    /// The write endpoints' settings, or 503 when the server was started without them.
    pub(crate) fn ops(&self) -> Result<&crate::ops::Ops, crate::error::ApiError> {
        self.ops.as_deref().ok_or_else(|| {
            crate::error::ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                "this server was started without write settings",
            )
        })
    }
}
