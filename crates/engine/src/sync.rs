//! One sync run of one account.
//!
//! fetch (users, folders, events and the stored snapshot's fingerprints, concurrently) →
//! normalize → compare fingerprints → load the old records of what changed → domain diff →
//! one transaction. A failure anywhere before the commit records a failed run and leaves the
//! previous snapshot as it was; a process killed mid-run leaves it as it was too, because the
//! snapshot only changes in that one transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lpgate_domain::{
    AccountStatus, AccountZone, Change, ChangeKind, FolderRecord, UserRecord, diff_folder,
    diff_groups, diff_user,
};
use lpgate_lastpass::{Client, EventQuery, UserFilter};
use lpgate_store::{
    AccountRow, EventRecord, Fingerprinted, SnapshotIndex, Store, StoreError, SyncRunRow, SyncWrite,
};

use crate::normalize;

/// Why a sync did not write a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Another sync of the account holds its lock.
    #[error("account {account}: {message}")]
    Busy {
        /// Account name.
        account: String,
        /// What the lock said.
        message: String,
    },
    /// LastPass could not be read completely; the run is recorded as failed.
    #[error("account {account}: sync failed, nothing was changed in the store: {cause}")]
    Fetch {
        /// Account name.
        account: String,
        /// The client's error (shown in the message).
        cause: lpgate_lastpass::Error,
    },
    /// LastPass returned far fewer users than the store holds: treated as an error, not as
    /// departures.
    #[error(
        "account {account}: LastPass returned {now} users where the last sync saw {before}; \
         refusing to mark {gone} users deprovisioned (raise the account's shrink limit or sync with --allow-shrink if this is real)"
    )]
    Shrunk {
        /// Account name.
        account: String,
        /// Users before.
        before: usize,
        /// Users now.
        now: usize,
        /// Users that would be deprovisioned.
        gone: usize,
    },
    /// A user missing from the listing still exists when asked for by name: the company
    /// changed while it was paged, and the listing cannot be trusted for departures.
    #[error(
        "account {account}: {email} was missing from the user listing but still exists in LastPass; \
         the company changed while it was read, so nothing was changed — the next sync will read it again"
    )]
    Inconsistent {
        /// Account name.
        account: String,
        /// The user the listing missed.
        email: String,
    },
    /// The store failed.
    #[error("account {account}: {cause}")]
    Store {
        /// Account name.
        account: String,
        /// The store's error (shown in the message).
        cause: StoreError,
    },
}

/// Knobs of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// How far back the first sync reads events.
    pub event_backfill: Duration,
    /// A sync that would deprovision more than this share of the stored users (and at least
    /// `shrink_min_users` of them) is refused.
    pub max_shrink_share: f64,
    /// Below this many stored users the shrink check does not apply.
    pub shrink_min_users: usize,
    /// Accept any shrink (the admin confirmed departures are real).
    pub allow_shrink: bool,
    /// Which channels hear about which changes (queued in the sync's transaction).
    pub routing: crate::notify::Routing,
    /// How old the stored list of expired master passwords may get before a sync reads it
    /// again (zero: every sync). LastPass pages that list 500 at a time, one page after
    /// another, so a large company's list takes as long to read as its whole directory; it
    /// changes only when someone's password expires or is renewed.
    pub expired_passwords_every: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            event_backfill: Duration::from_secs(7 * 24 * 3600),
            max_shrink_share: 0.5,
            shrink_min_users: 20,
            allow_shrink: false,
            routing: crate::notify::Routing::default(),
            expired_passwords_every: Duration::from_secs(6 * 3600),
        }
    }
}

/// Where a run is, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStage {
    /// Reading LastPass and the stored snapshot.
    Fetching,
    /// Comparing.
    Comparing,
    /// Writing the transaction.
    Writing,
}

