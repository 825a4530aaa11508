//! What the SCIM server shares across requests: rendered users by id and by userName, valid
//! while the store's data version stays the same (any write anywhere drops them all, so a
//! cached read is exactly what the store would answer), and one write at a time per account
//! (identity providers send several at once; LastPass writes of one account must not
//! interleave).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lpgate_store::AccountId;
use serde_json::Value;

/// Most users kept; the cache empties when full.
const MAX_ENTRIES: usize = 10_000;

/// How a user is looked up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// By SCIM id.
    Id(i64),
    /// By lowercase userName.
    Name(String),
}

#[derive(Default)]
struct Inner {
    version: Option<u64>,
    users: HashMap<(i64, Key), Arc<Cached>>,
}

/// A rendered user and the base URL it was rendered for.
#[derive(Debug)]
pub struct Cached {
    /// `http(s)://host/scim/v2`.
    pub base: String,
    /// The resource, `None` when there is no such user.
    pub resource: Option<Value>,
    /// The resource serialized (what a GET without attribute selection answers).
    pub json: axum::body::Bytes,
}

/// State shared by the SCIM handlers.
#[derive(Default)]
pub struct Shared {
    inner: Mutex<Inner>,
    locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

impl Shared {
    /// The cached user, when the store has not changed since it was read.
    pub fn get(
        &self,
        version: Option<u64>,
        account: AccountId,
        key: &Key,
        base: &str,
    ) -> Option<Arc<Cached>> {
        let version = version?;
        let mut inner = self.inner.lock().ok()?;
        if inner.version != Some(version) {
            inner.users.clear();
            inner.version = Some(version);
            return None;
        }
        inner
            .users
            .get(&(account.0, key.clone()))
            .filter(|c| c.base == base)
            .cloned()
    }

    /// Keeps a user read while the store was at `version` (read before the store was asked).
    pub fn put(
        &self,
        version: Option<u64>,
        account: AccountId,
        keys: Vec<Key>,
        value: Arc<Cached>,
    ) {
        let Some(version) = version else { return };
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.version != Some(version) {
            return;
        }
        if inner.users.len() >= MAX_ENTRIES {
            inner.users.clear();
        }
        for k in keys {
            inner.users.insert((account.0, k), value.clone());
        }
    }

    /// The lock that serialises one account's SCIM writes.
    pub fn account_lock(&self, account: AccountId) -> Arc<tokio::sync::Mutex<()>> {
        match self.locks.lock() {
            Ok(mut m) => m.entry(account.0).or_default().clone(),
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}
