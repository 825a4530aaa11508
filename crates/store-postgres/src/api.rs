//! `impl Store for PostgresStore`: each method takes a pooled connection and runs one module
//! function, writes inside one transaction; every committed write moves `data_version`.

use chrono::{DateTime, Utc};
use lpgate_domain::{FolderRecord, UserRecord};
use lpgate_store::{
    AccountId, AccountLock, AccountRow, AuditQuery, AuditRow, ChangeRow, Delivery, DeliveryOutcome,
    DeliveryState, EventRow, FindingQuery, FindingRow, FindingsWrite, FolderRow, GroupRow,
    HrPerson, ItemResult, NewAccount, NewAuditEntry, NewNotification, NewPlan, NewScimGroup,
    NewToken, PlanItemRow, PlanRow, PlanState, QueryRequest, QueryResult, RunId, ScimGroupRow,
    ScimUserPage, ScimUserQuery, ScimUserState, SearchHit, SnapshotIndex, Store, StoreResult,
    SyncRunRow, SyncWrite, TokenRow, UserKey, UserPageQuery, UserQuery, UserRow,
};

use crate::rows::utc;
use crate::{
    PostgresStore, accounts, act, backend, lock, metrics, read, scim, search, sync, tokens, watch,
};

/// Runs `$body` with `$c: &Client` of a pooled connection.
macro_rules! read {
    ($self:ident, $ctx:literal, |$c:ident| $body:expr) => {{
        let conn = $self.conn($ctx).await?;
        let $c: &tokio_postgres::Client = &**conn;
        $body.await
    }};
}

/// Runs `$body` (one statement) with `$c: &Client`, then moves the data version.
macro_rules! write {
    ($self:ident, $ctx:literal, |$c:ident| $body:expr) => {{
        let conn = $self.conn($ctx).await?;
        let $c: &tokio_postgres::Client = &**conn;
        let out = $body.await;
        $self.inner.version.bump();
        out
    }};
}

/// Runs `$body` with `$tx: &Transaction` and commits it when it succeeds.
macro_rules! write_tx {
    ($self:ident, $ctx:literal, |$tx:ident| $body:expr) => {{
        let mut conn = $self.conn($ctx).await?;
        let txn = conn.transaction().await.map_err(backend($ctx))?;
        let $tx: &tokio_postgres::Transaction<'_> = &*txn;
        let out = $body.await?;
        txn.commit().await.map_err(backend($ctx))?;
        $self.inner.version.bump();
        Ok(out)
    }};
}

impl Store for PostgresStore {
    async fn add_account(&self, account: NewAccount) -> StoreResult<AccountRow> {
        write!(self, "add account", |c| accounts::add(c, account))
    }

    async fn list_accounts(&self) -> StoreResult<Vec<AccountRow>> {
        read!(self, "list accounts", |c| accounts::list(c))
    }

    async fn account(&self, name: &str) -> StoreResult<AccountRow> {
        read!(self, "read account", |c| accounts::get(c, name))
    }

    async fn set_account_enabled(&self, name: &str, enabled: bool) -> StoreResult<()> {
        write!(self, "update account", |c| accounts::set_enabled(
            c, name, enabled
        ))
    }

    async fn set_account_provhash(&self, name: &str, sealed: Vec<u8>) -> StoreResult<()> {
        write!(self, "update account", |c| accounts::set_provhash(
            c, name, sealed
        ))
    }

    async fn set_account_interval(&self, name: &str, secs: i64) -> StoreResult<()> {
        write!(self, "update account", |c| accounts::set_interval(
            c, name, secs
        ))
    }

    async fn rename_account(&self, name: &str, new_name: &str) -> StoreResult<()> {
        write!(self, "rename account", |c| accounts::rename(
            c, name, new_name
        ))
    }

    async fn remove_account(&self, name: &str) -> StoreResult<()> {
        write_tx!(self, "remove account", |tx| accounts::remove(tx, name))
    }

    async fn try_lock_account(&self, account: AccountId) -> StoreResult<Box<dyn AccountLock>> {
        lock::try_lock(
            &self.inner.config,
            &self.inner.releasing,
            account,
            lock::Kind::Sync,
        )
        .await
    }

    async fn try_lock_automations(&self, account: AccountId) -> StoreResult<Box<dyn AccountLock>> {
        lock::try_lock(
            &self.inner.config,
            &self.inner.releasing,
            account,
            lock::Kind::Automations,
        )
        .await
    }

