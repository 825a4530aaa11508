//! Per-account sync locks: session advisory locks, each on a connection of its own that the
//! lock keeps open. PostgreSQL releases the lock when that connection ends, however the
//! holding process ends, so a SIGKILLed worker never blocks the next sync of its accounts.

use lpgate_store::{AccountId, AccountLock, StoreError, StoreResult};

/// The first key of every sync lock ("lpgs"); the account id is the second.
const SYNC_LOCK_CLASS: i32 = 0x6c70_6773;

/// A held lock: the connection holding it. Dropping it closes the connection, which
/// releases the lock.
struct SessionLock {
    _client: tokio_postgres::Client,
}

impl AccountLock for SessionLock {}

/// Takes the lock for `account` without waiting.
pub async fn try_lock(
    config: &tokio_postgres::Config,
    account: AccountId,
) -> StoreResult<Box<dyn AccountLock>> {
    let ctx = "sync lock";
    let client = crate::connect(config, ctx).await?;
    let key = i32::try_from(account.0).map_err(|_| StoreError::Backend {
        context: ctx,
        message: format!("account id {} does not fit a lock key", account.0),
    })?;
    let got: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&SYNC_LOCK_CLASS, &key],
        )
        .await
        .map_err(crate::backend(ctx))?
        .get(0);
    if got {
        Ok(Box::new(SessionLock { _client: client }))
    } else {
        Err(StoreError::Busy(
            "another sync of this account is running; it was not started twice".to_string(),
        ))
    }
}
