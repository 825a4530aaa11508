//! The sync path: the snapshot index, full records of what changed, and the one transaction
//! that writes a successful run.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use lpgate_domain::{
    AccountStatus, AccountZone, FolderMemberRecord, FolderRecord, UserRecord,
    fingerprint::Fingerprint,
};
use lpgate_store::{
    AccountId, BaselineMsg, Fingerprinted, RunId, RunOutcome, SnapshotIndex, StoreError,
    StoreResult, SyncRunRow, SyncWrite,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::rows::{local, local_secs, opt_local_secs, opt_utc, parse_local, parse_utc, utc};
use crate::{backend, batch, search};

/// Columns shared by `users` and `users_history`, in one order.
pub const USER_COLUMNS: &str = "email, lastpass_id, fullname, status, admin, disabled, never_logged_in, \
    invited_only, mp_strength, total_score, created_local, created_at, last_pw_change_local, \
    last_pw_change_at, last_login_local, last_login_at, duo_username, multifactor, linked, \
    password_reset_required, sites, notes, formfills, applications, attachments";

/// A user's current groups as a JSON array, for a query over `users`.
const GROUPS_JSON: &str =
    "(SELECT json_group_array(group_name) FROM memberships m WHERE m.user_id = users.id)";

pub fn begin_run(conn: &Connection, account: AccountId, now: DateTime<Utc>) -> StoreResult<RunId> {
    // With the account lock held, a run still marked running belongs to a dead process.
    conn.execute(
        "UPDATE sync_runs SET outcome = 'interrupted', finished_at = ?2,
                error = 'the process running this sync stopped before it finished; nothing it fetched was stored'
         WHERE account_id = ?1 AND outcome = 'running'",
        params![account.0, utc(now)],
    )
    .map_err(backend("begin sync run"))?;
    conn.execute(
        "INSERT INTO sync_runs (account_id, started_at, outcome) VALUES (?1, ?2, 'running')",
        params![account.0, utc(now)],
    )
    .map_err(backend("begin sync run"))?;
    Ok(RunId(conn.last_insert_rowid()))
}

pub fn fail_run(
    conn: &Connection,
    run: RunId,
    now: DateTime<Utc>,
    error: &str,
) -> StoreResult<SyncRunRow> {
    conn.execute(
        "UPDATE sync_runs SET outcome = 'failed', finished_at = ?2, error = ?3 WHERE id = ?1",
        params![run.0, utc(now), error],
    )
    .map_err(backend("record failed run"))?;
    get_run(conn, run)
}

const RUN_COLUMNS: &str = "r.id, a.name AS account, r.started_at, r.finished_at, r.outcome, r.error, \
                           r.users, r.groups_count, r.folders, r.events, r.changes";

fn run_from_row(r: &Row) -> rusqlite::Result<SyncRunRow> {
    let outcome: String = r.get("outcome")?;
    Ok(SyncRunRow {
        id: RunId(r.get("id")?),
        account: r.get("account")?,
        started_at: parse_utc(&r.get::<_, String>("started_at")?)?,
        finished_at: opt_utc(r, "finished_at")?,
        outcome: RunOutcome::parse(&outcome).unwrap_or(RunOutcome::Failed),
        error: r.get("error")?,
        users: r.get("users")?,
        groups: r.get("groups_count")?,
        folders: r.get("folders")?,
        events: r.get("events")?,
        changes: r.get("changes")?,
    })
}

pub fn get_run(conn: &Connection, run: RunId) -> StoreResult<SyncRunRow> {
    conn.query_row(
        &format!("SELECT {RUN_COLUMNS} FROM sync_runs r JOIN accounts a ON a.id = r.account_id WHERE r.id = ?1"),
        [run.0],
        run_from_row,
    )
    .optional()
    .map_err(backend("read sync run"))?
    .ok_or_else(|| StoreError::NotFound {
        what: "sync run",
        name: run.0.to_string(),
    })
}

pub fn list_runs(
    conn: &Connection,
    account: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<SyncRunRow>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs r JOIN accounts a ON a.id = r.account_id
             WHERE (?1 IS NULL OR a.name = ?1) ORDER BY r.id DESC LIMIT ?2"
        ))
        .map_err(backend("list sync runs"))?;
    stmt.query_map(params![account, limit as i64], run_from_row)
        .map_err(backend("list sync runs"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend("list sync runs"))
}

