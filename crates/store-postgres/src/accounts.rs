//! Account rows.

use lpgate_store::{AccountEndpoint, AccountId, AccountRow, NewAccount, StoreError, StoreResult};
use tokio_postgres::{GenericClient, Row};

use crate::rows::{opt_utc, parse_utc, utc};
use crate::{backend, is_unique_violation};

const COLUMNS: &str = "id, name, cid, region, url, provhash_sealed, enabled, time_zone, \
                       sync_interval_secs, created_at, last_synced_at";

fn from_row(r: &Row) -> StoreResult<AccountRow> {
    let region: Option<String> = r.get("region");
    let url: Option<String> = r.get("url");
    let endpoint = match (region, url) {
        (_, Some(u)) => AccountEndpoint::Url(u),
        (Some(reg), None) => AccountEndpoint::Region(reg),
        (None, None) => AccountEndpoint::Region("us".into()),
    };
    Ok(AccountRow {
        id: AccountId(r.get("id")),
        name: r.get("name"),
        cid: r.get::<_, i64>("cid") as u64,
        endpoint,
        provhash_sealed: r.get("provhash_sealed"),
        enabled: r.get("enabled"),
        time_zone: r.get("time_zone"),
        sync_interval_secs: r.get("sync_interval_secs"),
        created_at: parse_utc(r.get("created_at"))?,
        last_synced_at: opt_utc(r.get("last_synced_at"))?,
    })
}

pub async fn add<C: GenericClient>(c: &C, a: NewAccount) -> StoreResult<AccountRow> {
    let (region, url) = match &a.endpoint {
        AccountEndpoint::Region(r) => (Some(r.clone()), None),
        AccountEndpoint::Url(u) => (None, Some(u.clone())),
    };
    let res = c
        .execute(
            "INSERT INTO accounts (name, cid, region, url, provhash_sealed, time_zone, sync_interval_secs, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&a.name, &(a.cid as i64), &region, &url, &a.provhash_sealed, &a.time_zone, &a.sync_interval_secs, &utc(a.now)],
        )
        .await;
    match res {
        Ok(_) => get(c, &a.name).await,
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "an account named {:?} already exists",
            a.name
        ))),
        Err(e) => Err(backend("add account")(e)),
    }
}

pub async fn list<C: GenericClient>(c: &C) -> StoreResult<Vec<AccountRow>> {
    c.query(
        &format!("SELECT {COLUMNS} FROM accounts ORDER BY name"),
        &[],
    )
    .await
    .map_err(backend("list accounts"))?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn get<C: GenericClient>(c: &C, name: &str) -> StoreResult<AccountRow> {
    let row = c
        .query_opt(
            &format!("SELECT {COLUMNS} FROM accounts WHERE name = $1"),
            &[&name],
        )
        .await
        .map_err(backend("read account"))?;
    match row {
        Some(r) => from_row(&r),
        None => Err(StoreError::NotFound {
            what: "account",
            name: name.to_string(),
        }),
    }
}

fn changed(n: u64, name: &str) -> StoreResult<()> {
    if n == 0 {
        Err(StoreError::NotFound {
            what: "account",
            name: name.to_string(),
        })
    } else {
        Ok(())
    }
}

pub async fn set_enabled<C: GenericClient>(c: &C, name: &str, enabled: bool) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE accounts SET enabled = $2 WHERE name = $1",
            &[&name, &enabled],
        )
        .await
        .map_err(backend("update account"))?;
    changed(n, name)
}

pub async fn set_provhash<C: GenericClient>(c: &C, name: &str, sealed: Vec<u8>) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE accounts SET provhash_sealed = $2 WHERE name = $1",
            &[&name, &sealed],
        )
        .await
        .map_err(backend("update account"))?;
    changed(n, name)
}

pub async fn set_interval<C: GenericClient>(c: &C, name: &str, secs: i64) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE accounts SET sync_interval_secs = $2 WHERE name = $1",
            &[&name, &secs],
        )
        .await
        .map_err(backend("update account"))?;
    changed(n, name)
}

pub async fn rename<C: GenericClient>(c: &C, name: &str, new_name: &str) -> StoreResult<()> {
    let res = c
        .execute(
            "UPDATE accounts SET name = $2 WHERE name = $1",
            &[&name, &new_name],
        )
        .await;
    match res {
        Ok(n) => changed(n, name),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "an account named {new_name:?} already exists"
        ))),
        Err(e) => Err(backend("rename account")(e)),
    }
}

pub async fn remove(tx: &tokio_postgres::Transaction<'_>, name: &str) -> StoreResult<()> {
    let ctx = "remove account";
    let id: Option<i64> = tx
        .query_opt("SELECT id FROM accounts WHERE name = $1", &[&name])
        .await
        .map_err(backend(ctx))?
        .map(|r| r.get(0));
    let Some(id) = id else {
        return changed(0, name);
    };
    tx.execute(
        "DELETE FROM plan_items WHERE plan_id IN (SELECT id FROM plans WHERE account_id = $1)",
        &[&id],
    )
    .await
    .map_err(backend(ctx))?;
    tx.execute(
        "DELETE FROM memberships WHERE user_id IN (SELECT id FROM users WHERE account_id = $1)",
        &[&id],
    )
    .await
    .map_err(backend(ctx))?;
    for table in [
        "api_tokens",
        "scim_users",
        "scim_groups",
        "plans",
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
        tx.execute(
            &format!("DELETE FROM {table} WHERE account_id = $1"),
            &[&id],
        )
        .await
        .map_err(backend(ctx))?;
    }
    tx.execute("DELETE FROM accounts WHERE id = $1", &[&id])
        .await
        .map_err(backend(ctx))?;
    Ok(())
}

/// Claims the account's scheduled sync when it is due (see `Store::claim_due`): the row is
/// locked with SKIP LOCKED, so of two workers asking at once one claims it and the other
/// finds nothing to claim.
pub async fn claim_due(
    tx: &tokio_postgres::Transaction<'_>,
    account: AccountId,
    now: &str,
    first_due: &str,
    lease_until: &str,
) -> StoreResult<bool> {
    let ctx = "claim scheduled sync";
    tx.execute(
        "INSERT INTO account_schedule (account_id, next_due_at) VALUES ($1, $2)
         ON CONFLICT (account_id) DO NOTHING",
        &[&account.0, &first_due],
    )
    .await
    .map_err(backend(ctx))?;
    let n = tx
        .execute(
            "UPDATE account_schedule SET next_due_at = $3
             WHERE account_id = (SELECT account_id FROM account_schedule
                                 WHERE account_id = $1 AND next_due_at <= $2
                                 FOR UPDATE SKIP LOCKED)",
            &[&account.0, &now, &lease_until],
        )
        .await
        .map_err(backend(ctx))?;
    Ok(n > 0)
}

/// Sets the account's next due time.
pub async fn set_next_due<C: GenericClient>(
    c: &C,
    account: AccountId,
    at: &str,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO account_schedule (account_id, next_due_at) VALUES ($1, $2)
         ON CONFLICT (account_id) DO UPDATE SET next_due_at = excluded.next_due_at",
        &[&account.0, &at],
    )
    .await
    .map_err(backend("schedule next sync"))?;
    Ok(())
}
