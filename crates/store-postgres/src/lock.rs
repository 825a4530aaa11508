//! Per-account locks (a sync's, the automations'): session advisory locks, each on a
//! connection of its own that the lock keeps open. PostgreSQL releases the lock when that connection ends, however the
//! holding process ends, so a SIGKILLed worker never blocks the next sync of its accounts.
//!
//! Dropping a lock unlocks it on a task (a drop cannot wait); until that is done, this
//! process's next attempt on the account waits for it rather than reporting its own,
//! already-released lock as another sync.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lpgate_store::{AccountId, AccountLock, StoreError, StoreResult};

/// Which of an account's locks.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A sync's (and a plan's apply).
    Sync,
    /// The automations'.
    Automations,
}

impl Kind {
    /// The lock's first key ("lpgs", "lpga"); the account id is the second.
    fn class(self) -> i32 {
        match self {
            Kind::Sync => 0x6c70_6773,
            Kind::Automations => 0x6c70_6761,
        }
    }

    fn busy(self) -> &'static str {
        match self {
            Kind::Sync => "another sync of this account is running; it was not started twice",
            Kind::Automations => {
                "another worker is running this account's automations; they were not run twice"
            }
        }
    }
}

/// Locks (class, account) this process is releasing.
#[derive(Default, Clone)]
pub struct Releasing(Arc<Mutex<HashMap<(i32, i32), ()>>>);

impl Releasing {
    fn contains(&self, id: (i32, i32)) -> bool {
        self.0.lock().map(|m| m.contains_key(&id)).unwrap_or(false)
    }
}

/// A held lock: the connection holding it.
struct SessionLock {
    client: Option<tokio_postgres::Client>,
    class: i32,
    key: i32,
    releasing: Releasing,
}

impl AccountLock for SessionLock {}

impl Drop for SessionLock {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let (class, key, releasing) = (self.class, self.key, self.releasing.clone());
        if let Ok(mut m) = releasing.0.lock() {
            m.insert((class, key), ());
        }
        let unlock = async move {
            let _ = client
                .execute("SELECT pg_advisory_unlock($1, $2)", &[&class, &key])
                .await;
            drop(client);
            if let Ok(mut m) = releasing.0.lock() {
                m.remove(&(class, key));
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(unlock);
            }
            // No runtime: closing the connection (dropping `unlock`) releases it.
            Err(_) => {
                if let Ok(mut m) = self.releasing.0.lock() {
                    m.remove(&(class, key));
                }
            }
        }
    }
}

/// Takes the `kind` lock for `account` without waiting for another holder.
pub async fn try_lock(
    config: &tokio_postgres::Config,
    releasing: &Releasing,
    account: AccountId,
    kind: Kind,
) -> StoreResult<Box<dyn AccountLock>> {
    let ctx = "sync lock";
    let key = i32::try_from(account.0).map_err(|_| StoreError::Backend {
        context: ctx,
        message: format!("account id {} does not fit a lock key", account.0),
    })?;
    // Our own lock on it is still being released: that takes a round trip, not a sync.
    let deadline = Instant::now() + Duration::from_secs(5);
    let class = kind.class();
    while releasing.contains((class, key)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let client = crate::connect(config, ctx).await?;
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&class, &key])
        .await
        .map_err(crate::backend(ctx))?
        .get(0);
    if got {
        Ok(Box::new(SessionLock {
            client: Some(client),
            class,
            key,
            releasing: releasing.clone(),
        }))
    } else {
        Err(StoreError::Busy(kind.busy().to_string()))
    }
}