pub fn run_by_id(conn: &Connection, id: i64) -> StoreResult<SyncRunRow> {
    conn.query_row(
        &format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs r JOIN accounts a ON a.id = r.account_id
             WHERE r.id = ?1"
        ),
        [id],
        run_from_row,
    )
    .optional()
    .map_err(backend("read sync run"))?
    .ok_or_else(|| lpgate_store::StoreError::NotFound {
        what: "sync run",
        name: id.to_string(),
    })
}

pub fn event_watermark(
    conn: &Connection,
    account: AccountId,
) -> StoreResult<Option<chrono::NaiveDateTime>> {
    let ctx = "read event watermark";
    let w: Option<String> = conn
        .query_row(
            "SELECT event_watermark FROM accounts WHERE id = ?1",
            [account.0],
            |r| r.get(0),
        )
        .map_err(backend(ctx))?;
    w.as_deref()
        .map(parse_local)
        .transpose()
        .map_err(backend(ctx))
}

/// The account's current group names.
pub fn group_names(
    conn: &Connection,
    account: AccountId,
) -> StoreResult<std::collections::BTreeSet<String>> {
    let ctx = "read group names";
    let mut stmt = conn
        .prepare_cached("SELECT name FROM groups WHERE account_id = ?1")
        .map_err(backend(ctx))?;
    stmt.query_map([account.0], |r| r.get::<_, String>(0))
        .map_err(backend(ctx))?
        .collect::<Result<_, _>>()
        .map_err(backend(ctx))
}

pub fn snapshot_index(conn: &Connection, account: AccountId) -> StoreResult<SnapshotIndex> {
    let ctx = "read snapshot index";
    let (has_snapshot, watermark): (bool, Option<String>) = conn
        .query_row(
            "SELECT has_snapshot, event_watermark FROM accounts WHERE id = ?1",
            [account.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(backend(ctx))?;
    let mut index = SnapshotIndex {
        has_snapshot,
        event_watermark: watermark
            .as_deref()
            .map(parse_local)
            .transpose()
            .map_err(backend(ctx))?,
        ..SnapshotIndex::default()
    };
    let mut stmt = conn
        .prepare("SELECT email, fingerprint, status FROM users WHERE account_id = ?1")
        .map_err(backend(ctx))?;
    let mut rows = stmt.query([account.0]).map_err(backend(ctx))?;
    while let Some(r) = rows.next().map_err(backend(ctx))? {
        let email: String = r.get(0).map_err(backend(ctx))?;
        let status: String = r.get(2).map_err(backend(ctx))?;
        if status == AccountStatus::Deprovisioned.as_str() {
            index.deprovisioned.insert(email);
        } else {
            index.users.insert(email, r.get(1).map_err(backend(ctx))?);
        }
    }
    let mut stmt = conn
        .prepare("SELECT id, fingerprint FROM folders WHERE account_id = ?1")
        .map_err(backend(ctx))?;
    let mut rows = stmt.query([account.0]).map_err(backend(ctx))?;
    while let Some(r) = rows.next().map_err(backend(ctx))? {
        index.folders.insert(
            r.get(0).map_err(backend(ctx))?,
            r.get(1).map_err(backend(ctx))?,
        );
    }
    let mut stmt = conn
        .prepare("SELECT name FROM groups WHERE account_id = ?1")
        .map_err(backend(ctx))?;
    index.groups = stmt
        .query_map([account.0], |r| r.get(0))
        .map_err(backend(ctx))?
        .collect::<Result<BTreeSet<String>, _>>()
        .map_err(backend(ctx))?;
    Ok(index)
}

/// Decodes a `users` / `users_history` row (with a `groups_json` column) into a record.
pub fn user_from_row(r: &Row) -> rusqlite::Result<UserRecord> {
    let status: String = r.get("status")?;
    let groups: String = r.get("groups_json")?;
    let mut groups: Vec<String> = serde_json::from_str(&groups).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    groups.sort();
    Ok(UserRecord {
        email: r.get("email")?,
        lastpass_id: r.get("lastpass_id")?,
        fullname: r.get("fullname")?,
        status: status.parse().unwrap_or(AccountStatus::Active),
        admin: r.get("admin")?,
        disabled: r.get("disabled")?,
        never_logged_in: r.get("never_logged_in")?,
        invited_only: r.get("invited_only")?,
        mp_strength: r.get("mp_strength")?,
        total_score: r.get("total_score")?,
        created: opt_local_secs(r, "created_local")?,
        last_pw_change: opt_local_secs(r, "last_pw_change_local")?,
        last_login: opt_local_secs(r, "last_login_local")?,
        duo_username: r.get("duo_username")?,
        multifactor: r.get("multifactor")?,
        linked: r.get("linked")?,
        password_reset_required: r.get("password_reset_required")?,
        sites: r.get("sites")?,
        notes: r.get("notes")?,
        formfills: r.get("formfills")?,
        applications: r.get("applications")?,
        attachments: r.get("attachments")?,
        groups,
    })
}

pub fn load_users(
    conn: &Connection,
    account: AccountId,
    emails: &[String],
) -> StoreResult<Vec<UserRecord>> {
    let ctx = "load users";
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, {GROUPS_JSON} AS groups_json FROM users
             WHERE account_id = ?1 AND email = ?2"
        ))
        .map_err(backend(ctx))?;
    let mut out = Vec::with_capacity(emails.len());
    for e in emails {
        if let Some(u) = stmt
            .query_row(params![account.0, e], user_from_row)
            .optional()
            .map_err(backend(ctx))?
        {
            out.push(u);
        }
    }
    Ok(out)
}

