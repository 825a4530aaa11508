//! The expired-master-password list: replaced whole with each complete read, inside the
//! sync's transaction.

use chrono::{DateTime, Utc};
use lpgate_store::{AccountId, ExpiredPassword, StoreResult, expired_digest};
use tokio_postgres::{GenericClient, Transaction};

use crate::backend;
use crate::rows::{local_secs, parse_utc, utc};

/// Replaces `account`'s list and records the read time, inside the caller's transaction. A
/// list equal to the stored one (same digest) only moves the read time: most syncs read the
/// same list again.
pub async fn replace(
    tx: &Transaction<'_>,
    account: AccountId,
    items: &[ExpiredPassword],
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    let digest = expired_digest(items);
    let stored: Option<i64> = tx
        .query_opt(
            "SELECT digest FROM expired_password_reads WHERE account_id = $1",
            &[&account.0],
        )
        .await?
        .and_then(|r| r.get(0));
    if stored != Some(digest) {
        tx.execute(
            "DELETE FROM expired_passwords WHERE account_id = $1",
            &[&account.0],
        )
        .await?;
        // One statement for the whole list (LastPass lists every expired password of the
        // company, tens of thousands in a large one): a statement per item made this the
        // longest part of a sync, one round trip each. A repeated email keeps its last item.
        let (mut emails, mut ids, mut locals, mut ats) = (vec![], vec![], vec![], vec![]);
        for i in items {
            emails.push(i.email.to_lowercase());
            ids.push(i.lastpass_id.as_str());
            locals.push(local_secs(i.last_pw_change_local));
            ats.push(i.last_pw_change_at.map(|t| t.timestamp()));
        }
        if !emails.is_empty() {
            tx.execute(
                "INSERT INTO expired_passwords
                 (account_id, email, lastpass_id, last_pw_change_local, last_pw_change_at)
                 SELECT DISTINCT ON (e) $1, e, i, l, a
                 FROM unnest($2::text[], $3::text[], $4::int8[], $5::int8[]) WITH ORDINALITY AS t(e, i, l, a, o)
                 ORDER BY e, o DESC",
                &[&account.0, &emails, &ids, &locals, &ats],
            )
            .await?;
        }
    }
    tx.execute(
        "INSERT INTO expired_password_reads (account_id, read_at, digest) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET read_at = excluded.read_at, digest = excluded.digest",
        &[&account.0, &utc(now), &digest],
    )
    .await?;
    Ok(())
}

/// When `account`'s list was last read, if ever.
pub async fn read_at<C: GenericClient>(
    c: &C,
    account: AccountId,
) -> StoreResult<Option<DateTime<Utc>>> {
    let at: Option<String> = c
        .query_opt(
            "SELECT read_at FROM expired_password_reads WHERE account_id = $1",
            &[&account.0],
        )
        .await
        .map_err(backend("read expired-password read time"))?
        .map(|r| r.get(0));
    at.as_deref().map(parse_utc).transpose()
}
