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
    // One statement for the whole list (LastPass lists every expired password of the
    // company, tens of thousands in a large one): a statement per item made this the
    // longest part of a sync, one round trip each. A repeated email keeps its last item, as
    // the upsert of one statement per item did.
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
