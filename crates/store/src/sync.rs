//! What a sync reads from the store and writes to it in one transaction.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};
use lpgate_domain::{AccountZone, Change, FolderRecord, UserRecord};
use serde::Serialize;

use crate::account::AccountId;

/// The store's id of a sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunId(pub i64);

/// How a sync run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RunOutcome {
    /// Still going (or its process died: the next run marks it interrupted).
    Running,
    /// Wrote a new snapshot.
    Succeeded,
    /// Wrote nothing but this record.
    Failed,
    /// Its process died mid-run; the previous snapshot stands.
    Interrupted,
}

impl RunOutcome {
    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Interrupted => "interrupted",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunOutcome::Running,
            "succeeded" => RunOutcome::Succeeded,
            "failed" => RunOutcome::Failed,
            "interrupted" => RunOutcome::Interrupted,
            _ => return None,
        })
    }
}

/// One sync run as stored.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRunRow {
    /// Run id.
    pub id: RunId,
    /// Account synced.
    pub account: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End, when it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Outcome.
    pub outcome: RunOutcome,
    /// Why it failed.
    pub error: Option<String>,
    /// Users fetched.
    pub users: i64,
    /// Groups fetched.
    pub groups: i64,
    /// Folders fetched.
    pub folders: i64,
    /// New events stored.
    pub events: i64,
    /// Change rows written.
    pub changes: i64,
}

/// The current snapshot of an account in the cheapest form that tells what changed: one
/// fingerprint per user and folder, the group names, and the event watermark.
#[derive(Debug, Clone, Default)]
pub struct SnapshotIndex {
    /// True once a first successful sync stored a snapshot.
    pub has_snapshot: bool,
    /// Present (non-deprovisioned) users: email → fingerprint.
    pub users: HashMap<String, i64>,
    /// Deprovisioned users still on record (their return is a `user.restored`).
    pub deprovisioned: BTreeSet<String>,
    /// Folders: id → fingerprint.
    pub folders: HashMap<String, i64>,
    /// Group names.
    pub groups: BTreeSet<String>,
    /// The newest event time stored (account-local wall time).
    pub event_watermark: Option<NaiveDateTime>,
}

/// Gives each event of one read the key both stores hold it by (`UNIQUE (account_id, fp)`):
/// a hash of its fields and of its position among identical events of the read. Five failed
/// logins from one address in one second differ only by that position. The event watermark
/// is inclusive, so the next sync reads that second again, numbers the twins the same way,
/// and adds only the new ones.
#[derive(Debug, Default)]
pub struct EventKeys {
    twins: HashMap<i64, u64>,
}

impl EventKeys {
    /// The key of the next event of the read; `time_local` is its wall time as stored.
    pub fn next(&mut self, time_local: Option<&str>, e: &EventRecord) -> i64 {
        let mut base = lpgate_domain::fingerprint::Fingerprint::default();
        base.opt_str(time_local)
            .str(&e.username)
            .str(&e.action)
            .str(&e.data)
            .str(&e.ip_address);
        let ordinal = self.twins.entry(base.finish()).or_insert(0);
        *ordinal += 1;
        base.u64(*ordinal);
        base.finish()
    }
}

/// One reporting event to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Local wall time as LastPass sent it.
    pub time: NaiveDateTime,
    /// Actor.
    pub username: String,
    /// Source IP.
    pub ip_address: String,
    /// Action.
    pub action: String,
    /// Details.
    pub data: String,
}

/// A record with its fingerprint, computed once by the engine and stored beside it.
#[derive(Debug, Clone)]
pub struct Fingerprinted<T> {
    /// The record.
    pub record: T,
    /// Its fingerprint.
    pub fingerprint: i64,
}

/// Everything one successful sync writes, applied in one transaction.
#[derive(Debug, Clone)]
pub struct SyncWrite {
    /// The account.
    pub account: AccountId,
    /// The run that produced it.
    pub run: RunId,
    /// The run's clock reading (passed in; the store reads no clock).
    pub now: DateTime<Utc>,
    /// The account's zone, to store UTC beside LastPass's wall times.
    pub zone: AccountZone,
    /// New or changed users (full records), sorted by email. Each one's memberships become
    /// exactly its `groups`; a deprovisioned user loses all of them.
    pub upsert_users: Vec<Fingerprinted<UserRecord>>,
    /// Users gone from a complete poll.
    pub deprovision: Vec<String>,
    /// New or changed folders.
    pub upsert_folders: Vec<Fingerprinted<FolderRecord>>,
    /// Folders gone.
    pub remove_folders: Vec<String>,
    /// Every group name present now.
    pub groups: BTreeSet<String>,
    /// New events.
    pub events: Vec<EventRecord>,
    /// The change rows.
    pub changes: Vec<Change>,
    /// Notifications about the changes, queued in the same transaction.
    pub notifications: Vec<crate::NewNotification>,
    /// Users fetched (for the run record).
    pub users_fetched: i64,
    /// Folders fetched.
    pub folders_fetched: i64,
    /// LastPass's list of expired master passwords, read beside the snapshot: it replaces
    /// the stored list in the same transaction. `None` (its read failed, or a write that
    /// did not read it) keeps the stored list and the time it was read.
    pub expired_passwords: Option<Vec<crate::ExpiredPassword>>,
}

impl SyncWrite {
    /// A write of `run` that changes nothing: the base a caller completes with `..`, so each
    /// writer names only what it writes, and a new field gets its empty value here once.
    pub fn nothing(account: AccountId, run: RunId, now: DateTime<Utc>, zone: AccountZone) -> Self {
        SyncWrite {
            account,
            run,
            now,
            zone,
            upsert_users: Vec::new(),
            deprovision: Vec::new(),
            upsert_folders: Vec::new(),
            remove_folders: Vec::new(),
            groups: BTreeSet::new(),
            events: Vec::new(),
            changes: Vec::new(),
            notifications: Vec::new(),
            users_fetched: 0,
            folders_fetched: 0,
            expired_passwords: None,
        }
    }
}