    async fn begin_run(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<RunId> {
        write_tx!(self, "begin sync run", |tx| sync::begin_run(
            tx, account, now
        ))
    }

    async fn snapshot_index(&self, account: AccountId) -> StoreResult<SnapshotIndex> {
        read!(self, "read snapshot index", |c| sync::snapshot_index(
            c, account
        ))
    }

    async fn group_names(
        &self,
        account: AccountId,
    ) -> StoreResult<std::collections::BTreeSet<String>> {
        read!(self, "read group names", |c| sync::group_names(c, account))
    }

    async fn expired_passwords_read_at(
        &self,
        account: AccountId,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        read!(self, "read expired-password read time", |c| {
            crate::expired::read_at(c, account)
        })
    }

    async fn event_watermark(
        &self,
        account: AccountId,
    ) -> StoreResult<Option<chrono::NaiveDateTime>> {
        read!(self, "read event watermark", |c| sync::event_watermark(
            c, account
        ))
    }

    async fn load_users(
        &self,
        account: AccountId,
        emails: Vec<String>,
    ) -> StoreResult<Vec<UserRecord>> {
        read!(self, "load users", |c| sync::load_users(
            c, account, &emails
        ))
    }

    async fn load_folders(
        &self,
        account: AccountId,
        ids: Vec<String>,
    ) -> StoreResult<Vec<FolderRecord>> {
        read!(self, "load folders", |c| sync::load_folders(
            c, account, &ids
        ))
    }

    async fn commit_sync(&self, write: SyncWrite) -> StoreResult<SyncRunRow> {
        let run = write.run;
        let () = write_tx!(self, "write sync", |tx| sync::commit(tx, &write))?;
        read!(self, "read sync run", |c| sync::run_by_id(c, run.0))
    }

    async fn begin_baseline(
        &self,
        account: AccountId,
        zone: lpgate_domain::AccountZone,
        now: DateTime<Utc>,
    ) -> StoreResult<lpgate_store::BaselineWriter> {
        let (sender, rx) = lpgate_store::baseline_channel();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let (forward, messages) = tokio::sync::mpsc::unbounded_channel();
        // The writer's channel is a blocking one: a thread hands its messages to the task.
        // The hand-over is unbounded: the task runs on the runtime whose thread a full
        // bounded queue would block (a current-thread runtime would never run it again).
        tokio::task::spawn_blocking(move || {
            while let Ok(m) = rx.recv() {
                if forward.send(m).is_err() {
                    break;
                }
            }
        });
        let store = self.clone();
        tokio::spawn(async move {
            let result: StoreResult<SyncRunRow> = async {
                let run = write_tx!(store, "write first snapshot", |tx| sync::baseline(
                    tx, account, zone, now, messages
                ))?;
                read!(store, "read sync run", |c| sync::run_by_id(c, run.0))
            }
            .await;
            let written = result.is_ok();
            let _ = done_tx.send(result);
            if written {
                // After the caller has its result: this is a first snapshot's last step.
                let analyzed: StoreResult<()> =
                    async { read!(store, "analyze users", |c| sync::analyze_users_if_unseen(c)) }
                        .await;
                if let Err(e) = analyzed {
                    tracing::warn!(error = %e, "could not give PostgreSQL statistics on users");
                }
            }
        });
        Ok(lpgate_store::BaselineWriter::new(sender, done))
    }

    async fn claim_due(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
        first_due: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (now, first_due, lease_until) = (utc(now), utc(first_due), utc(lease_until));
        write_tx!(self, "claim scheduled sync", |tx| accounts::claim_due(
            tx,
            account,
            &now,
            &first_due,
            &lease_until
        ))
    }

    async fn set_next_due(&self, account: AccountId, at: DateTime<Utc>) -> StoreResult<()> {
        let at = utc(at);
        write!(self, "schedule next sync", |c| accounts::set_next_due(
            c, account, &at
        ))
    }

    async fn fail_run(
        &self,
        run: RunId,
        now: DateTime<Utc>,
        error: String,
    ) -> StoreResult<SyncRunRow> {
        write!(self, "record failed run", |c| sync::fail_run(
            c, run, now, &error
        ))
    }

    async fn sync_run(&self, id: i64) -> StoreResult<SyncRunRow> {
        read!(self, "read sync run", |c| sync::run_by_id(c, id))
    }

    async fn list_runs(
        &self,
        account: Option<String>,
        limit: usize,
    ) -> StoreResult<Vec<SyncRunRow>> {
        read!(self, "list sync runs", |c| sync::list_runs(
            c,
            account.as_deref(),
            limit
        ))
    }

    async fn list_users(&self, query: UserQuery) -> StoreResult<Vec<UserRow>> {
        read!(self, "list users", |c| read::users(c, &query))
    }

    async fn page_users(&self, query: UserPageQuery) -> StoreResult<Vec<UserRow>> {
        read!(self, "page users", |c| read::page(c, &query))
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<UserRow> {
        read!(self, "read user", |c| read::by_id(c, id))
    }

    async fn page_user_keys(&self, query: UserPageQuery) -> StoreResult<Vec<UserKey>> {
        read!(self, "page user keys", |c| read::keys(c, &query))
    }

    async fn users_by_ids(&self, ids: Vec<i64>) -> StoreResult<Vec<UserRow>> {
        read!(self, "read users", |c| read::by_ids(c, &ids))
    }

    async fn list_groups(&self, account: Option<String>) -> StoreResult<Vec<GroupRow>> {
        read!(self, "list groups", |c| read::groups(c, account.as_deref()))
    }

    async fn group_by_id(&self, id: String) -> StoreResult<GroupRow> {
        read!(self, "read group", |c| read::group_by_id(c, &id))
    }

    async fn metrics(&self) -> StoreResult<lpgate_store::MetricsSnapshot> {
        read!(self, "read metrics", |c| metrics::snapshot(c))
    }

    async fn list_folders(&self, account: Option<String>) -> StoreResult<Vec<FolderRow>> {
        read!(self, "list folders", |c| read::folders(
            c,
            account.as_deref()
        ))
    }

    async fn list_changes(
        &self,
        account: Option<String>,
        since: Option<DateTime<Utc>>,
        kind: Option<String>,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<ChangeRow>> {
        read!(self, "list changes", |c| read::changes(
            c,
            account.as_deref(),
            since.map(utc),
            kind.as_deref(),
            before,
            limit
        ))
    }

    async fn list_events(
        &self,
        account: Option<String>,
        since: Option<DateTime<Utc>>,
        before: Option<(DateTime<Utc>, i64)>,
        limit: usize,
    ) -> StoreResult<Vec<EventRow>> {
        read!(self, "list events", |c| read::events(
            c,
            account.as_deref(),
            since.map(utc),
            before.map(|(t, id)| (utc(t), id)),
            limit
        ))
    }

    async fn query_all(
        &self,
        requests: Vec<QueryRequest>,
    ) -> StoreResult<Vec<StoreResult<QueryResult>>> {
        self.sandboxed_all(requests).await
    }

    async fn search(
        &self,
        text: String,
        account: Option<String>,
        limit: usize,
    ) -> StoreResult<Vec<SearchHit>> {
        read!(self, "search", |c| search::search(
            c,
            &text,
            account.as_deref(),
            limit
        ))
    }

    async fn open_findings(&self, account: AccountId) -> StoreResult<Vec<FindingRow>> {
        read!(self, "read open findings", |c| watch::open_findings(
            c, account
        ))
    }

    async fn write_findings(&self, write: FindingsWrite) -> StoreResult<()> {
        write_tx!(self, "write findings", |tx| watch::write_findings(
            tx, &write
        ))
    }

    async fn list_findings(&self, query: FindingQuery) -> StoreResult<Vec<FindingRow>> {
        read!(self, "list findings", |c| watch::list_findings(c, &query))
    }

    async fn enqueue_notifications(
        &self,
        notifications: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let now = utc(now);
        write_tx!(self, "queue notifications", |tx| async {
            watch::insert_notifications(tx, &notifications, &now)
                .await
                .map_err(backend("queue notifications"))
        })
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        write_tx!(self, "claim deliveries", |tx| watch::claim(
            tx, now, lease, limit
        ))
    }

    async fn record_delivery(
        &self,
        id: i64,
        now: DateTime<Utc>,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()> {
        write!(self, "record delivery", |c| watch::record(
            c, id, now, &outcome
        ))
    }

    async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        read!(self, "list deliveries", |c| watch::list_deliveries(
            c, state, limit
        ))
    }

    async fn retry_deliveries(&self, id: Option<i64>, now: DateTime<Utc>) -> StoreResult<usize> {
        write!(self, "retry deliveries", |c| watch::retry(c, id, now))
    }

    async fn load_hr(&self, people: Vec<HrPerson>, now: DateTime<Utc>) -> StoreResult<usize> {
        write_tx!(self, "load HR list", |tx| watch::load_hr(tx, &people, now))
    }

    async fn create_plan(&self, plan: NewPlan, audit: NewAuditEntry) -> StoreResult<PlanRow> {
        let id = write_tx!(self, "create plan", |tx| act::create(tx, &plan, &audit))?;
        read!(self, "read plan", |c| act::get_plan_row(c, id))
    }

    async fn plan(&self, id: i64) -> StoreResult<(PlanRow, Vec<PlanItemRow>)> {
        read!(self, "read plan", |c| act::get(c, id))
    }

    async fn list_plans(&self, account: Option<String>, limit: usize) -> StoreResult<Vec<PlanRow>> {
        read!(self, "list plans", |c| act::list(
            c,
            account.as_deref(),
            limit
        ))
    }

    async fn approve_plan(&self, id: i64, audit: NewAuditEntry) -> StoreResult<PlanRow> {
        let () = write_tx!(self, "approve plan", |tx| act::approve(tx, id, &audit))?;
        read!(self, "read plan", |c| act::get_plan_row(c, id))
    }

    async fn set_plan_state(
        &self,
        id: i64,
        state: PlanState,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        write!(self, "update plan", |c| act::set_state(c, id, state, now))
    }

    async fn record_items(
        &self,
        plan: i64,
        results: Vec<ItemResult>,
        audit: Vec<NewAuditEntry>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        write_tx!(self, "record plan items", |tx| act::record_items(
            tx, plan, &results, &audit, now
        ))
    }

    async fn append_audit(&self, entries: Vec<NewAuditEntry>) -> StoreResult<()> {
        write_tx!(self, "append audit", |tx| async {
            act::append(tx, &entries)
                .await
                .map_err(backend("append audit"))
        })
    }

    async fn list_audit(&self, query: AuditQuery) -> StoreResult<Vec<AuditRow>> {
        read!(self, "list audit", |c| act::list_audit(c, &query))
    }

    async fn audit_chain(&self) -> StoreResult<Vec<AuditRow>> {
        read!(self, "read audit chain", |c| act::chain(c))
    }

    async fn create_token(&self, token: NewToken) -> StoreResult<TokenRow> {
        write!(self, "create token", |c| tokens::create(c, token))
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRow>> {
        read!(self, "list tokens", |c| tokens::list(c))
    }

    async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<TokenRow> {
        write!(self, "revoke token", |c| tokens::revoke(c, name, now))
    }

    async fn token_by_hash(&self, hash: String) -> StoreResult<Option<TokenRow>> {
        read!(self, "read token", |c| tokens::by_hash(c, &hash))
    }

    async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        write!(self, "record token use", |c| tokens::touch(c, id, now))
    }

    fn data_version(&self) -> Option<u64> {
        self.inner.version.get()
    }

    async fn scim_users(&self, query: ScimUserQuery) -> StoreResult<ScimUserPage> {
        read!(self, "read SCIM users", |c| scim::users(c, &query))
    }

    async fn put_scim_user(&self, account: AccountId, state: ScimUserState) -> StoreResult<()> {
        write!(self, "write SCIM user", |c| scim::put_user(
            c, account, &state
        ))
    }

    async fn delete_scim_user(&self, account: AccountId, user_id: i64) -> StoreResult<()> {
        write!(self, "forget SCIM user", |c| scim::delete_user(
            c, account, user_id
        ))
    }

    async fn scim_groups(
        &self,
        account: AccountId,
        with_members: bool,
    ) -> StoreResult<Vec<ScimGroupRow>> {
        read!(self, "read SCIM groups", |c| scim::groups(
            c,
            account,
            None,
            None,
            with_members
        ))
    }

    async fn scim_group(
        &self,
        account: AccountId,
        id: Option<String>,
        name: Option<String>,
        with_members: bool,
    ) -> StoreResult<Option<ScimGroupRow>> {
        let groups = read!(self, "read SCIM group", |c| scim::groups(
            c,
            account,
            id.as_deref(),
            name.as_deref(),
            with_members
        ))?;
        Ok(groups.into_iter().next())
    }

    async fn put_scim_group(&self, group: NewScimGroup) -> StoreResult<String> {
        write!(self, "write SCIM group", |c| scim::put_group(c, &group))
    }

    async fn delete_scim_group(&self, account: AccountId, id: String) -> StoreResult<()> {
        write!(self, "forget SCIM group", |c| scim::delete_group(
            c, account, &id
        ))
    }

    async fn waiting_plan(
        &self,
        account: AccountId,
        source: String,
    ) -> StoreResult<Option<PlanRow>> {
        read!(self, "find waiting plan", |c| scim::waiting_plan(
            c, account, &source
        ))
    }

    async fn recent_removals(
        &self,
        account: AccountId,
        actor: String,
        since: DateTime<Utc>,
    ) -> StoreResult<usize> {
        read!(self, "count recent removals", |c| scim::recent_removals(
            c, account, &actor, since
        ))
    }
}