/// What a successful run did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// The run as recorded.
    pub run: SyncRunRow,
    /// Whether this was the account's first snapshot (a baseline: no change rows).
    pub baseline: bool,
    /// Change rows by kind.
    pub changes_by_kind: BTreeMap<ChangeKind, usize>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl SyncReport {
    /// The change counts as one line, e.g. `user.created 1, group.member_added 2`.
    pub fn kinds_summary(&self) -> String {
        self.changes_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Runs one sync of `account` through `client` into `store`.
///
/// LastPass's list of expired master passwords (`expiredmasterpwlist`) is read at the same
/// time and replaces the stored list in the sync's transaction. It is a separate report, not
/// part of the snapshot: when only it fails, the sync still succeeds, the previous list is
/// kept with its older read time (reports show when it was read), and a warning is logged.
pub async fn sync_account<S: Store>(
    store: &S,
    client: &Client,
    account: &AccountRow,
    zone: AccountZone,
    options: &SyncOptions,
    now: impl Fn() -> DateTime<Utc>,
    stage: impl Fn(SyncStage),
) -> Result<SyncReport, SyncError> {
    sync_snapshot(store, client, account, zone, options, &now, stage).await
}

/// Reads the expired-master-password list for the sync's transaction; `None` (logged) when
/// the read fails, which keeps the stored list.
async fn read_expired(
    client: &Client,
    account: &AccountRow,
    zone: AccountZone,
) -> Option<Vec<lpgate_store::ExpiredPassword>> {
    match client.expired_master_passwords().await {
        Ok(items) => Some(
            items
                .into_iter()
                .map(|i| lpgate_store::ExpiredPassword {
                    lastpass_id: i.user_id,
                    email: i.user_name.to_lowercase(),
                    last_pw_change_local: i.last_pw_change,
                    last_pw_change_at: i.last_pw_change.map(|t| zone.to_utc(t)),
                })
                .collect(),
        ),
        Err(error) => {
            tracing::warn!(
                account = %account.name, %error,
                "expiredmasterpwlist failed; the stored list of expired master passwords is unchanged"
            );
            None
        }
    }
}

async fn sync_snapshot<S: Store>(
    store: &S,
    client: &Client,
    account: &AccountRow,
    zone: AccountZone,
    options: &SyncOptions,
    now: &impl Fn() -> DateTime<Utc>,
    stage: impl Fn(SyncStage),
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let name = account.name.clone();
    let store_err = |source| SyncError::Store {
        account: name.clone(),
        cause: source,
    };
    let _lock = store
        .try_lock_account(account.id)
        .await
        .map_err(|e| match e {
            StoreError::Busy(message) => SyncError::Busy {
                account: name.clone(),
                message,
            },
            other => store_err(other),
        })?;
    let run = store
        .begin_run(account.id, now())
        .await
        .map_err(store_err)?;
    stage(SyncStage::Fetching);
    // The caller's account row may predate an earlier sync: ask the store.
    let fresh = store.account(&account.name).await.map_err(store_err)?;
    let read_expired_now = match store
        .expired_passwords_read_at(account.id)
        .await
        .map_err(store_err)?
    {
        None => true,
        Some(at) => {
            now().signed_duration_since(at).to_std().unwrap_or_default()
                >= options.expired_passwords_every
        }
    };
    let expired_read = || async move {
        if read_expired_now {
            read_expired(client, account, zone).await
        } else {
            None
        }
    };
    if fresh.last_synced_at.is_none() {
        return baseline(
            store,
            client,
            account,
            zone,
            options,
            now,
            &stage,
            (run, started),
            expired_read(),
        )
        .await;
    }
    let events_from = match store.event_watermark(account.id).await.map_err(store_err)? {
        Some(w) => w,
        None => zone.to_local(
            now() - chrono::Duration::from_std(options.event_backfill).unwrap_or_default(),
        ),
    };
    let event_query = EventQuery {
        from: Some(events_from),
        ..EventQuery::default()
    };
    // The stored snapshot's index loads while LastPass is read; each page of users is
    // screened against it as it arrives (pages that come before the index wait for it).
    let cell: std::sync::OnceLock<SnapshotIndex> = std::sync::OnceLock::new();
    let mut attempt = 0;
    let mut expired;
    let (index, screened, users_total, folders, events) = loop {
        attempt += 1;
        let mut pending: Vec<Vec<lpgate_lastpass::User>> = Vec::new();
        let mut screener: Option<Screener> = None;
        let fetched = {
            let sink = |users: Vec<lpgate_lastpass::User>| match cell.get() {
                None => pending.push(users),
                Some(index) => {
                    let sc = screener.get_or_insert_with(|| Screener::new(index));
                    for page in pending.drain(..) {
                        sc.take_all(page);
                    }
                    sc.take_all(users);
                }
            };
            let index_load = async {
                if cell.get().is_none() {
                    let index = store.snapshot_index(account.id).await.map_err(store_err)?;
                    let _ = cell.set(index);
                }
                Ok::<(), SyncError>(())
            };
            let fetch = async {
                tokio::try_join!(
                    client.stream_user_data(UserFilter::All, sink),
                    client.get_shared_folders(),
                    client.reporting(&event_query),
                )
            };
            let (index_loaded, fetched, read) = tokio::join!(index_load, fetch, expired_read());
            expired = read;
            (index_loaded, fetched)
        };
        if let Err(err) = fetched.0 {
            let _ = store.fail_run(run, now(), err.to_string()).await;
            return Err(err);
        }
        let Some(index) = cell.get() else {
            return Err(store_err(StoreError::Backend {
                context: "read snapshot index",
                message: "the index did not load".into(),
            }));
        };
        match fetched.1 {
            Ok((listing, folders, events)) => {
                let mut sc = screener.unwrap_or_else(|| Screener::new(index));
                for page in pending.drain(..) {
                    sc.take_all(page);
                }
                for email in &listing.invited {
                    sc.take(normalize::invitation(email));
                }
                break (index, sc.finish(), listing.total, folders, events);
            }
            Err(lpgate_lastpass::Error::Incomplete { .. }) if attempt <= 2 => {
                tracing::warn!(account = %name, attempt, "company changed while paging; listing again");
            }
            Err(source) => {
                let err = SyncError::Fetch {
                    account: name.clone(),
                    cause: source,
                };
                store
                    .fail_run(run, now(), err.to_string())
                    .await
                    .map_err(store_err)?;
                return Err(err);
            }
        }
    };
    tracing::debug!(account = %name, ms = started.elapsed().as_millis() as u64, "sync fetched");
    stage(SyncStage::Comparing);
    let users_fetched = users_total as i64;
    let folders_fetched = folders.len() as i64;
    let plan = match compare(store, client, account, index, screened, &folders, options).await {
        Ok(p) => p,
        Err(err) => {
            store
                .fail_run(run, now(), err.to_string())
                .await
                .map_err(store_err)?;
            return Err(err);
        }
    };
    let mut changes_by_kind = BTreeMap::new();
    for c in &plan.changes {
        *changes_by_kind.entry(c.kind).or_insert(0) += 1;
    }
    tracing::debug!(account = %name, ms = started.elapsed().as_millis() as u64, "sync compared");
    stage(SyncStage::Writing);
    let write = SyncWrite {
        account: account.id,
        run,
        now: now(),
        zone,
        upsert_users: plan.upsert_users,
        deprovision: plan.deprovision,
        upsert_folders: plan.upsert_folders,
        remove_folders: plan.remove_folders,
        groups: plan.groups,
        events: event_records(events),
        notifications: options
            .routing
            .for_changes(account.id, &account.name, &plan.changes),
        changes: plan.changes,
        users_fetched,
        folders_fetched,
        expired_passwords: expired,
    };
    let run = match store.commit_sync(write).await {
        Ok(run) => run,
        Err(e) => {
            // The transaction rolled back; record why, so the run does not stay "running".
            let err = store_err(e);
            let _ = store.fail_run(run, now(), err.to_string()).await;
            return Err(err);
        }
    };
    tracing::debug!(account = %name, ms = started.elapsed().as_millis() as u64, "sync written");
    Ok(SyncReport {
        run,
        baseline: !index.has_snapshot,
        changes_by_kind,
        elapsed: started.elapsed(),
    })
}

/// An account's first sync: users are normalized and written page by page while later pages
/// are still on the wire, into one transaction that commits only once everything was read
/// (a failure rolls it all back). A first sync has nothing to compare with, so it writes no
/// change rows.
#[allow(clippy::too_many_arguments)]
async fn baseline<S: Store>(
    store: &S,
    client: &Client,
    account: &AccountRow,
    zone: AccountZone,
    options: &SyncOptions,
    now: &impl Fn() -> DateTime<Utc>,
    stage: &impl Fn(SyncStage),
    (run, started): (lpgate_store::RunId, Instant),
    expired_read: impl Future<Output = Option<Vec<lpgate_store::ExpiredPassword>>>,
) -> Result<SyncReport, SyncError> {
    let name = &account.name;
    let store_err = |source| SyncError::Store {
        account: name.clone(),
        cause: source,
    };
    let backfill = chrono::Duration::from_std(options.event_backfill).unwrap_or_default();
    let event_query = EventQuery {
        from: Some(zone.to_local(now() - backfill)),
        ..EventQuery::default()
    };
    let writer = store
        .begin_baseline(account.id, zone, now())
        .await
        .map_err(store_err)?;
    // Screened against an empty index, every user is new: each page's batch goes straight
    // to the writer.
    let empty = SnapshotIndex::default();
    let mut screener = Screener::new(&empty);
    // Folders and events go to the writer as soon as they are read, so it takes them while
    // users are still paging.
    let (fetched, expired) = {
        // Each page goes in email order: consecutive inserts then land next to each other in
        // the store's (account, email) key, which took a tenth off the users' insert (an
        // INSERT … SELECT replay of 100,000 users: 226-243 ms in listing order, 208-217 ms
        // sorted by page). The sort runs here, on the listing's side, not the writer's.
        let sink = |users: Vec<lpgate_lastpass::User>| {
            screener.take_all(users);
            writer.add_users(sort_by_email(std::mem::take(&mut screener.changed)));
        };
        let folders = async {
            let folders = client.get_shared_folders().await?;
            writer.add_folders(folder_records(&folders));
            Ok(folders.len())
        };
        let events = async {
            let events = client.reporting(&event_query).await?;
            writer.add_events(event_records(events));
            Ok(())
        };
        let snapshot = async {
            tokio::try_join!(
                client.stream_user_data(UserFilter::All, sink),
                folders,
                events
            )
        };
        tokio::join!(snapshot, expired_read)
    };
    let (listing, folders_fetched, ()) = match fetched {
        Ok(v) => v,
        Err(source) => {
            drop(writer); // rolls the partial snapshot back
            let err = SyncError::Fetch {
                account: name.clone(),
                cause: source,
            };
            store
                .fail_run(run, now(), err.to_string())
                .await
                .map_err(store_err)?;
            return Err(err);
        }
    };
    stage(SyncStage::Writing);
    tracing::debug!(account = %name, ms = started.elapsed().as_millis() as u64, "first sync fetched");
    for email in &listing.invited {
        screener.take(normalize::invitation(email));
    }
    writer.add_users(std::mem::take(&mut screener.changed));
    let Screened {
        groups, duplicates, ..
    } = screener.finish();
    if !duplicates.is_empty() {
        tracing::warn!(account = %name, duplicates = ?duplicates, "LastPass listed some emails twice; kept the first");
    }
    let write = SyncWrite {
        groups,
        users_fetched: listing.total as i64,
        folders_fetched: folders_fetched as i64,
        expired_passwords: expired,
        ..SyncWrite::nothing(account.id, run, now(), zone)
    };
    let run_row = match writer.finish(write).await {
        Ok(r) => r,
        Err(e) => {
            let err = store_err(e);
            let _ = store.fail_run(run, now(), err.to_string()).await;
            return Err(err);
        }
    };
    Ok(SyncReport {
        run: run_row,
        baseline: true,
        changes_by_kind: BTreeMap::new(),
        elapsed: started.elapsed(),
    })
}

/// Shared folders as the store keeps them, sorted by id.
fn folder_records(folders: &[lpgate_lastpass::SharedFolder]) -> Vec<Fingerprinted<FolderRecord>> {
    let mut out: Vec<Fingerprinted<FolderRecord>> = folders
        .iter()
        .map(|f| {
            let record = normalize::folder(f);
            Fingerprinted {
                fingerprint: record.fingerprint(),
                record,
            }
        })
        .collect();
    out.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    out
}

/// LastPass events as the store keeps them, oldest first. Reporting lists the newest first;
/// stored in time order, the events' row ids follow time and each of their time indexes is
/// appended to instead of written at its front (a fifth less of the events' write in a first
/// sync). Events of the same second keep their listed order reversed, so "newest first, then
/// by id" shows them as LastPass listed them.
fn event_records(events: Vec<lpgate_lastpass::Event>) -> Vec<EventRecord> {
    let mut events = events;
    events.reverse();
    events.sort_by_key(|e| e.time); // stable: the reversed order stays within a second
    events
        .into_iter()
        .map(|e| EventRecord {
            time: e.time,
            username: e.username,
            ip_address: e.ip_address,
            action: e.action,
            data: e.data,
        })
        .collect()
}

/// The emails of a listing, as screening meets them. Hashed with foldhash rather than the
/// standard SipHash: a 100,000-user listing inserts every email and looks each stored one up,
/// and SipHash was a visible share of reading the listing. The hash is still seeded per
/// process.
type Listed = HashSet<String, foldhash::fast::RandomState>;

/// Sorts a listing's users, as they arrive, into unchanged (dropped at once) and new or
/// changed (kept with their fingerprint), by comparing fingerprints with the stored index.
struct Screener<'a> {
    index: &'a SnapshotIndex,
    listed: Listed,
    groups: BTreeSet<String>,
    duplicates: Vec<String>,
    changed: Vec<Fingerprinted<UserRecord>>,
    to_load: Vec<String>,
}

/// What screening a whole listing found.
struct Screened {
    listed: Listed,
    groups: BTreeSet<String>,
    duplicates: Vec<String>,
    changed: Vec<Fingerprinted<UserRecord>>,
    to_load: Vec<String>,
    count: usize,
}

impl<'a> Screener<'a> {
    fn new(index: &'a SnapshotIndex) -> Self {
        Screener {
            index,
            listed: Listed::with_capacity_and_hasher(index.users.len() + 64, Default::default()),
            groups: BTreeSet::new(),
            duplicates: Vec::new(),
            changed: Vec::new(),
            to_load: Vec::new(),
        }
    }

    fn take_all(&mut self, users: Vec<lpgate_lastpass::User>) {
        for u in users {
            self.take(normalize::user(u));
        }
    }

    fn take(&mut self, rec: UserRecord) {
        if !self.listed.insert(rec.email.clone()) {
            // A second listing of an email (or an invitation of a listed user): the first wins.
            if !rec.invited_only {
                self.duplicates.push(rec.email);
            }
            return;
        }
        for g in &rec.groups {
            if !self.groups.contains(g) {
                self.groups.insert(g.clone());
            }
        }
        let fingerprint = rec.fingerprint();
        match self.index.users.get(&rec.email) {
            Some(fp) if *fp == fingerprint => return,
            Some(_) => self.to_load.push(rec.email.clone()),
            None if self.index.deprovisioned.contains(&rec.email) => {
                self.to_load.push(rec.email.clone())
            }
            None => {}
        }
        self.changed.push(Fingerprinted {
            record: rec,
            fingerprint,
        });
    }

    fn finish(self) -> Screened {
        let count = self.listed.len();
        Screened {
            listed: self.listed,
            groups: self.groups,
            duplicates: self.duplicates,
            changed: self.changed,
            to_load: self.to_load,
            count,
        }
    }
}

/// What the comparison decided to write.
struct Plan {
    upsert_users: Vec<Fingerprinted<UserRecord>>,
    deprovision: Vec<String>,
    upsert_folders: Vec<Fingerprinted<FolderRecord>>,
    remove_folders: Vec<String>,
    groups: std::collections::BTreeSet<String>,
    changes: Vec<Change>,
}

async fn compare<S: Store>(
    store: &S,
    client: &Client,
    account: &AccountRow,
    index: &SnapshotIndex,
    screened: Screened,
    folders: &[lpgate_lastpass::SharedFolder],
    options: &SyncOptions,
) -> Result<Plan, SyncError> {
    let name = &account.name;
    let store_err = |source| SyncError::Store {
        account: name.clone(),
        cause: source,
    };
    if !screened.duplicates.is_empty() {
        tracing::warn!(account = %name, duplicates = ?screened.duplicates, "LastPass listed some emails twice; kept the first");
    }
    let groups = screened.groups;
    let listed = screened.listed;

    // Users gone from this complete listing.
    let mut gone: Vec<String> = index
        .users
        .keys()
        .filter(|e| !listed.contains(*e))
        .cloned()
        .collect();
    gone.sort();
    if !options.allow_shrink
        && index.users.len() >= options.shrink_min_users
        && gone.len() as f64 > options.max_shrink_share * index.users.len() as f64
    {
        return Err(SyncError::Shrunk {
            account: name.clone(),
            before: index.users.len(),
            now: screened.count,
            gone: gone.len(),
        });
    }
    drop(listed);
    confirm_gone(client, name, &gone).await?;

    let mut to_load = screened.to_load;
    let changed = screened.changed;
    // Written in email order (the store's key order) and diffed in a stable order.
    let changed = sort_by_email(changed);
    to_load.extend(gone.iter().cloned());
    let old_users: HashMap<String, UserRecord> = if to_load.is_empty() {
        HashMap::new()
    } else {
        store
            .load_users(account.id, to_load)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|u| (u.email.clone(), u))
            .collect()
    };

    // Folders.
    let mut changed_folders: Vec<Fingerprinted<FolderRecord>> = Vec::new();
    let mut folder_ids_to_load = Vec::new();
    let mut present = std::collections::HashSet::with_capacity(folders.len());
    for f in folders {
        let rec = normalize::folder(f);
        let fingerprint = rec.fingerprint();
        present.insert(rec.id.clone());
        match index.folders.get(&rec.id) {
            Some(fp) if *fp == fingerprint => continue,
            Some(_) => folder_ids_to_load.push(rec.id.clone()),
            None => {}
        }
        changed_folders.push(Fingerprinted {
            record: rec,
            fingerprint,
        });
    }
    changed_folders.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    let mut removed_folders: Vec<String> = index
        .folders
        .keys()
        .filter(|id| !present.contains(*id))
        .cloned()
        .collect();
    removed_folders.sort();

    let mut changes = Vec::new();
    if index.has_snapshot {
        for v in &changed {
            let rec = &v.record;
            match old_users.get(&rec.email) {
                Some(old) if old.status == AccountStatus::Deprovisioned => {
                    changes.extend(restored(rec))
                }
                old => changes.extend(diff_user(old, Some(rec))),
            }
        }
        for email in &gone {
            changes.extend(diff_user(old_users.get(email), None));
        }
        changes.extend(diff_groups(&index.groups, &groups));
        folder_ids_to_load.extend(removed_folders.iter().cloned());
        let old_folders: HashMap<String, FolderRecord> = if folder_ids_to_load.is_empty() {
            HashMap::new()
        } else {
            store
                .load_folders(account.id, folder_ids_to_load)
                .await
                .map_err(store_err)?
                .into_iter()
                .map(|f| (f.id.clone(), f))
                .collect()
        };
        for v in &changed_folders {
            changes.extend(diff_folder(old_folders.get(&v.record.id), Some(&v.record)));
        }
        for id in &removed_folders {
            changes.extend(diff_folder(old_folders.get(id), None));
        }
    }
    Ok(Plan {
        upsert_users: changed,
        deprovision: gone,
        upsert_folders: changed_folders,
        remove_folders: removed_folders,
        groups,
        changes,
    })
}