/// A message to a backend's baseline writer.
#[derive(Debug)]
pub enum BaselineMsg {
    /// More users of the first snapshot, written at once.
    Users(Vec<Fingerprinted<UserRecord>>),
    /// The shared folders (all of them, once), written at once.
    Folders(Vec<Fingerprinted<FolderRecord>>),
    /// The events read (all of them, once), written at once.
    Events(Vec<EventRecord>),
    /// Everything else; write it and commit.
    Finish(Box<SyncWrite>),
}

/// How many messages (pages of users, the folders, the events) may wait for a first
/// snapshot's writer. LastPass's pages arrive faster than one SQLite writer takes them, and an
/// unbounded queue held up to half of a 100,000-user company at once (peak memory 200 to
/// 280 MB from run to run); with the queue full the fetch waits, and the sync takes as long
/// as the writer did anyway.
pub const BASELINE_BACKLOG: usize = 4;

/// The channel a backend's first-snapshot writer reads: bounded at [`BASELINE_BACKLOG`].
/// Its receiving end must be drained by a thread of its own (never by a task of the runtime
/// that sends: a full queue blocks the sender's thread).
pub fn baseline_channel() -> (
    std::sync::mpsc::SyncSender<BaselineMsg>,
    std::sync::mpsc::Receiver<BaselineMsg>,
) {
    std::sync::mpsc::sync_channel(BASELINE_BACKLOG)
}

/// The first snapshot of an account, written while it is still being read: users go into an
/// open transaction page by page, and [`BaselineWriter::finish`] adds the rest and commits.
/// Dropping the writer without finishing rolls everything back.
pub struct BaselineWriter {
    sender: std::sync::mpsc::SyncSender<BaselineMsg>,
    done: tokio::sync::oneshot::Receiver<crate::StoreResult<SyncRunRow>>,
}

impl BaselineWriter {
    /// Wraps a backend's channel pair (see [`baseline_channel`]).
    pub fn new(
        sender: std::sync::mpsc::SyncSender<BaselineMsg>,
        done: tokio::sync::oneshot::Receiver<crate::StoreResult<SyncRunRow>>,
    ) -> Self {
        BaselineWriter { sender, done }
    }

    /// Queues users for writing; blocks the calling thread only while [`BASELINE_BACKLOG`]
    /// messages wait (for as long as the writer takes to write one). `false` when the writer
    /// has stopped (its error comes from `finish`).
    pub fn add_users(&self, batch: Vec<Fingerprinted<UserRecord>>) -> bool {
        self.sender.send(BaselineMsg::Users(batch)).is_ok()
    }

    /// Queues the shared folders (sent once, as soon as they are read, so the writer takes
    /// them while users are still paging); `SyncWrite::upsert_folders` of `finish` must then
    /// be empty. Blocks like [`BaselineWriter::add_users`].
    pub fn add_folders(&self, folders: Vec<Fingerprinted<FolderRecord>>) -> bool {
        self.sender.send(BaselineMsg::Folders(folders)).is_ok()
    }

    /// Queues the events read (sent once, like folders); `SyncWrite::events` of `finish` must
    /// then be empty. Blocks like [`BaselineWriter::add_users`].
    pub fn add_events(&self, events: Vec<EventRecord>) -> bool {
        self.sender.send(BaselineMsg::Events(events)).is_ok()
    }

    /// Writes the rest and commits; returns the finished run.
    pub async fn finish(self, write: SyncWrite) -> crate::StoreResult<SyncRunRow> {
        let sent = self.sender.send(BaselineMsg::Finish(Box::new(write)));
        drop(self.sender);
        let result = self.done.await.unwrap_or_else(|_| {
            Err(crate::StoreError::Backend {
                context: "write first snapshot",
                message: "the writer stopped without an answer".into(),
            })
        });
        match (sent, result) {
            (_, Err(e)) => Err(e),
            (Err(_), Ok(_)) => Err(crate::StoreError::Backend {
                context: "write first snapshot",
                message: "the writer stopped before the snapshot was complete".into(),
            }),
            (Ok(()), ok) => ok,
        }
    }
}

impl std::fmt::Debug for BaselineWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BaselineWriter")
    }
}

#[cfg(test)]
mod event_key_tests {
    use super::*;

    fn event(data: &str) -> EventRecord {
        EventRecord {
            time: NaiveDateTime::parse_from_str("2026-03-01 07:08:09", "%Y-%m-%d %H:%M:%S")
                .unwrap(),
            username: "ann@example.com".into(),
            ip_address: "203.0.113.9".into(),
            action: "Failed Login Attempt".into(),
            data: data.into(),
        }
    }

    #[test]
    fn twins_get_their_own_keys_the_same_way_at_every_read() {
        let read = [event(""), event(""), event("x"), event("")];
        let keys = |events: &[EventRecord]| {
            let mut k = EventKeys::default();
            events
                .iter()
                .map(|e| k.next(Some("2026-03-01 07:08:09"), e))
                .collect::<Vec<_>>()
        };
        let first = keys(&read);
        assert_eq!(first, keys(&read));
        let distinct: BTreeSet<i64> = first.iter().copied().collect();
        assert_eq!(distinct.len(), 4);
        // Stored keys must not change between versions: a re-read would store events twice.
        assert_eq!(first[0], PINNED);
    }

    /// The first key above, as stores written by earlier versions hold it.
    const PINNED: i64 = -6_421_820_816_797_029_663;
}