pub fn load_folders(
    conn: &Connection,
    account: AccountId,
    ids: &[String],
) -> StoreResult<Vec<FolderRecord>> {
    let ctx = "load folders";
    let mut folder = conn
        .prepare_cached(
            "SELECT id, name, deleted, score FROM folders WHERE account_id = ?1 AND id = ?2",
        )
        .map_err(backend(ctx))?;
    let mut members = conn
        .prepare_cached(
            "SELECT email, readonly, give, can_administer, superadmin FROM folder_members
             WHERE account_id = ?1 AND folder_id = ?2 ORDER BY email",
        )
        .map_err(backend(ctx))?;
    let mut out = Vec::new();
    for id in ids {
        let Some(mut f) = folder
            .query_row(params![account.0, id], |r| {
                Ok(FolderRecord {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    deleted: r.get(2)?,
                    score: r.get(3)?,
                    members: Vec::new(),
                })
            })
            .optional()
            .map_err(backend(ctx))?
        else {
            continue;
        };
        f.members = members
            .query_map(params![account.0, id], |r| {
                Ok(FolderMemberRecord {
                    email: r.get(0)?,
                    readonly: r.get(1)?,
                    give: r.get(2)?,
                    can_administer: r.get(3)?,
                    superadmin: r.get(4)?,
                })
            })
            .map_err(backend(ctx))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend(ctx))?;
        out.push(f);
    }
    Ok(out)
}

/// A group's stable id: LastPass has none, so one is derived from account and name.
pub fn group_id(account: AccountId, name: &str) -> String {
    let mut f = Fingerprint::default();
    f.u64(account.0 as u64).str(name);
    format!("g{:016x}", f.finish() as u64)
}

pub fn commit(conn: &mut Connection, w: SyncWrite) -> StoreResult<SyncRunRow> {
    let ctx = "write sync";
    let t0 = std::time::Instant::now();
    let tx = conn.transaction().map_err(backend(ctx))?;
    apply(&tx, &w, Early::default(), MemberDelta::default()).map_err(backend(ctx))?;
    tx.commit().map_err(backend(ctx))?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        "sync transaction committed"
    );
    get_run(conn, w.run)
}

