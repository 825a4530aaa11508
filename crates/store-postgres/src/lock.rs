//! Per-account sync locks: session advisory locks, each on a connection of its own that the
//! lock keeps open. PostgreSQL releases the lock when that connection ends, however the
//! holding process ends, so a SIGKILLed worker never blocks the next sync of its accounts.
//!
//! Dropping a lock unlocks it on a task (a drop cannot wait); until that is done, this
//! process's next attempt on the account waits for it rather than reporting its own,
//! already-released lock as another sync.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lpgate_store::{AccountId, AccountLock, StoreError, StoreResult};

/// The first key of every sync lock ("lpgs"); the account id is the second.
const SYNC_LOCK_CLASS: i32 = 0x6c70_6773;

/// Accounts whose lock this process is releasing.
#[derive(Default, Clone)]
pub struct Releasing(Arc<Mutex<HashMap<i64, ()>>>);

impl Releasing {
    fn contains(&self, id: i64) -> bool {
        self.0.lock().map(|m| m.contains_key(&id)).unwrap_or(false)
    }
}

/// A held lock: the connection holding it.
struct SessionLock {
    client: Option<tokio_postgres::Client>,
    key: i32,
    releasing: Releasing,
}

impl AccountLock for SessionLock {}

impl Drop for SessionLock {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let (key, releasing) = (self.key, self.releasing.clone());
        if let Ok(mut m) = releasing.0.lock() {
            m.insert(i64::from(key), ());
        }
        let unlock = async move {
            let _ = client
                .execute(
                    "SELECT pg_advisory_unlock($1, $2)",
                    &[&SYNC_LOCK_CLASS, &key],
                )
                .await;
            drop(client);
            if let Ok(mut m) = releasing.0.lock() {
                m.remove(&i64::from(key));
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(unlock);
            }
            // No runtime: closing the connection (dropping `unlock`) releases it.
            Err(_) => {
                if let Ok(mut m) = self.releasing.0.lock() {
                    m.remove(&i64::from(key));
                }
            }
        }
    }
}

/// Takes the lock for `account` without waiting for another holder.
pub async fn try_lock(
    config: &tokio_postgres::Config,
    releasing: &Releasing,
    account: AccountId,
) -> StoreResult<Box<dyn AccountLock>> {
    let ctx = "sync lock";
    let key = i32::try_from(account.0).map_err(|_| StoreError::Backend {
        context: ctx,
        message: format!("account id {} does not fit a lock key", account.0),
    })?;
    // Our own lock on it is still being released: that takes a round trip, not a sync.
    let deadline = Instant::now() + Duration::from_secs(5);
    while releasing.contains(account.0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let client = crate::connect(config, ctx).await?;
    let got: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&SYNC_LOCK_CLASS, &key],
        )
        .await
        .map_err(crate::backend(ctx))?
        .get(0);
    if got {
        Ok(Box::new(SessionLock {
            client: Some(client),
            key,
            releasing: releasing.clone(),
        }))
    } else {
        Err(StoreError::Busy(
            "another sync of this account is running; it was not started twice".to_string(),
        ))
    }
}