/// Asks LastPass by name about users the listing no longer shows (up to `CONFIRM_GONE` of
/// them, spread over the list): offset paging can skip a user when another leaves while the
/// pages are read, and a skipped user must not be taken for a departure.
async fn confirm_gone(client: &Client, account: &str, gone: &[String]) -> Result<(), SyncError> {
    use futures_util::{StreamExt, stream};
    const CONFIRM_GONE: usize = 100;
    let step = gone.len().div_ceil(CONFIRM_GONE).max(1);
    let sample: Vec<&String> = gone.iter().step_by(step).collect();
    let mut answers = stream::iter(sample)
        .map(|email| async move { (email, client.get_user(email).await) })
        .buffer_unordered(4);
    while let Some((email, answer)) = answers.next().await {
        match answer {
            Ok(Some(_)) => {
                return Err(SyncError::Inconsistent {
                    account: account.to_string(),
                    email: email.clone(),
                });
            }
            Ok(None) | Err(lpgate_lastpass::Error::InvalidInput { .. }) => {}
            Err(source) => {
                return Err(SyncError::Fetch {
                    account: account.to_string(),
                    cause: source,
                });
            }
        }
    }
    Ok(())
}

/// Sorts records by email moving each (large) record once: the positions are sorted, not the
/// records.
pub(crate) fn sort_by_email(
    records: Vec<Fingerprinted<UserRecord>>,
) -> Vec<Fingerprinted<UserRecord>> {
    if records.is_sorted_by(|a, b| a.record.email <= b.record.email) {
        return records;
    }
    let mut order: Vec<u32> = (0..records.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        records[a as usize]
            .record
            .email
            .cmp(&records[b as usize].record.email)
    });
    let mut slots: Vec<Option<Fingerprinted<UserRecord>>> = records.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| slots[i as usize].take())
        .collect()
}