/// Writes an account's first snapshot from a stream of user batches, then the rest, in one
/// transaction; a closed channel before `Finish` rolls everything back.
pub fn baseline(
    conn: &mut Connection,
    account: AccountId,
    zone: AccountZone,
    now: DateTime<Utc>,
    rx: std::sync::mpsc::Receiver<BaselineMsg>,
) -> StoreResult<SyncRunRow> {
    let ctx = "write first snapshot";
    let tx = conn.transaction().map_err(backend(ctx))?;
    let has_snapshot: bool = tx
        .query_row(
            "SELECT has_snapshot FROM accounts WHERE id = ?1",
            [account.0],
            |r| r.get(0),
        )
        .map_err(backend(ctx))?;
    if has_snapshot {
        return Err(StoreError::Conflict(
            "the account already has a snapshot; a first-snapshot write was refused".into(),
        ));
    }
    let now_text = utc(now);
    let t0 = std::time::Instant::now();
    let mut busy = std::time::Duration::ZERO;
    let (mut folders_time, mut events_time) = (busy, busy);
    let spent = Freer::start();
    let mut early = Early::default();
    let mut members = MemberDelta::default();
    loop {
        match rx.recv() {
            Ok(BaselineMsg::Users(batch)) => {
                let t = std::time::Instant::now();
                write_users(&tx, account.0, zone, &batch, &now_text, false, &mut members)
                    .map_err(backend(ctx))?;
                busy += t.elapsed();
                spent.free(batch);
            }
            Ok(BaselineMsg::Folders(folders)) => {
                let t = std::time::Instant::now();
                write_folders(&tx, account.0, &folders, &[], &now_text, false)
                    .map_err(backend(ctx))?;
                folders_time = t.elapsed();
            }
            Ok(BaselineMsg::Events(events)) => {
                let t = std::time::Instant::now();
                early.events +=
                    write_events(&tx, account.0, zone, &events).map_err(backend(ctx))?;
                early.watermark = early.watermark.max(latest_event(&events));
                events_time = t.elapsed();
            }
            Ok(BaselineMsg::Finish(w)) => {
                let waited = t0.elapsed();
                apply(&tx, &w, early, members).map_err(backend(ctx))?;
                let applied = t0.elapsed();
                tx.commit().map_err(backend(ctx))?;
                tracing::debug!(
                    users_ms = busy.as_millis() as u64,
                    folders_ms = folders_time.as_millis() as u64,
                    events_ms = events_time.as_millis() as u64,
                    finish_at_ms = waited.as_millis() as u64,
                    applied_at_ms = applied.as_millis() as u64,
                    committed_at_ms = t0.elapsed().as_millis() as u64,
                    "first snapshot written"
                );
                return get_run(conn, w.run);
            }
            Err(_) => {
                return Err(StoreError::Backend {
                    context: ctx,
                    message:
                        "the sync stopped before the snapshot was complete; nothing was written"
                            .into(),
                });
            }
        }
    }
}

/// Frees written batches of users on a thread of its own. Freeing a 100,000-user first
/// snapshot's batches took the writer 21-27 ms, and the writer is what a first sync waits
/// for, while the other threads are done reading before it is. Without that thread (it could
/// not start), batches are freed where they are written.
struct Freer(Option<std::sync::mpsc::Sender<Vec<Fingerprinted<UserRecord>>>>);

impl Freer {
    fn start() -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<Fingerprinted<UserRecord>>>();
        let started = std::thread::Builder::new()
            .name("lpgate-freer".into())
            .spawn(move || rx.into_iter().for_each(drop));
        Freer(started.ok().map(|_| tx))
    }

    fn free(&self, batch: Vec<Fingerprinted<UserRecord>>) {
        if let Some(tx) = &self.0 {
            // A closed channel hands the batch back, and it is freed here.
            let _ = tx.send(batch);
        }
    }
}

/// What a first snapshot wrote before its `Finish`, for the run record and the watermark.
#[derive(Default, Clone, Copy)]
struct Early {
    events: i64,
    watermark: Option<chrono::NaiveDateTime>,
}

/// The newest event's (LastPass wall-clock) time.
fn latest_event(events: &[lpgate_store::EventRecord]) -> Option<chrono::NaiveDateTime> {
    events.iter().map(|e| e.time).max()
}

/// How each group's member count moves in this transaction, gathered while memberships are
/// written and added to `groups.members` once the groups are: the Groups page and the
/// `groups` view then read a count instead of counting every membership of the account
/// (hundreds of milliseconds at 100,000 users). Hashed with foldhash: a first sync adds
/// about 205,000 memberships, and SipHash was a visible part of the writer's time.
#[derive(Default)]
struct MemberDelta(HashMap<String, i64, foldhash::fast::RandomState>);

impl MemberDelta {
    fn add(&mut self, group: &str, by: i64) {
        match self.0.get_mut(group) {
            Some(n) => *n += by,
            None => {
                self.0.insert(group.to_string(), by);
            }
        }
    }
}

