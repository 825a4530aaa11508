//! The expired-master-password list: replaced whole with each complete read, inside the
//! sync's transaction.

use chrono::{DateTime, Utc};
use lpgate_store::{AccountId, ExpiredPassword, StoreResult, expired_digest};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::{local_secs, parse_utc, utc};
use crate::{backend, batch};

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
        // In key order, each insert lands at the end of the primary key's tree instead of
        // somewhere in it (LastPass lists by user id). A stable sort keeps an email listed
        // twice in LastPass's order, and the last of them is the one kept.
        let mut sorted: Vec<(String, &ExpiredPassword)> =
            items.iter().map(|i| (i.email.to_lowercase(), i)).collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut rows: Vec<(String, &ExpiredPassword)> = Vec::with_capacity(sorted.len());
        for (email, i) in sorted {
            match rows.last_mut() {
                Some(last) if last.0 == email => last.1 = i,
                _ => rows.push((email, i)),
            }
        }
        batch::insert_rows(
            conn,
            "INSERT INTO expired_passwords
             (account_id, email, lastpass_id, last_pw_change_local, last_pw_change_at)",
            5,
            &rows,
            |s, at, (email, i)| {
                s.raw_bind_parameter(at, account.0)?;
                s.raw_bind_parameter(at + 1, email)?;
                s.raw_bind_parameter(at + 2, &i.lastpass_id)?;
                s.raw_bind_parameter(at + 3, local_secs(i.last_pw_change_local))?;
                s.raw_bind_parameter(at + 4, i.last_pw_change_at.map(|t| t.timestamp()))
            },
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, email: &str) -> ExpiredPassword {
        ExpiredPassword {
            lastpass_id: id.into(),
            email: email.into(),
            last_pw_change_local: None,
            last_pw_change_at: None,
        }
    }

    #[test]
    fn a_list_is_stored_once_per_email_the_last_listing_kept() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let now = Utc::now();
        // More than one statement's worth, out of order, one email twice (in two cases).
        let mut items: Vec<ExpiredPassword> = (0..40)
            .rev()
            .map(|i| item(&i.to_string(), &format!("user{i:02}@x.com")))
            .collect();
        items.push(item("second", "USER07@x.com"));
        replace(&conn, AccountId(1), &items, now).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT email, lastpass_id FROM expired_passwords ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 40);
        assert!(
            rows.windows(2).all(|w| w[0].0 < w[1].0),
            "inserted in email order"
        );
        assert!(rows.contains(&("user07@x.com".into(), "second".into())));
        // A new list replaces the old one whole.
        replace(&conn, AccountId(1), &[item("9", "b@x.com")], now).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM expired_passwords", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }
}