pub(crate) fn restored(rec: &UserRecord) -> Vec<Change> {
    // A returning user: one `user.restored`, then what they came back with.
    let mut out = diff_user(None, Some(rec));
    if let Some(first) = out.first_mut() {
        first.kind = ChangeKind::UserRestored;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(id: &str, email: &str, groups: &[&str]) -> lpgate_lastpass::User {
        let mut v: lpgate_lastpass::User = serde_json::from_str(&format!(
            r#"{{"username":"{email}","neverloggedin":false,"disabled":false,"admin":false}}"#
        ))
        .unwrap();
        v.id = id.into();
        v.groups = groups.iter().map(|g| g.to_string()).collect();
        v
    }

    #[test]
    fn screening_keeps_new_and_changed_drops_unchanged() {
        let known = normalize::user(u("9", "kept@x.io", &["Ops"]));
        let mut index = SnapshotIndex::default();
        index.users.insert("kept@x.io".into(), known.fingerprint());
        index.users.insert("edited@x.io".into(), 1);
        index.deprovisioned.insert("back@x.io".into());
        let mut sc = Screener::new(&index);
        sc.take_all(vec![
            u("1", "Ann@X.io", &["Sales", "Ops"]),
            u("2", "ann@x.io", &[]),
            u("9", "kept@x.io", &["Ops"]),
            u("3", "edited@x.io", &["Ops", "Ops"]),
            u("4", "back@x.io", &[]),
        ]);
        sc.take(normalize::invitation("cy@x.io"));
        sc.take(normalize::invitation("kept@x.io"));
        let s = sc.finish();
        assert_eq!(s.duplicates, vec!["ann@x.io"]);
        let changed: Vec<&str> = s.changed.iter().map(|c| c.record.email.as_str()).collect();
        assert_eq!(
            changed,
            vec!["ann@x.io", "edited@x.io", "back@x.io", "cy@x.io"]
        );
        assert_eq!(
            s.changed[0].record.lastpass_id.as_deref(),
            Some("1"),
            "the first listing wins"
        );
        assert_eq!(s.changed[0].record.groups, vec!["Ops", "Sales"]);
        assert_eq!(s.changed[1].record.groups, vec!["Ops"]);
        assert!(s.changed[3].record.invited_only);
        assert_eq!(s.to_load, vec!["edited@x.io", "back@x.io"]);
        assert_eq!(s.count, 5, "distinct emails, invitations included");
        assert_eq!(s.groups.iter().collect::<Vec<_>>(), vec!["Ops", "Sales"]);
    }
}