/// Everything a successful sync writes, inside the caller's transaction; `early` and
/// `members` are what a first snapshot already wrote.
fn apply(
    tx: &Transaction,
    w: &SyncWrite,
    early: Early,
    mut members: MemberDelta,
) -> rusqlite::Result<()> {
    let now = utc(w.now);
    let acct = w.account.0;
    let (has_snapshot, previous_sync): (bool, Option<String>) = tx.query_row(
        "SELECT has_snapshot, last_synced_at FROM accounts WHERE id = ?1",
        [acct],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    write_users(
        tx,
        acct,
        w.zone,
        &w.upsert_users,
        &now,
        has_snapshot,
        &mut members,
    )?;
    deprovision(tx, w, &now, previous_sync.as_deref(), &mut members)?;
    write_groups(tx, w, &now, has_snapshot, &members)?;
    write_folders(
        tx,
        acct,
        &w.upsert_folders,
        &w.remove_folders,
        &now,
        has_snapshot,
    )?;
    let events = early.events + write_events(tx, acct, w.zone, &w.events)?;
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO changes (account_id, run_id, at, kind, subject, related, before, after)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for c in &w.changes {
            ins.execute(params![
                acct,
                w.run.0,
                now,
                c.kind.as_str(),
                c.subject,
                c.related,
                c.before,
                c.after
            ])?;
        }
    }
    crate::watch::insert_notifications(tx, &w.notifications, &now)?;
    if let Some(items) = &w.expired_passwords {
        crate::expired::replace(tx, w.account, items, w.now)?;
    }
    if has_snapshot {
        let ready: bool = tx.query_row(
            "SELECT search_ready FROM accounts WHERE id = ?1",
            [acct],
            |r| r.get(0),
        )?;
        if !ready {
            search::rebuild(tx, acct)?;
        }
    }
    let watermark = latest_event(&w.events)
        .max(early.watermark)
        .map(|t| local(Some(t)));
    tx.execute(
        "UPDATE accounts SET last_synced_at = ?2, has_snapshot = 1,
                event_watermark = CASE WHEN ?3 IS NOT NULL AND (event_watermark IS NULL OR ?3 > event_watermark)
                                       THEN ?3 ELSE event_watermark END
         WHERE id = ?1",
        params![acct, now, watermark.flatten()],
    )?;
    tx.execute(
        "UPDATE sync_runs SET outcome = 'succeeded', finished_at = ?2, users = ?3, groups_count = ?4,
                folders = ?5, events = ?6, changes = ?7 WHERE id = ?1",
        params![
            w.run.0,
            now,
            w.users_fetched,
            w.groups.len() as i64,
            w.folders_fetched,
            events,
            w.changes.len() as i64
        ],
    )?;
    Ok(())
}

/// Keeps the user's current version, with its groups, as a past one ending `now`: called
/// before the user's row and memberships change.
/// Closes the stored state of a user about to be rewritten into its history row; returns the
/// stored full name (`None` for a user not stored yet), which decides whether the search
/// index needs the user again.
fn history_copy(
    tx: &Transaction,
    acct: i64,
    email: &str,
    now: &str,
) -> rusqlite::Result<Option<String>> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO users_history (account_id, {USER_COLUMNS}, groups_json, valid_from, valid_to)
         SELECT account_id, {USER_COLUMNS}, {GROUPS_JSON}, valid_from, ?3 FROM users
         WHERE account_id = ?1 AND email = ?2
         RETURNING fullname"
    ))?;
    stmt.query_row(params![acct, email, now], |r| r.get(0))
        .optional()
}

/// The `users` columns after `account_id` that a write sets, in `USER_COLUMNS` order
/// (without `groups_json`) followed by fingerprint and times.
const USER_VALUES: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
                           ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, NULL, ?28";

