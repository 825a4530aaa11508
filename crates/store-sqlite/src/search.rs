//! The free-text index (FTS5 table `search`): kept current inside each sync's transaction,
//! built in one pass for an account's first snapshot, and queried with every word as a
//! prefix, ranked by bm25 (the name weighs more than the address).

use lpgate_store::{SearchHit, StoreError, StoreResult};
use rusqlite::{Connection, Transaction, params};

use crate::backend;

/// Row-id tags of the three kinds (`rowid = source_id * 4 + tag`).
const USER: i64 = 1;
const GROUP: i64 = 2;
const FOLDER: i64 = 3;

/// The searchable words of an address: the part before the `@` (the tokenizer splits it at
/// dots, dashes and underscores).
fn local_part(email: &str) -> &str {
    email.split('@').next().unwrap_or(email)
}

/// Indexes (or re-indexes) one user.
pub fn put_user(
    tx: &Transaction,
    id: i64,
    acct: i64,
    email: &str,
    fullname: &str,
) -> rusqlite::Result<()> {
    put(
        tx,
        id * 4 + USER,
        fullname,
        local_part(email),
        acct,
        "user",
        email,
    )
}

/// Indexes (or re-indexes) one group.
pub fn put_group(tx: &Transaction, rid: i64, acct: i64, name: &str) -> rusqlite::Result<()> {
    put(tx, rid * 4 + GROUP, name, "", acct, "group", name)
}

/// Indexes (or re-indexes) one shared folder.
pub fn put_folder(
    tx: &Transaction,
    rid: i64,
    acct: i64,
    id: &str,
    name: &str,
) -> rusqlite::Result<()> {
    put(tx, rid * 4 + FOLDER, name, "", acct, "folder", id)
}

/// Removes a group's entry.
pub fn remove_group(tx: &Transaction, rid: i64) -> rusqlite::Result<()> {
    remove(tx, rid * 4 + GROUP)
}

/// Removes a folder's entry.
pub fn remove_folder(tx: &Transaction, rid: i64) -> rusqlite::Result<()> {
    remove(tx, rid * 4 + FOLDER)
}

fn put(
    tx: &Transaction,
    rowid: i64,
    title: &str,
    words: &str,
    acct: i64,
    kind: &str,
    key: &str,
) -> rusqlite::Result<()> {
    remove(tx, rowid)?;
    tx.prepare_cached(
        "INSERT INTO search (rowid, title, words, account_id, kind, key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![rowid, title, words, acct, kind, key])?;
    Ok(())
}

fn remove(tx: &Transaction, rowid: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
        .execute([rowid])?;
    Ok(())
}

/// Drops and rebuilds an account's entries in bulk, enters the users a first snapshot wrote
/// into the sort indexes, then marks the account ready.
pub fn rebuild(tx: &Transaction, acct: i64) -> rusqlite::Result<()> {
    mark_sorted(tx, acct)?;
    tx.execute("DELETE FROM search WHERE account_id = ?1", [acct])?;
    tx.execute(
        "INSERT INTO search (rowid, title, words, account_id, kind, key)
         SELECT id * 4 + 1, fullname,
                CASE WHEN instr(email, '@') > 0 THEN substr(email, 1, instr(email, '@') - 1) ELSE email END,
                account_id, 'user', email
         FROM users WHERE account_id = ?1",
        [acct],
    )?;
    tx.execute(
        "INSERT INTO search (rowid, title, words, account_id, kind, key)
         SELECT rid * 4 + 2, name, '', account_id, 'group', name FROM groups WHERE account_id = ?1",
        [acct],
    )?;
    tx.execute(
        "INSERT INTO search (rowid, title, words, account_id, kind, key)
         SELECT rid * 4 + 3, name, '', account_id, 'folder', id FROM folders WHERE account_id = ?1",
        [acct],
    )?;
    tx.execute("UPDATE accounts SET search_ready = 1 WHERE id = ?1", [acct])?;
    Ok(())
}

/// Enters the users a first snapshot wrote into the sort indexes (migration 12).
fn mark_sorted(tx: &Transaction, acct: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE users SET sorted = 1 WHERE account_id = ?1 AND sorted = 0",
        [acct],
    )?;
    Ok(())
}

/// Rebuilds the entries of an account whose first snapshot committed without them (a process
/// stopped in between), in its own transaction.
pub fn ensure_ready(conn: &mut Connection, acct: i64) -> rusqlite::Result<()> {
    let ready: bool = conn.query_row(
        "SELECT search_ready FROM accounts WHERE id = ?1",
        [acct],
        |r| r.get(0),
    )?;
    if !ready {
        // The users enter the sort indexes in a transaction of their own first: committed,
        // its pages can be evicted before the search index is built (one transaction for
        // both took the process's peak memory ~25 MB higher at 100,000 users).
        let tx = conn.transaction()?;
        mark_sorted(&tx, acct)?;
        tx.commit()?;
        let tx = conn.transaction()?;
        rebuild(&tx, acct)?;
        tx.commit()?;
    }
    Ok(())
}

/// The FTS5 expression for what a person typed: each word (letters and digits) a quoted
/// prefix, all required. `None` when there is no word.
pub fn match_expression(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Ranked hits.
pub fn search(
    conn: &Connection,
    text: &str,
    account: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<SearchHit>> {
    let ctx = "search";
    let Some(expr) = match_expression(text) else {
        return Err(StoreError::QueryRefused(format!(
            "search text {text:?} has no word to look for"
        )));
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.rowid, s.kind, s.key, s.title, a.name, bm25(search, 10.0, 4.0) AS rank
             FROM search s JOIN accounts a ON a.id = s.account_id
             WHERE search MATCH ?1 AND (?2 IS NULL OR a.name = ?2)
             ORDER BY rank LIMIT ?3",
        )
        .map_err(backend(ctx))?;
    let rows = stmt
        .query_map(params![expr, account, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                SearchHit {
                    kind: r.get(1)?,
                    key: r.get(2)?,
                    title: r.get(3)?,
                    account: r.get(4)?,
                    detail: String::new(),
                    rank: r.get(5)?,
                },
            ))
        })
        .map_err(backend(ctx))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(ctx))?;
    let mut hits = Vec::with_capacity(rows.len());
    for (rowid, mut hit) in rows {
        let id = rowid / 4;
        hit.detail = match rowid % 4 {
            USER => conn
                .prepare_cached("SELECT status FROM users WHERE id = ?1")
                .and_then(|mut s| s.query_row([id], |r| r.get(0)))
                .unwrap_or_default(),
            // A member count would scan every membership: `lpgate groups` has it.
            GROUP => "group".to_string(),
            _ => conn
                .prepare_cached("SELECT members || ' members' FROM folders WHERE rid = ?1")
                .and_then(|mut s| s.query_row([id], |r| r.get(0)))
                .unwrap_or_default(),
        };
        hits.push(hit);
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_a_required_prefix() {
        assert_eq!(
            match_expression("Jo SMI").as_deref(),
            Some("\"jo\"* \"smi\"*")
        );
        assert_eq!(
            match_expression("o'brien \"x").as_deref(),
            Some("\"o\"* \"brien\"* \"x\"*")
        );
        assert_eq!(match_expression(" -- "), None);
    }
}
