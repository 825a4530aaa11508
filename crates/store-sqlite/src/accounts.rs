//! Account rows.

use lpgate_store::{AccountEndpoint, AccountId, AccountRow, NewAccount, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;
use crate::rows::{opt_utc, parse_utc, utc};

const COLUMNS: &str = "id, name, cid, region, url, provhash_sealed, enabled, time_zone, \
                       sync_interval_secs, created_at, last_synced_at";

fn from_row(r: &Row) -> rusqlite::Result<AccountRow> {
    let region: Option<String> = r.get("region")?;
    let url: Option<String> = r.get("url")?;
    let endpoint = match (region, url) {
        (_, Some(u)) => AccountEndpoint::Url(u),
        (Some(reg), None) => AccountEndpoint::Region(reg),
        (None, None) => AccountEndpoint::Region("us".into()),
    };
    Ok(AccountRow {
        id: AccountId(r.get("id")?),
        name: r.get("name")?,
        cid: r.get::<_, i64>("cid")? as u64,
        endpoint,
        provhash_sealed: r.get("provhash_sealed")?,
        enabled: r.get("enabled")?,
        time_zone: r.get("time_zone")?,
        sync_interval_secs: r.get("sync_interval_secs")?,
        created_at: parse_utc(&r.get::<_, String>("created_at")?)?,
        last_synced_at: opt_utc(r, "last_synced_at")?,
    })
}

pub fn add(conn: &Connection, a: NewAccount) -> StoreResult<AccountRow> {
    let (region, url) = match &a.endpoint {
        AccountEndpoint::Region(r) => (Some(r.clone()), None),
        AccountEndpoint::Url(u) => (None, Some(u.clone())),
    };
    let res = conn.execute(
        "INSERT INTO accounts (name, cid, region, url, provhash_sealed, time_zone, sync_interval_secs, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![a.name, a.cid as i64, region, url, a.provhash_sealed, a.time_zone, a.sync_interval_secs, utc(a.now)],
    );
    match res {
        Ok(_) => get(conn, &a.name),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict(format!(
                "an account named {:?} already exists",
                a.name
            )))
        }
        Err(e) => Err(backend("add account")(e)),
    }
}

pub fn list(conn: &Connection) -> StoreResult<Vec<AccountRow>> {
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM accounts ORDER BY name"))
        .map_err(backend("list accounts"))?;
    let rows = stmt
        .query_map([], from_row)
        .map_err(backend("list accounts"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend("list accounts"))?;
    Ok(rows)
}

pub fn get(conn: &Connection, name: &str) -> StoreResult<AccountRow> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM accounts WHERE name = ?1"),
        [name],
        from_row,
    )
    .optional()
    .map_err(backend("read account"))?
    .ok_or_else(|| StoreError::NotFound {
        what: "account",
        name: name.to_string(),
    })
}

fn changed(n: usize, name: &str) -> StoreResult<()> {
    if n == 0 {
        Err(StoreError::NotFound {
            what: "account",
            name: name.to_string(),
        })
    } else {
        Ok(())
    }
}

pub fn set_enabled(conn: &Connection, name: &str, enabled: bool) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE accounts SET enabled = ?2 WHERE name = ?1",
            params![name, enabled],
        )
        .map_err(backend("update account"))?;
    changed(n, name)
}

pub fn set_provhash(conn: &Connection, name: &str, sealed: Vec<u8>) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE accounts SET provhash_sealed = ?2 WHERE name = ?1",
            params![name, sealed],
        )
        .map_err(backend("update account"))?;
    changed(n, name)
}

pub fn set_interval(conn: &Connection, name: &str, secs: i64) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE accounts SET sync_interval_secs = ?2 WHERE name = ?1",
            params![name, secs],
        )
        .map_err(backend("update account"))?;
    changed(n, name)
}

pub fn rename(conn: &Connection, name: &str, new_name: &str) -> StoreResult<()> {
    let res = conn.execute(
        "UPDATE accounts SET name = ?2 WHERE name = ?1",
        params![name, new_name],
    );
    match res {
        Ok(n) => changed(n, name),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict(format!(
                "an account named {new_name:?} already exists"
            )))
        }
        Err(e) => Err(backend("rename account")(e)),
    }
}

pub fn remove(conn: &mut Connection, name: &str) -> StoreResult<()> {
    let ctx = "remove account";
    let tx = conn.transaction().map_err(backend(ctx))?;
    let id: Option<i64> = tx
        .query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .map_err(backend(ctx))?;
    let Some(id) = id else {
        return changed(0, name);
    };
    // The bulk tables have no foreign keys (see schema.rs): delete their rows one by one.
    tx.execute(
        "DELETE FROM plan_items WHERE plan_id IN (SELECT id FROM plans WHERE account_id = ?1)",
        [id],
    )
    .map_err(backend(ctx))?;
    tx.execute(
        "DELETE FROM memberships WHERE user_id IN (SELECT id FROM users WHERE account_id = ?1)",
        [id],
    )
    .map_err(backend(ctx))?;
    // Tokens limited to the account go with it: SQLite may give a later account the same id,
    // and such a token must never see that account.
    for table in [
        "api_tokens",
        "scim_users",
        "scim_groups",
        "plans",
        "search",
        "findings",
        "outbox",
        "changes",
        "events",
        "folder_members",
        "folders",
        "groups",
        "users_history",
        "users",
        "sync_runs",
        "expired_passwords",
        "expired_password_reads",
        "account_schedule",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE account_id = ?1"), [id])
            .map_err(backend(ctx))?;
    }
    tx.execute("DELETE FROM accounts WHERE id = ?1", [id])
        .map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))
}

/// Claims the account's scheduled sync when it is due (see `Store::claim_due`).
pub fn claim_due(
    conn: &mut Connection,
    account: AccountId,
    now: &str,
    first_due: &str,
    lease_until: &str,
) -> StoreResult<bool> {
    let ctx = "claim scheduled sync";
    let tx = conn.transaction().map_err(backend(ctx))?;
    tx.execute(
        "INSERT OR IGNORE INTO account_schedule (account_id, next_due_at) VALUES (?1, ?2)",
        params![account.0, first_due],
    )
    .map_err(backend(ctx))?;
    let n = tx
        .execute(
            "UPDATE account_schedule SET next_due_at = ?3 WHERE account_id = ?1 AND next_due_at <= ?2",
            params![account.0, now, lease_until],
        )
        .map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))?;
    Ok(n > 0)
}

/// Sets the account's next due time.
pub fn set_next_due(conn: &Connection, account: AccountId, at: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO account_schedule (account_id, next_due_at) VALUES (?1, ?2)
         ON CONFLICT (account_id) DO UPDATE SET next_due_at = excluded.next_due_at",
        params![account.0, at],
    )
    .map_err(backend("schedule next sync"))?;
    Ok(())
}