fn write_users(
    tx: &Transaction,
    acct: i64,
    zone: AccountZone,
    users: &[Fingerprinted<UserRecord>],
    now: &str,
    has_snapshot: bool,
    members: &mut MemberDelta,
) -> rusqlite::Result<()> {
    // A first snapshot only inserts, outside the sort indexes (`sorted = 0`: see migration 12);
    // later syncs upsert and replace the user's memberships.
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO users (account_id, {USER_COLUMNS}, fingerprint, first_seen, last_seen, valid_from, sorted)
         VALUES ({USER_VALUES}, 0)"
    ))?;
    let mut upsert = tx.prepare_cached(&format!(
        "INSERT INTO users (account_id, {USER_COLUMNS}, fingerprint, first_seen, last_seen, valid_from)
         VALUES ({USER_VALUES})
         ON CONFLICT (account_id, email) DO UPDATE SET
            lastpass_id = excluded.lastpass_id, fullname = excluded.fullname, status = excluded.status,
            admin = excluded.admin, disabled = excluded.disabled, never_logged_in = excluded.never_logged_in,
            invited_only = excluded.invited_only, mp_strength = excluded.mp_strength,
            total_score = excluded.total_score, created_local = excluded.created_local,
            created_at = excluded.created_at, last_pw_change_local = excluded.last_pw_change_local,
            last_pw_change_at = excluded.last_pw_change_at, last_login_local = excluded.last_login_local,
            last_login_at = excluded.last_login_at, duo_username = excluded.duo_username,
            multifactor = excluded.multifactor, linked = excluded.linked,
            password_reset_required = excluded.password_reset_required, sites = excluded.sites,
            notes = excluded.notes, formfills = excluded.formfills, applications = excluded.applications,
            attachments = excluded.attachments, fingerprint = excluded.fingerprint, last_seen = NULL,
            valid_from = excluded.valid_from
         RETURNING id"
    ))?;
    let mut clear_members =
        tx.prepare_cached("DELETE FROM memberships WHERE user_id = ?1 RETURNING group_name")?;
    // Written after the batch's users, 16 to a statement (each user's own were one statement).
    let mut memberships: Vec<(i64, &str)> = Vec::with_capacity(users.len() * 3);
    let at = |t: Option<chrono::NaiveDateTime>| t.map(|t| zone.to_utc(t).timestamp());
    for v in users {
        let u = &v.record;
        let stored_name = if has_snapshot {
            history_copy(tx, acct, &u.email, now)?
        } else {
            None
        };
        let values = params![
            acct,
            u.email,
            u.lastpass_id,
            u.fullname,
            u.status.as_str(),
            u.admin,
            u.disabled,
            u.never_logged_in,
            u.invited_only,
            u.mp_strength,
            u.total_score,
            local_secs(u.created),
            at(u.created),
            local_secs(u.last_pw_change),
            at(u.last_pw_change),
            local_secs(u.last_login),
            at(u.last_login),
            u.duo_username,
            u.multifactor,
            u.linked,
            u.password_reset_required,
            u.sites,
            u.notes,
            u.formfills,
            u.applications,
            u.attachments,
            v.fingerprint,
            now,
        ];
        let id: i64 = if has_snapshot {
            let id = upsert.query_row(values, |r| r.get(0))?;
            let mut old = clear_members.query([id])?;
            while let Some(r) = old.next()? {
                members.add(r.get_ref(0)?.as_str()?, -1);
            }
            // The search row holds the name and the address (the key, so unchanged): a user
            // whose name did not change keeps it. Most changes are logins, MFA or groups, and
            // re-indexing every changed user was half of a 1,000-user change's commit.
            if stored_name.as_deref() != Some(u.fullname.as_str()) {
                search::put_user(tx, id, acct, &u.email, &u.fullname)?;
            }
            id
        } else {
            insert.execute(values)?;
            tx.last_insert_rowid()
        };
        count_memberships(&u.groups, members);
        memberships.extend(u.groups.iter().map(|g| (id, g.as_str())));
    }
    // Repeated names make one membership (INSERT OR IGNORE).
    batch::insert_rows(
        tx,
        "INSERT OR IGNORE INTO memberships (user_id, group_name)",
        2,
        &memberships,
        |s, at, (user, group)| {
            s.raw_bind_parameter(at, user)?;
            s.raw_bind_parameter(at + 1, group)
        },
    )?;
    Ok(())
}

/// Counts a user's memberships into `members`, each group once.
fn count_memberships(groups: &[String], members: &mut MemberDelta) {
    if groups.is_sorted_by(|a, b| a < b) {
        for g in groups {
            members.add(g, 1);
        }
    } else {
        // Repeated names make one membership: count each once.
        let mut distinct: Vec<&String> = groups.iter().collect();
        distinct.sort();
        distinct.dedup();
        for g in distinct {
            members.add(g, 1);
        }
    }
}

