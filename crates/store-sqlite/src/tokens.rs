//! API token rows: names, scopes, account limits and keyed hashes (never tokens).

use chrono::{DateTime, Utc};
use lpgate_store::{AccountId, NewToken, StoreError, StoreResult, TokenRow, TokenScope};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;
use crate::rows::{opt_utc, parse_utc, utc};

const SELECT: &str = "SELECT t.id, t.name, t.scope, t.account_id, a.name AS account, t.created_at,
        t.expires_at, t.last_used_at, t.revoked_at
     FROM api_tokens t LEFT JOIN accounts a ON a.id = t.account_id";

fn from_row(r: &Row) -> rusqlite::Result<TokenRow> {
    let scope: String = r.get("scope")?;
    Ok(TokenRow {
        id: r.get("id")?,
        name: r.get("name")?,
        // An unknown stored scope can only come from a newer lpgate; it grants nothing.
        scope: TokenScope::parse(&scope).unwrap_or(TokenScope::Scim),
        account_id: r.get::<_, Option<i64>>("account_id")?.map(AccountId),
        account: r.get("account")?,
        created_at: parse_utc(&r.get::<_, String>("created_at")?)?,
        expires_at: opt_utc(r, "expires_at")?,
        last_used_at: opt_utc(r, "last_used_at")?,
        revoked_at: opt_utc(r, "revoked_at")?,
    })
}

pub fn create(conn: &Connection, t: NewToken) -> StoreResult<TokenRow> {
    let account_id: Option<i64> = match &t.account {
        None => None,
        Some(name) => Some(
            conn.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend("create token"))?
            .ok_or_else(|| StoreError::NotFound {
                what: "account",
                name: name.clone(),
            })?,
        ),
    };
    let res = conn.execute(
        "INSERT INTO api_tokens (name, scope, account_id, hash, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            t.name,
            t.scope.as_str(),
            account_id,
            t.hash,
            utc(t.now),
            t.expires_at.map(utc)
        ],
    );
    match res {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Err(StoreError::Conflict(format!(
                "a token named {:?} exists; revoke it first or choose another name",
                t.name
            )));
        }
        Err(e) => return Err(backend("create token")(e)),
    }
    let id = conn.last_insert_rowid();
    conn.query_row(&format!("{SELECT} WHERE t.id = ?1"), [id], from_row)
        .map_err(backend("create token"))
}

pub fn list(conn: &Connection) -> StoreResult<Vec<TokenRow>> {
    let mut stmt = conn
        .prepare(&format!("{SELECT} ORDER BY t.name, t.id"))
        .map_err(backend("list tokens"))?;
    stmt.query_map([], from_row)
        .map_err(backend("list tokens"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend("list tokens"))
}

pub fn revoke(conn: &Connection, name: &str, now: DateTime<Utc>) -> StoreResult<TokenRow> {
    let id: i64 = conn
        .query_row(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL
             RETURNING id",
            params![name, utc(now)],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend("revoke token"))?
        .ok_or_else(|| StoreError::NotFound {
            what: "live token",
            name: name.to_string(),
        })?;
    conn.query_row(&format!("{SELECT} WHERE t.id = ?1"), [id], from_row)
        .map_err(backend("revoke token"))
}

pub fn by_hash(conn: &Connection, hash: &str) -> StoreResult<Option<TokenRow>> {
    conn.query_row(&format!("{SELECT} WHERE t.hash = ?1"), [hash], from_row)
        .optional()
        .map_err(backend("read token"))
}

pub fn touch(conn: &Connection, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
    conn.execute(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id, utc(now)],
    )
    .map_err(backend("record token use"))?;
    Ok(())
}
