//! What the write endpoints need beyond the store: the master key (to seal and unseal
//! provisioning hashes), the `[act]` limits and policy per account, sync options, rules, and
//! query limits. The binary passes them in with [`crate::AppState::with_operations`]; a state
//! without them answers every write endpoint 503 `not_configured`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use lpgate_domain::SafetyLimits;
use lpgate_engine::act::ApplyPolicy;
use lpgate_engine::rules::RuleConfig;
use lpgate_engine::{MasterKey, SyncOptions};
use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, Region};
use lpgate_store::{AccountEndpoint, AccountId, AccountRow, QueryLimits, StoreError};

use crate::error::ApiError;

/// The `[act]` settings of one account.
#[derive(Debug, Clone, Default)]
pub struct ActSettings {
    /// When a plan is held.
    pub limits: SafetyLimits,
    /// How a plan is applied.
    pub policy: ApplyPolicy,
    /// Users plans never touch.
    pub exclude: Vec<String>,
    /// What the SCIM server does for this account.
    pub scim: crate::scim::ScimSettings,
}

/// The installation's settings the write endpoints use.
#[derive(Clone)]
pub struct Operations {
    /// Seals provisioning hashes of new accounts; unseals them to call LastPass.
    pub key: MasterKey,
    /// Sync options (their `routing` also routes `plan.held` notifications).
    pub sync: SyncOptions,
    /// Rules run after a sync started through the API.
    pub rules: RuleConfig,
    /// `sync_interval_secs` of accounts added without one.
    pub default_interval_secs: i64,
    /// The largest limits a `POST /v1/query` may ask for (and its defaults).
    pub query: QueryLimits,
    /// `[act]` per account name.
    pub act: Arc<dyn Fn(&str) -> ActSettings + Send + Sync>,
    /// How long one LastPass request may take (`[sync] request_timeout_secs`).
    pub request_timeout: std::time::Duration,
}

/// [`Operations`] plus what the server tracks itself: accounts with an API sync running, and
/// the LastPass client of each account used so far.
pub(crate) struct Ops {
    pub settings: Operations,
    pub syncing: Mutex<HashSet<AccountId>>,
    clients: Mutex<HashMap<AccountId, (ClientKey, Client)>>,
}

/// What a cached client was built from: a changed hash, CID or endpoint builds a new one.
type ClientKey = (Vec<u8>, u64, AccountEndpoint);

impl Ops {
    pub fn new(settings: Operations) -> Self {
        Ops {
            settings,
            syncing: Mutex::new(HashSet::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The LastPass client of a stored account, its hash unsealed. Clients are kept per
    /// account: building one loads the TLS root certificates (tens of milliseconds), which a
    /// SCIM write would otherwise pay every time.
    pub fn client_for(&self, row: &AccountRow) -> Result<Client, ApiError> {
        let key: ClientKey = (row.provhash_sealed.clone(), row.cid, row.endpoint.clone());
        if let Ok(cache) = self.clients.lock()
            && let Some((k, c)) = cache.get(&row.id)
            && *k == key
        {
            return Ok(c.clone());
        }
        let client = self.build_client(row)?;
        if let Ok(mut cache) = self.clients.lock() {
            cache.insert(row.id, (key, client.clone()));
        }
        Ok(client)
    }

    fn build_client(&self, row: &AccountRow) -> Result<Client, ApiError> {
        let hash = self.settings.key.unseal(&row.provhash_sealed).map_err(|e| {
            tracing::error!(account = %row.name, error = %e, "cannot unseal a provisioning hash");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the account's provisioning hash cannot be unsealed with this master key",
            )
        })?;
        let base = match &row.endpoint {
            AccountEndpoint::Region(r) => Region::parse(r).map(BaseUrl::Region),
            AccountEndpoint::Url(u) => BaseUrl::custom(u),
        }
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
        let mut config = ClientConfig::new(base, Cid::new(row.cid), hash);
        config.request_timeout = self.settings.request_timeout;
        Client::new(config).map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })
    }
}

/// 503: the server was started without [`Operations`].
pub(crate) fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_configured",
        "this server was started without write settings",
    )
}

/// Runs an engine future on a blocking thread that drives it with the runtime's handle. The
/// engine's futures are not provably `Send` (the store's futures borrow across awaits), so
/// they cannot be awaited in a handler or spawned as tasks directly.
pub(crate) async fn off_thread<F, Fut, T>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(f()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "an engine task failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the operation failed; see the server log",
            )
        })
}

/// Store errors of write endpoints: conflicts are 409s, query refusals and timeouts say so,
/// the rest as [`ApiError`]'s own conversion.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
        StoreError::QueryRefused(m) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "query_refused",
            format!("query refused: {m}"),
        ),
        e @ StoreError::QueryTimeout { .. } => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "query_timeout", e.to_string())
        }
        other => other.into(),
    }
}