fn deprovision(
    tx: &Transaction,
    w: &SyncWrite,
    now: &str,
    previous_sync: Option<&str>,
    members: &mut MemberDelta,
) -> rusqlite::Result<()> {
    let acct = w.account.0;
    let mut update = tx.prepare_cached(
        "UPDATE users SET status = 'deprovisioned', last_seen = ?3, valid_from = ?4, fingerprint = 0
         WHERE account_id = ?1 AND email = ?2
         RETURNING id",
    )?;
    let mut clear_members =
        tx.prepare_cached("DELETE FROM memberships WHERE user_id = ?1 RETURNING group_name")?;
    for email in &w.deprovision {
        history_copy(tx, acct, email, now)?;
        let id: Option<i64> = update
            .query_row(
                params![acct, email, previous_sync.unwrap_or(now), now],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = id {
            let mut old = clear_members.query([id])?;
            while let Some(r) = old.next()? {
                members.add(r.get_ref(0)?.as_str()?, -1);
            }
        }
    }
    Ok(())
}

fn write_groups(
    tx: &Transaction,
    w: &SyncWrite,
    now: &str,
    has_snapshot: bool,
    members: &MemberDelta,
) -> rusqlite::Result<()> {
    let acct = w.account.0;
    let existing: BTreeSet<String> = {
        let mut stmt = tx.prepare_cached("SELECT name FROM groups WHERE account_id = ?1")?;
        stmt.query_map([acct], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut del =
        tx.prepare_cached("DELETE FROM groups WHERE account_id = ?1 AND name = ?2 RETURNING rid")?;
    for gone in existing.difference(&w.groups) {
        let rid: i64 = del.query_row(params![acct, gone], |r| r.get(0))?;
        search::remove_group(tx, rid)?;
    }
    let mut ins = tx.prepare_cached(
        "INSERT INTO groups (account_id, name, id, first_seen) VALUES (?1, ?2, ?3, ?4) RETURNING rid",
    )?;
    for new in w.groups.difference(&existing) {
        let rid: i64 = ins.query_row(params![acct, new, group_id(w.account, new), now], |r| {
            r.get(0)
        })?;
        if has_snapshot {
            search::put_group(tx, rid, acct, new)?;
        }
    }
    let mut count = tx.prepare_cached(
        "UPDATE groups SET members = members + ?3 WHERE account_id = ?1 AND name = ?2",
    )?;
    for (name, by) in &members.0 {
        if *by != 0 {
            count.execute(params![acct, name, by])?;
        }
    }
    Ok(())
}

/// A folder's members and administrators as `folder_members` will hold them: one row per
/// email, the last listing of an email winning (`INSERT OR REPLACE`). Kept on the folder so
/// listing 5,000 folders reads two numbers each instead of grouping every membership.
fn member_counts(members: &[FolderMemberRecord]) -> (i64, i64) {
    let mut last: HashMap<&str, bool> = HashMap::with_capacity(members.len());
    for m in members {
        last.insert(m.email.as_str(), m.can_administer);
    }
    let administrators = last.values().filter(|a| **a).count();
    (last.len() as i64, administrators as i64)
}

fn write_folders(
    tx: &Transaction,
    acct: i64,
    upsert: &[Fingerprinted<FolderRecord>],
    remove: &[String],
    now: &str,
    has_snapshot: bool,
) -> rusqlite::Result<()> {
    let mut del_members =
        tx.prepare_cached("DELETE FROM folder_members WHERE account_id = ?1 AND folder_id = ?2")?;
    let mut del_folder =
        tx.prepare_cached("DELETE FROM folders WHERE account_id = ?1 AND id = ?2 RETURNING rid")?;
    for id in remove {
        del_members.execute(params![acct, id])?;
        let rid: Option<i64> = del_folder
            .query_row(params![acct, id], |r| r.get(0))
            .optional()?;
        if let Some(rid) = rid {
            search::remove_folder(tx, rid)?;
        }
    }
    let mut upsert_folder = tx.prepare_cached(
        "INSERT INTO folders (account_id, id, name, deleted, score, fingerprint, first_seen,
                              members, administrators)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name, deleted = excluded.deleted,
            score = excluded.score, fingerprint = excluded.fingerprint,
            members = excluded.members, administrators = excluded.administrators
         RETURNING rid",
    )?;
    // Members are written after the folders, 16 to a statement, one row per email.
    let mut rows: Vec<(&str, &FolderMemberRecord)> = Vec::new();
    for v in upsert {
        let f = &v.record;
        if has_snapshot {
            del_members.execute(params![acct, f.id])?;
        }
        let (members, administrators) = member_counts(&f.members);
        let rid: i64 = upsert_folder.query_row(
            params![
                acct,
                f.id,
                f.name,
                f.deleted,
                f.score,
                v.fingerprint,
                now,
                members,
                administrators
            ],
            |r| r.get(0),
        )?;
        if has_snapshot {
            search::put_folder(tx, rid, acct, &f.id, &f.name)?;
        }
        rows.extend(
            last_per_email(&f.members)
                .into_iter()
                .map(|m| (f.id.as_str(), m)),
        );
    }
    batch::insert_rows(
        tx,
        "INSERT OR IGNORE INTO folder_members
         (account_id, folder_id, email, readonly, give, can_administer, superadmin)",
        7,
        &rows,
        |s, at, (folder, m)| {
            s.raw_bind_parameter(at, acct)?;
            s.raw_bind_parameter(at + 1, folder)?;
            s.raw_bind_parameter(at + 2, &m.email)?;
            s.raw_bind_parameter(at + 3, m.readonly)?;
            s.raw_bind_parameter(at + 4, m.give)?;
            s.raw_bind_parameter(at + 5, m.can_administer)?;
            s.raw_bind_parameter(at + 6, m.superadmin)
        },
    )?;
    Ok(())
}

/// A folder's members one per email, the last listing of an email winning (as
/// `member_counts` counts them). Normalized records are already sorted by email without
/// repeats, and pass through as they are.
fn last_per_email(members: &[FolderMemberRecord]) -> Vec<&FolderMemberRecord> {
    if members.is_sorted_by(|a, b| a.email < b.email) {
        return members.iter().collect();
    }
    let mut by_email = std::collections::BTreeMap::new();
    for m in members {
        by_email.insert(m.email.as_str(), m);
    }
    by_email.into_values().collect()
}

fn write_events(
    tx: &Transaction,
    acct: i64,
    zone: AccountZone,
    events: &[lpgate_store::EventRecord],
) -> rusqlite::Result<i64> {
    let mut keys = lpgate_store::EventKeys::default();
    let rows: Vec<(Option<String>, String, i64, &lpgate_store::EventRecord)> = events
        .iter()
        .map(|e| {
            let time = local(Some(e.time));
            let fp = keys.next(time.as_deref(), e);
            (time, utc(zone.to_utc(e.time)), fp, e)
        })
        .collect();
    let inserted = batch::insert_rows(
        tx,
        "INSERT OR IGNORE INTO events
         (account_id, time_local, time_at, username, ip_address, action, data, fp)",
        8,
        &rows,
        |s, at, (time, time_at, fp, e)| {
            s.raw_bind_parameter(at, acct)?;
            s.raw_bind_parameter(at + 1, time)?;
            s.raw_bind_parameter(at + 2, time_at)?;
            s.raw_bind_parameter(at + 3, &e.username)?;
            s.raw_bind_parameter(at + 4, &e.ip_address)?;
            s.raw_bind_parameter(at + 5, &e.action)?;
            s.raw_bind_parameter(at + 6, &e.data)?;
            s.raw_bind_parameter(at + 7, fp)
        },
    )?;
    Ok(inserted as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(email: &str, admin: bool) -> FolderMemberRecord {
        FolderMemberRecord {
            email: email.into(),
            readonly: false,
            give: true,
            can_administer: admin,
            superadmin: false,
        }
    }

    #[test]
    fn a_folder_member_listed_twice_is_written_once_as_last_listed() {
        let sorted = [member("a@x.com", false), member("b@x.com", true)];
        let got: Vec<&str> = last_per_email(&sorted)
            .iter()
            .map(|m| m.email.as_str())
            .collect();
        assert_eq!(got, ["a@x.com", "b@x.com"]);

        let repeated = [
            member("b@x.com", true),
            member("a@x.com", false),
            member("b@x.com", false),
        ];
        let got = last_per_email(&repeated);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].email, "b@x.com");
        assert!(!got[1].can_administer, "the last listing wins");
        // The counts kept on the folder agree with the rows written.
        assert_eq!(member_counts(&repeated), (2, 0));
    }
}
