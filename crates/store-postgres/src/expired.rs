//! The expired-master-password list: replaced whole with each complete read.

use chrono::{DateTime, Utc};
use lpgate_store::{AccountId, ExpiredPassword, StoreResult};
use tokio_postgres::Transaction;

use crate::backend;
use crate::rows::{local_secs, utc};

/// Replaces `account`'s list and records the read time, inside the caller's transaction.
pub async fn replace(
    tx: &Transaction<'_>,
    account: AccountId,
    items: &[ExpiredPassword],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let ctx = "replace expired master passwords";
    tx.execute(
        "DELETE FROM expired_passwords WHERE account_id = $1",
        &[&account.0],
    )
    .await
    .map_err(backend(ctx))?;
    for i in items {
        tx.execute(
            "INSERT INTO expired_passwords
             (account_id, email, lastpass_id, last_pw_change_local, last_pw_change_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (account_id, email) DO UPDATE SET lastpass_id = excluded.lastpass_id,
                last_pw_change_local = excluded.last_pw_change_local,
                last_pw_change_at = excluded.last_pw_change_at",
            &[
                &account.0,
                &i.email.to_lowercase(),
                &i.lastpass_id,
                &local_secs(i.last_pw_change_local),
                &i.last_pw_change_at.map(|t| t.timestamp()),
            ],
        )
        .await
        .map_err(backend(ctx))?;
    }
    tx.execute(
        "INSERT INTO expired_password_reads (account_id, read_at) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET read_at = excluded.read_at",
        &[&account.0, &utc(now)],
    )
    .await
    .map_err(backend(ctx))?;
    Ok(())
}
