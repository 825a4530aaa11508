//! The expired-master-password list: replaced whole with each complete read, inside the
//! sync's transaction.

use chrono::{DateTime, Utc};
use lpgate_store::{AccountId, ExpiredPassword, StoreResult, expired_digest};
use rusqlite::{Connection, OptionalExtension, params};

use crate::backend;
use crate::rows::{local_secs, parse_utc, utc};

/// Replaces `account`'s list and records the read time. A list equal to the stored one (same
/// digest) only moves the read time: most syncs read the same list again, and rewriting it
/// cost a resync of a 100,000-user account a fifth of its time.
pub fn replace(
    conn: &Connection,
    account: AccountId,
    items: &[ExpiredPassword],
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let digest = expired_digest(items);
    let stored: Option<Option<i64>> = conn
        .query_row(
            "SELECT digest FROM expired_password_reads WHERE account_id = ?1",
            [account.0],
            |r| r.get(0),
        )
        .optional()?;
    if stored.flatten() != Some(digest) {
        conn.execute(
            "DELETE FROM expired_passwords WHERE account_id = ?1",
            [account.0],
        )?;
        let mut ins = conn.prepare_cached(
            "INSERT OR REPLACE INTO expired_passwords
             (account_id, email, lastpass_id, last_pw_change_local, last_pw_change_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        // In key order, each insert lands at the end of the primary key's tree instead of
        // somewhere in it (LastPass lists by user id). A stable sort keeps the last of an
        // email listed twice the one that stays, as in LastPass's order.
        let mut sorted: Vec<(String, &ExpiredPassword)> =
            items.iter().map(|i| (i.email.to_lowercase(), i)).collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (email, i) in sorted {
            ins.execute(params![
                account.0,
                email,
                i.lastpass_id,
                local_secs(i.last_pw_change_local),
                i.last_pw_change_at.map(|t| t.timestamp()),
            ])?;
        }
    }
    conn.execute(
        "INSERT OR REPLACE INTO expired_password_reads (account_id, read_at, digest)
         VALUES (?1, ?2, ?3)",
        params![account.0, utc(now), digest],
    )?;
    Ok(())
}

/// When `account`'s list was last read, if ever.
pub fn read_at(conn: &Connection, account: AccountId) -> StoreResult<Option<DateTime<Utc>>> {
    let ctx = "read expired-password read time";
    let at: Option<String> = conn
        .query_row(
            "SELECT read_at FROM expired_password_reads WHERE account_id = ?1",
            [account.0],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend(ctx))?;
    at.as_deref()
        .map(parse_utc)
        .transpose()
        .map_err(backend(ctx))
}
