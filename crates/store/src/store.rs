//! The `Store` trait.

use std::future::Future;

use chrono::{DateTime, Utc};
use lpgate_domain::{FolderRecord, UserRecord};

use crate::account::{AccountId, AccountRow, NewAccount};
use crate::act::{
    AuditQuery, AuditRow, ItemResult, NewAuditEntry, NewPlan, PlanItemRow, PlanRow, PlanState,
};
use crate::error::StoreResult;
use crate::query::{
    ChangeRow, EventRow, FolderRow, GroupRow, UserKey, UserPageQuery, UserQuery, UserRow,
};
use crate::scim::{NewScimGroup, ScimGroupRow, ScimUserPage, ScimUserQuery, ScimUserState};
use crate::sync::{RunId, SnapshotIndex, SyncRunRow, SyncWrite};
use crate::token::{NewToken, TokenRow};
use crate::watch::{
    Delivery, DeliveryOutcome, DeliveryState, FindingQuery, FindingRow, FindingsWrite, HrPerson,
    NewNotification, QueryRequest, QueryResult, SearchHit,
};

/// Proof that this process alone may sync an account; dropping it releases the lock. A
/// process that dies (even by SIGKILL) releases it too.
pub trait AccountLock: Send + Sync {}

/// Everything lpgate keeps, one method per use case.
///
/// Methods take the current time as a parameter where they record it: the store reads no
/// clock, so tests and the scheduler control time.
pub trait Store: Clone + Send + Sync + 'static {
    // ---- accounts ----

    /// Adds an account; a duplicate name is a `Conflict`.
    fn add_account(
        &self,
        account: NewAccount,
    ) -> impl Future<Output = StoreResult<AccountRow>> + Send;
    /// All accounts, by name.
    fn list_accounts(&self) -> impl Future<Output = StoreResult<Vec<AccountRow>>> + Send;
    /// One account by name.
    fn account(&self, name: &str) -> impl Future<Output = StoreResult<AccountRow>> + Send;
    /// Includes or excludes an account from scheduled and `--all` syncs.
    fn set_account_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Replaces the sealed provisioning hash (rotation).
    fn set_account_provhash(
        &self,
        name: &str,
        sealed: Vec<u8>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Changes how often the scheduler syncs an account.
    fn set_account_interval(
        &self,
        name: &str,
        secs: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Renames an account (`Conflict` when the new name is taken). Everything stored about it
    /// follows (it is keyed by id).
    fn rename_account(
        &self,
        name: &str,
        new_name: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Removes an account and everything stored about it.
    fn remove_account(&self, name: &str) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- sync ----

    /// Takes the account's sync lock without waiting; `Busy` if another sync holds it.
    fn try_lock_account(
        &self,
        account: AccountId,
    ) -> impl Future<Output = StoreResult<Box<dyn AccountLock>>> + Send;
    /// Takes the account's automations lock without waiting; `Busy` if another process (a
    /// worker sharing the store) is running the account's automations. Held from reading
    /// the waiting plans to applying the new one, it keeps two workers from making plans
    /// from the same findings. Separate from the sync lock, which applying a plan takes.
    fn try_lock_automations(
        &self,
        account: AccountId,
    ) -> impl Future<Output = StoreResult<Box<dyn AccountLock>>> + Send;
    /// Records the start of a run (and marks runs left `running` by a dead process as
    /// interrupted). Call with the lock held.
    fn begin_run(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<RunId>> + Send;
    /// The current snapshot's fingerprints, for change detection.
    fn snapshot_index(
        &self,
        account: AccountId,
    ) -> impl Future<Output = StoreResult<SnapshotIndex>> + Send;
    /// The account's current group names (what a few users' re-read needs of the snapshot,
    /// without reading every user as [`Store::snapshot_index`] does).
    fn group_names(
        &self,
        account: AccountId,
    ) -> impl Future<Output = StoreResult<std::collections::BTreeSet<String>>> + Send;
    /// When the account's list of expired master passwords was last read (a sync reads it
    /// again only once it is older than `SyncOptions::expired_passwords_every`), if ever.
    fn expired_passwords_read_at(
        &self,
        account: AccountId,
    ) -> impl Future<Output = StoreResult<Option<DateTime<Utc>>>> + Send;
    /// The newest event time stored for the account (LastPass wall time), if any.
    fn event_watermark(
        &self,
        account: AccountId,
    ) -> impl Future<Output = StoreResult<Option<chrono::NaiveDateTime>>> + Send;
    /// Full current records of these users (present or deprovisioned).
    fn load_users(
        &self,
        account: AccountId,
        emails: Vec<String>,
    ) -> impl Future<Output = StoreResult<Vec<UserRecord>>> + Send;
    /// Full current records of these folders.
    fn load_folders(
        &self,
        account: AccountId,
        ids: Vec<String>,
    ) -> impl Future<Output = StoreResult<Vec<FolderRecord>>> + Send;
    /// Applies a successful sync in one transaction and marks the run succeeded.
    fn commit_sync(&self, write: SyncWrite)
    -> impl Future<Output = StoreResult<SyncRunRow>> + Send;
    /// Starts writing an account's first snapshot while it is still being read (see
    /// [`BaselineWriter`]). Refused if the account already has a snapshot. Until the writer
    /// finishes or is dropped, other writes to the store wait.
    fn begin_baseline(
        &self,
        account: AccountId,
        zone: lpgate_domain::AccountZone,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<crate::BaselineWriter>> + Send;
    /// Claims an account's scheduled sync for the calling worker: when the account is due at
    /// `now` (its next due time has come; one never scheduled is due at `first_due`), moves
    /// its next due time to `lease_until` and returns true; otherwise returns false. Workers
    /// sharing a store so take turns (one claims, the others find it not due), and if the
    /// claiming worker dies the account is due again once the lease ends.
    fn claim_due(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
        first_due: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Sets when the account's next scheduled sync is due (after a sync, whatever its outcome).
    fn set_next_due(
        &self,
        account: AccountId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Marks a run failed with its error; the snapshot is untouched.
    fn fail_run(
        &self,
        run: RunId,
        now: DateTime<Utc>,
        error: String,
    ) -> impl Future<Output = StoreResult<SyncRunRow>> + Send;
    /// One run by id (`NotFound` when there is none).
    fn sync_run(&self, id: i64) -> impl Future<Output = StoreResult<SyncRunRow>> + Send;
    /// Recent runs, newest first.
    fn list_runs(
        &self,
        account: Option<String>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<SyncRunRow>>> + Send;

    // ---- reading ----

    /// Users matching the query (now, or as of an instant).
    fn list_users(
        &self,
        query: UserQuery,
    ) -> impl Future<Output = StoreResult<Vec<UserRow>>> + Send;
    /// One keyset page of current users, ordered by (account name, email).
    fn page_users(
        &self,
        query: UserPageQuery,
    ) -> impl Future<Output = StoreResult<Vec<UserRow>>> + Send;
    /// One current user by its row id (`NotFound` when no such user).
    fn user_by_id(&self, id: i64) -> impl Future<Output = StoreResult<UserRow>> + Send;
    /// The keys of one keyset page (the same rows, filters and order as [`Store::page_users`]),
    /// for callers that hold rows already read at the current [`Store::data_version`].
    fn page_user_keys(
        &self,
        query: UserPageQuery,
    ) -> impl Future<Output = StoreResult<Vec<UserKey>>> + Send;
    /// The current users with these row ids, in the order given; ids with no current user
    /// are left out.
    fn users_by_ids(&self, ids: Vec<i64>)
    -> impl Future<Output = StoreResult<Vec<UserRow>>> + Send;
    /// Groups with member counts.
    fn list_groups(
        &self,
        account: Option<String>,
    ) -> impl Future<Output = StoreResult<Vec<GroupRow>>> + Send;
    /// One group by its API id (as [`GroupRow::id`]), with its member count (`NotFound` when
    /// there is none).
    fn group_by_id(&self, id: String) -> impl Future<Output = StoreResult<GroupRow>> + Send;
    /// The counts `GET /metrics` reports, read in one call.
    fn metrics(&self) -> impl Future<Output = StoreResult<crate::MetricsSnapshot>> + Send;
    /// Shared folders with member counts.
    fn list_folders(
        &self,
        account: Option<String>,
    ) -> impl Future<Output = StoreResult<Vec<FolderRow>>> + Send;
    /// Changes since an instant, optionally of one kind, newest first; with `before`, only
    /// those older than the change of that id (the next page).
    fn list_changes(
        &self,
        account: Option<String>,
        since: Option<DateTime<Utc>>,
        kind: Option<String>,
        before: Option<i64>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<ChangeRow>>> + Send;
    /// Events, newest first (by time, then id); with `before`, only those after that
    /// (time, id) position in this order (the next page).
    fn list_events(
        &self,
        account: Option<String>,
        since: Option<DateTime<Utc>>,
        before: Option<(DateTime<Utc>, i64)>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<EventRow>>> + Send;

    // ---- see and watch ----

    /// Runs one read-only statement over the documented views (never the internal tables),
    /// within its limits. Writes, ATTACH, pragmas and internal tables are refused by the
    /// database engine itself.
    fn query(
        &self,
        request: QueryRequest,
    ) -> impl Future<Output = StoreResult<QueryResult>> + Send {
        async move {
            self.query_all(vec![request])
                .await?
                .pop()
                .unwrap_or_else(|| {
                    Err(crate::StoreError::Backend {
                        context: "query",
                        message: "the query did not run".into(),
                    })
                })
        }
    }
    /// Runs several statements as [`Store::query`] would one after another, stopping at the
    /// first that fails: the answer has one result per statement run, the last an error when
    /// one failed. An account's rules are evaluated this way after every sync, so a backend
    /// can run them in one sandbox session (on PostgreSQL one connection, scope and
    /// transaction for all of them instead of seven round trips each). The outer error is
    /// for the session itself (no connection, the scope could not be set).
    fn query_all(
        &self,
        requests: Vec<QueryRequest>,
    ) -> impl Future<Output = StoreResult<Vec<StoreResult<QueryResult>>>> + Send;
    /// Ranked free-text search over users, groups and shared folders; every word of `text`
    /// matches as a prefix.
    fn search(
        &self,
        text: String,
        account: Option<String>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<SearchHit>>> + Send;
    /// The account's open findings (to compare with a new evaluation).
    fn open_findings(
        &self,
        account: AccountId,
    ) -> impl Future<Output = StoreResult<Vec<FindingRow>>> + Send;
    /// Opens, refreshes and resolves findings and queues their notifications, in one
    /// transaction.
    fn write_findings(&self, write: FindingsWrite) -> impl Future<Output = StoreResult<()>> + Send;
    /// Findings, newest first.
    fn list_findings(
        &self,
        query: FindingQuery,
    ) -> impl Future<Output = StoreResult<Vec<FindingRow>>> + Send;
    /// Queues notifications outside a sync (tests, `plan` holds).
    fn enqueue_notifications(
        &self,
        notifications: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Takes up to `limit` deliveries that are due, and pushes their next attempt `lease`
    /// ahead so another process does not take them at the same time.
    fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Delivery>>> + Send;
    /// Records one attempt's outcome.
    fn record_delivery(
        &self,
        id: i64,
        now: DateTime<Utc>,
        outcome: DeliveryOutcome,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deliveries, newest first, optionally in one state.
    fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Delivery>>> + Send;
    /// Makes dead (or pending) deliveries due now: one by id, or every dead one when `None`.
    /// Returns how many.
    fn retry_deliveries(
        &self,
        id: Option<i64>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
    /// Replaces the HR list.
    fn load_hr(
        &self,
        people: Vec<HrPerson>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<usize>> + Send;

    // ---- act ----

    /// Stores a plan (its items decided already) with the audit entry of its creation.
    fn create_plan(
        &self,
        plan: NewPlan,
        audit: NewAuditEntry,
    ) -> impl Future<Output = StoreResult<PlanRow>> + Send;
    /// A plan and its items, in order.
    fn plan(
        &self,
        id: i64,
    ) -> impl Future<Output = StoreResult<(PlanRow, Vec<PlanItemRow>)>> + Send;
    /// Plans, newest first.
    fn list_plans(
        &self,
        account: Option<String>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<PlanRow>>> + Send;
    /// Approves a held plan (`Conflict` when it is not held), with its audit entry.
    fn approve_plan(
        &self,
        id: i64,
        audit: NewAuditEntry,
    ) -> impl Future<Output = StoreResult<PlanRow>> + Send;
    /// Moves a plan to a state (applying, applied, partial).
    fn set_plan_state(
        &self,
        id: i64,
        state: PlanState,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records sent items' outcomes and their audit entries in one transaction.
    fn record_items(
        &self,
        plan: i64,
        results: Vec<ItemResult>,
        audit: Vec<NewAuditEntry>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Appends audit entries (chained to the last one).
    fn append_audit(
        &self,
        entries: Vec<NewAuditEntry>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Audit entries, newest first.
    fn list_audit(
        &self,
        query: AuditQuery,
    ) -> impl Future<Output = StoreResult<Vec<AuditRow>>> + Send;
    /// Every audit entry, oldest first, to verify the chain.
    fn audit_chain(&self) -> impl Future<Output = StoreResult<Vec<AuditRow>>> + Send;

    // ---- API tokens ----

    /// Stores a token's hash; a live token with the same name is a `Conflict`, an unknown
    /// account `NotFound`.
    fn create_token(&self, token: NewToken) -> impl Future<Output = StoreResult<TokenRow>> + Send;
    /// Every token, revoked ones included, by name.
    fn list_tokens(&self) -> impl Future<Output = StoreResult<Vec<TokenRow>>> + Send;
    /// Revokes the live token of that name (`NotFound` when there is none).
    fn revoke_token(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<TokenRow>> + Send;
    /// The token with this hash, revoked or not (the caller checks [`TokenRow::usable`]).
    fn token_by_hash(
        &self,
        hash: String,
    ) -> impl Future<Output = StoreResult<Option<TokenRow>>> + Send;
    /// Records that a token was used.
    fn touch_token(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- SCIM ----

    /// A number that changes whenever anything is written to the store, by this process or
    /// another; `None` when the backend cannot tell cheaply. Called on the request path
    /// without moving to another thread, so it must take microseconds: callers cache what
    /// they read while it stays the same (SCIM token checks, SCIM resources).
    fn data_version(&self) -> Option<u64>;
    /// An account's current users matching a filter, sorted and paged, with their SCIM state.
    fn scim_users(
        &self,
        query: ScimUserQuery,
    ) -> impl Future<Output = StoreResult<ScimUserPage>> + Send;
    /// Keeps (replaces) a user's SCIM state.
    fn put_scim_user(
        &self,
        account: AccountId,
        state: ScimUserState,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Forgets a user's SCIM state (the user was deleted through SCIM).
    fn delete_scim_user(
        &self,
        account: AccountId,
        user_id: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// An account's groups as SCIM shows them (LastPass's and those kept by lpgate only), by
    /// name; members only when `with_members`.
    fn scim_groups(
        &self,
        account: AccountId,
        with_members: bool,
    ) -> impl Future<Output = StoreResult<Vec<ScimGroupRow>>> + Send;
    /// One group by id or, when `id` is `None`, by name (case-insensitive).
    fn scim_group(
        &self,
        account: AccountId,
        id: Option<String>,
        name: Option<String>,
        with_members: bool,
    ) -> impl Future<Output = StoreResult<Option<ScimGroupRow>>> + Send;
    /// Keeps (creates or updates) a group's SCIM record; returns its id.
    fn put_scim_group(
        &self,
        group: NewScimGroup,
    ) -> impl Future<Output = StoreResult<String>> + Send;
    /// Forgets a group's SCIM record.
    fn delete_scim_group(
        &self,
        account: AccountId,
        id: String,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The newest plan of the account made from `source` that is still waiting (held,
    /// approved or ready), so a retried request finds its plan instead of making another.
    fn waiting_plan(
        &self,
        account: AccountId,
        source: String,
    ) -> impl Future<Output = StoreResult<Option<PlanRow>>> + Send;
    /// How many removals (suspend, remove, deprovision) plans by `actor` on the account asked
    /// for since an instant, not counting refused or skipped items.
    fn recent_removals(
        &self,
        account: AccountId,
        actor: String,
        since: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}
