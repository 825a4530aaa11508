//! The expired-master-password list: replaced whole with each complete read.

use chrono::{DateTime, Utc};
use lpgate_store::{AccountId, ExpiredPassword, StoreResult};
use rusqlite::{Connection, params};

use crate::backend;
use crate::rows::{local_secs, utc};

/// Replaces `account`'s list and records the read time, in one transaction.
pub fn replace(
    conn: &mut Connection,
    account: AccountId,
    items: &[ExpiredPassword],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let ctx = "replace expired master passwords";
    let tx = conn.transaction().map_err(backend(ctx))?;
    tx.execute(
        "DELETE FROM expired_passwords WHERE account_id = ?1",
        [account.0],
    )
    .map_err(backend(ctx))?;
    {
        let mut ins = tx
            .prepare(
                "INSERT OR REPLACE INTO expired_passwords
                 (account_id, email, lastpass_id, last_pw_change_local, last_pw_change_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(backend(ctx))?;
        for i in items {
            ins.execute(params![
                account.0,
                i.email.to_lowercase(),
                i.lastpass_id,
                local_secs(i.last_pw_change_local),
                i.last_pw_change_at.map(|t| t.timestamp()),
            ])
            .map_err(backend(ctx))?;
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO expired_password_reads (account_id, read_at) VALUES (?1, ?2)",
        params![account.0, utc(now)],
    )
    .map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))
}
