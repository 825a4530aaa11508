//! `impl Store for SqliteStore`: each method moves its work to the blocking pool.

use chrono::{DateTime, Utc};
use lpgate_domain::{FolderRecord, UserRecord};
use lpgate_store::{
    AccountId, AccountLock, AccountRow, ChangeRow, Delivery, DeliveryOutcome, DeliveryState,
    EventRow, FindingQuery, FindingRow, FindingsWrite, FolderRow, GroupRow, HrPerson, NewAccount,
    NewNotification, QueryRequest, QueryResult, RunId, SearchHit, SnapshotIndex, Store,
    StoreResult, SyncRunRow, SyncWrite, UserQuery, UserRow,
};
use lpgate_store::{
    AuditQuery, AuditRow, ItemResult, NewAuditEntry, NewPlan, PlanItemRow, PlanRow, PlanState,
};
use lpgate_store::{NewToken, TokenRow, UserKey, UserPageQuery};

use crate::rows::utc;
use crate::{SqliteStore, accounts, act, lock, pages, read, scim, search, sync, tokens, watch};
use lpgate_store::{
    AccountId as Aid, NewScimGroup, ScimGroupRow, ScimUserPage, ScimUserQuery, ScimUserState,
};

/// A sync's commit checkpoints the WAL once it is at least this large.
const CHECKPOINT_WAL_BYTES: u64 = 4 * 1024 * 1024;

impl Store for SqliteStore {
    async fn add_account(&self, account: NewAccount) -> StoreResult<AccountRow> {
        self.write("add account", move |c| accounts::add(c, account))
            .await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<AccountRow>> {
        self.read("list accounts", accounts::list).await
    }

    async fn account(&self, name: &str) -> StoreResult<AccountRow> {
        let name = name.to_string();
        self.read("read account", move |c| accounts::get(c, &name))
            .await
    }

    async fn set_account_enabled(&self, name: &str, enabled: bool) -> StoreResult<()> {
        let name = name.to_string();
        self.write("update account", move |c| {
            accounts::set_enabled(c, &name, enabled)
        })
        .await
    }

    async fn set_account_provhash(&self, name: &str, sealed: Vec<u8>) -> StoreResult<()> {
        let name = name.to_string();
        self.write("update account", move |c| {
            accounts::set_provhash(c, &name, sealed)
        })
        .await
    }

    async fn set_account_interval(&self, name: &str, secs: i64) -> StoreResult<()> {
        let name = name.to_string();
        self.write("update account", move |c| {
            accounts::set_interval(c, &name, secs)
        })
        .await
    }

    async fn rename_account(&self, name: &str, new_name: &str) -> StoreResult<()> {
        let (name, new_name) = (name.to_string(), new_name.to_string());
        self.write("rename account", move |c| {
            accounts::rename(c, &name, &new_name)
        })
        .await
    }

    async fn remove_account(&self, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.write("remove account", move |c| accounts::remove(c, &name))
            .await
    }

    async fn try_lock_account(&self, account: AccountId) -> StoreResult<Box<dyn AccountLock>> {
        lock::take(self.path().to_path_buf(), account, lock::Kind::Sync).await
    }

    async fn try_lock_automations(&self, account: AccountId) -> StoreResult<Box<dyn AccountLock>> {
        lock::take(self.path().to_path_buf(), account, lock::Kind::Automations).await
    }

    async fn begin_run(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<RunId> {
        self.write("begin sync run", move |c| sync::begin_run(c, account, now))
            .await
    }

    async fn snapshot_index(&self, account: AccountId) -> StoreResult<SnapshotIndex> {
        self.read("read snapshot index", move |c| {
            sync::snapshot_index(c, account)
        })
        .await
    }

    async fn group_names(
        &self,
        account: AccountId,
    ) -> StoreResult<std::collections::BTreeSet<String>> {
        self.read("read group names", move |c| sync::group_names(c, account))
            .await
    }

    async fn expired_passwords_read_at(
        &self,
        account: AccountId,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.read("read expired-password read time", move |c| {
            crate::expired::read_at(c, account)
        })
        .await
    }

    async fn event_watermark(
        &self,
        account: AccountId,
    ) -> StoreResult<Option<chrono::NaiveDateTime>> {
        self.read("read event watermark", move |c| {
            sync::event_watermark(c, account)
        })
        .await
    }

    async fn load_users(
        &self,
        account: AccountId,
        emails: Vec<String>,
    ) -> StoreResult<Vec<UserRecord>> {
        self.read("load users", move |c| sync::load_users(c, account, &emails))
            .await
    }

    async fn load_folders(
        &self,
        account: AccountId,
        ids: Vec<String>,
    ) -> StoreResult<Vec<FolderRecord>> {
        self.read("load folders", move |c| {
            sync::load_folders(c, account, &ids)
        })
        .await
    }

    async fn commit_sync(&self, write: SyncWrite) -> StoreResult<SyncRunRow> {
        let run = self
            .write("write sync", move |c| sync::commit(c, write))
            .await?;
        // A re-read of a few users (after every SCIM write) commits a few pages: checkpointing
        // after each one held the writer for milliseconds. The WAL is folded in once it grows.
        if self.wal_bytes() >= CHECKPOINT_WAL_BYTES {
            self.checkpoint_later();
        }
        Ok(run)
    }

    async fn begin_baseline(
        &self,
        account: AccountId,
        zone: lpgate_domain::AccountZone,
        now: DateTime<Utc>,
    ) -> StoreResult<lpgate_store::BaselineWriter> {
        let (sender, rx) = lpgate_store::baseline_channel();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = store.with_writer("write first snapshot", |conn| {
                let run = sync::baseline(conn, account, zone, now, rx);
                let ok = run.is_ok();
                let _ = done_tx.send(run);
                // The search index is derived data: built for the whole account in one pass
                // just after the snapshot commits (off the sync's path). A process stopped in
                // between leaves `search_ready` 0 and the next sync rebuilds it.
                if ok && let Err(e) = crate::search::ensure_ready(conn, account.0) {
                    tracing::warn!(error = %e, "building the search index failed; the next sync retries");
                }
                // The snapshot and its index fill the WAL: it is folded in while this task
                // still holds the writer, so whoever waits for the writer next (`settled`,
                // the account's next sync) finds it done instead of racing a checkpoint
                // task for the writer and then waiting on it.
                if ok {
                    crate::checkpoint(conn);
                }
                Ok(ok)
            });
            if let Err(e) = result {
                tracing::warn!(error = %e, "the first snapshot's writer task failed");
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
        self.write("claim scheduled sync", move |c| {
            accounts::claim_due(c, account, &now, &first_due, &lease_until)
        })
        .await
    }

    async fn set_next_due(&self, account: AccountId, at: DateTime<Utc>) -> StoreResult<()> {
        let at = utc(at);
        self.write("schedule next sync", move |c| {
            accounts::set_next_due(c, account, &at)
        })
        .await
    }

    async fn fail_run(
        &self,
        run: RunId,
        now: DateTime<Utc>,
        error: String,
    ) -> StoreResult<SyncRunRow> {
        self.write("record failed run", move |c| {
            sync::fail_run(c, run, now, &error)
        })
        .await
    }

    async fn sync_run(&self, id: i64) -> StoreResult<SyncRunRow> {
        self.read("read sync run", move |c| sync::run_by_id(c, id))
            .await
    }

    async fn list_runs(
        &self,
        account: Option<String>,
        limit: usize,
    ) -> StoreResult<Vec<SyncRunRow>> {
        self.read("list sync runs", move |c| {
            sync::list_runs(c, account.as_deref(), limit)
        })
        .await
    }

    async fn list_users(&self, query: UserQuery) -> StoreResult<Vec<UserRow>> {
        self.read("list users", move |c| read::users(c, &query))
            .await
    }

    async fn list_groups(&self, account: Option<String>) -> StoreResult<Vec<GroupRow>> {
        self.read("list groups", move |c| read::groups(c, account.as_deref()))
            .await
    }

    async fn group_by_id(&self, id: String) -> StoreResult<GroupRow> {
        self.read("read group", move |c| crate::metrics::group_by_id(c, &id))
            .await
    }

    async fn metrics(&self) -> StoreResult<lpgate_store::MetricsSnapshot> {
        self.read("read metrics", crate::metrics::snapshot).await
    }

    async fn list_folders(&self, account: Option<String>) -> StoreResult<Vec<FolderRow>> {
        self.read("list folders", move |c| {
            read::folders(c, account.as_deref())
        })
        .await
    }

    async fn list_changes(
        &self,
        account: Option<String>,
        since: Option<DateTime<Utc>>,
        kind: Option<String>,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<ChangeRow>> {
        self.read("list changes", move |c| {
            read::changes(
                c,
                account.as_deref(),
                since.map(utc),
                kind.as_deref(),
                before,
                limit,
            )
        })
        .await
    }

    async fn list_events(
        &self,
        account: Option<String>,
        since: Option<DateTime<Utc>>,
        before: Option<(DateTime<Utc>, i64)>,
        limit: usize,
    ) -> StoreResult<Vec<EventRow>> {
        self.read("list events", move |c| {
            read::events(
                c,
                account.as_deref(),
                since.map(utc),
                before.map(|(t, id)| (utc(t), id)),
                limit,
            )
        })
        .await
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
        self.read("search", move |c| {
            search::search(c, &text, account.as_deref(), limit)
        })
        .await
    }

    async fn open_findings(&self, account: AccountId) -> StoreResult<Vec<FindingRow>> {
        self.read("read open findings", move |c| {
            watch::open_findings(c, account)
        })
        .await
    }

    async fn write_findings(&self, write: FindingsWrite) -> StoreResult<()> {
        self.write("write findings", move |c| watch::write_findings(c, &write))
            .await
    }

    async fn list_findings(&self, query: FindingQuery) -> StoreResult<Vec<FindingRow>> {
        self.read("list findings", move |c| watch::list_findings(c, &query))
            .await
    }

    async fn enqueue_notifications(
        &self,
        notifications: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write("queue notifications", move |c| {
            watch::enqueue(c, &notifications, now)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        self.write("claim deliveries", move |c| {
            watch::claim(c, now, lease, limit)
        })
        .await
    }

    async fn record_delivery(
        &self,
        id: i64,
        now: DateTime<Utc>,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()> {
        self.write("record delivery", move |c| {
            watch::record(c, id, now, &outcome)
        })
        .await
    }

    async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        self.read("list deliveries", move |c| {
            watch::list_deliveries(c, state, limit)
        })
        .await
    }

    async fn retry_deliveries(&self, id: Option<i64>, now: DateTime<Utc>) -> StoreResult<usize> {
        self.write("retry deliveries", move |c| watch::retry(c, id, now))
            .await
    }

    async fn load_hr(&self, people: Vec<HrPerson>, now: DateTime<Utc>) -> StoreResult<usize> {
        self.write("load HR list", move |c| watch::load_hr(c, &people, now))
            .await
    }

    async fn create_plan(&self, plan: NewPlan, audit: NewAuditEntry) -> StoreResult<PlanRow> {
        self.write("create plan", move |c| act::create(c, &plan, &audit))
            .await
    }

    async fn plan(&self, id: i64) -> StoreResult<(PlanRow, Vec<PlanItemRow>)> {
        self.read("read plan", move |c| act::get(c, id)).await
    }

    async fn list_plans(&self, account: Option<String>, limit: usize) -> StoreResult<Vec<PlanRow>> {
        self.read("list plans", move |c| {
            act::list(c, account.as_deref(), limit)
        })
        .await
    }

    async fn approve_plan(&self, id: i64, audit: NewAuditEntry) -> StoreResult<PlanRow> {
        self.write("approve plan", move |c| act::approve(c, id, &audit))
            .await
    }

    async fn set_plan_state(
        &self,
        id: i64,
        state: PlanState,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write("update plan", move |c| act::set_state(c, id, state, now))
            .await
    }

    async fn record_items(
        &self,
        plan: i64,
        results: Vec<ItemResult>,
        audit: Vec<NewAuditEntry>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write("record plan items", move |c| {
            act::record_items(c, plan, &results, &audit, now)
        })
        .await
    }

    async fn append_audit(&self, entries: Vec<NewAuditEntry>) -> StoreResult<()> {
        self.write("append audit", move |c| act::append_entries(c, &entries))
            .await
    }

    async fn list_audit(&self, query: AuditQuery) -> StoreResult<Vec<AuditRow>> {
        self.read("list audit", move |c| act::list_audit(c, &query))
            .await
    }

    async fn audit_chain(&self) -> StoreResult<Vec<AuditRow>> {
        self.read("read audit chain", act::chain).await
    }

    async fn page_users(&self, query: UserPageQuery) -> StoreResult<Vec<UserRow>> {
        // A short unfiltered page is a few index ranges (about a millisecond): run it here
        // rather than pay two thread switches; filtered or long pages may scan, so they go
        // to the blocking pool.
        if query.limit <= 256
            && query.text.is_none()
            && query.group.is_none()
            && query.words.is_none()
            && query.sort.is_none()
        {
            return self.read_now(|c| pages::page(c, &query));
        }
        self.read("page users", move |c| pages::page(c, &query))
            .await
    }

    async fn page_user_keys(&self, query: UserPageQuery) -> StoreResult<Vec<UserKey>> {
        // Index-only reads when unfiltered; see `page_users` for which run here.
        if query.limit <= 1001
            && query.text.is_none()
            && query.group.is_none()
            && query.words.is_none()
            && query.sort.is_none()
        {
            return self.read_now(|c| pages::keys(c, &query));
        }
        self.read("page user keys", move |c| pages::keys(c, &query))
            .await
    }

    async fn users_by_ids(&self, ids: Vec<i64>) -> StoreResult<Vec<UserRow>> {
        if ids.len() <= 16 {
            return self.read_now(|c| pages::by_ids(c, &ids));
        }
        self.read("read users", move |c| pages::by_ids(c, &ids))
            .await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<UserRow> {
        // A point read by primary key: tens of microseconds, less than the two thread
        // switches of the blocking pool would cost.
        self.read_now(|c| pages::by_id(c, id))
    }

    async fn create_token(&self, token: NewToken) -> StoreResult<TokenRow> {
        self.write("create token", move |c| tokens::create(c, token))
            .await
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRow>> {
        self.read("list tokens", tokens::list).await
    }

    async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<TokenRow> {
        let name = name.to_string();
        self.write("revoke token", move |c| tokens::revoke(c, &name, now))
            .await
    }

    async fn token_by_hash(&self, hash: String) -> StoreResult<Option<TokenRow>> {
        self.read("read token", move |c| tokens::by_hash(c, &hash))
            .await
    }

    async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        self.write("record token use", move |c| tokens::touch(c, id, now))
            .await
    }
    fn data_version(&self) -> Option<u64> {
        self.data_version_now()
    }

    async fn scim_users(&self, query: ScimUserQuery) -> StoreResult<ScimUserPage> {
        self.read("read SCIM users", move |c| scim::users(c, &query))
            .await
    }

    async fn put_scim_user(&self, account: Aid, state: ScimUserState) -> StoreResult<()> {
        self.write("write SCIM user", move |c| {
            scim::put_user(c, account, &state)
        })
        .await
    }

    async fn delete_scim_user(&self, account: Aid, user_id: i64) -> StoreResult<()> {
        self.write("forget SCIM user", move |c| {
            scim::delete_user(c, account, user_id)
        })
        .await
    }

    async fn scim_groups(
        &self,
        account: Aid,
        with_members: bool,
    ) -> StoreResult<Vec<ScimGroupRow>> {
        self.read("read SCIM groups", move |c| {
            scim::groups(c, account, None, None, with_members)
        })
        .await
    }

    async fn scim_group(
        &self,
        account: Aid,
        id: Option<String>,
        name: Option<String>,
        with_members: bool,
    ) -> StoreResult<Option<ScimGroupRow>> {
        self.read("read SCIM group", move |c| {
            Ok(
                scim::groups(c, account, id.as_deref(), name.as_deref(), with_members)?
                    .into_iter()
                    .next(),
            )
        })
        .await
    }

    async fn put_scim_group(&self, group: NewScimGroup) -> StoreResult<String> {
        self.write("write SCIM group", move |c| scim::put_group(c, &group))
            .await
    }

    async fn delete_scim_group(&self, account: Aid, id: String) -> StoreResult<()> {
        self.write("forget SCIM group", move |c| {
            scim::delete_group(c, account, &id)
        })
        .await
    }

    async fn waiting_plan(&self, account: Aid, source: String) -> StoreResult<Option<PlanRow>> {
        self.read("find waiting plan", move |c| {
            scim::waiting_plan(c, account, &source)
        })
        .await
    }

    async fn recent_removals(
        &self,
        account: Aid,
        actor: String,
        since: DateTime<Utc>,
    ) -> StoreResult<usize> {
        self.read("count recent removals", move |c| {
            scim::recent_removals(c, account, &actor, since)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use lpgate_store::{AccountEndpoint, Fingerprinted, NewAccount, Store, SyncWrite};

    use crate::SqliteStore;

    /// A first snapshot's WAL is folded into the database before the writer is free again:
    /// whoever waits for the writer next (`settled`, the account's next sync) finds the
    /// checkpoint done rather than racing a checkpoint task for the writer and then waiting
    /// on it (the next sync of a 100,000-user account waited about 0.2 s).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_first_snapshot_is_checkpointed_before_the_writer_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("lpgate.sqlite"))
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let account = store
            .add_account(NewAccount {
                name: "acme".into(),
                cid: 1,
                endpoint: AccountEndpoint::Region("us".into()),
                provhash_sealed: vec![1],
                time_zone: "UTC".into(),
                sync_interval_secs: 900,
                now,
            })
            .await
            .unwrap();
        let run = store.begin_run(account.id, now).await.unwrap();
        let writer = store
            .begin_baseline(account.id, lpgate_domain::AccountZone::default(), now)
            .await
            .unwrap();
        let users: Vec<Fingerprinted<lpgate_domain::UserRecord>> = (0..5000)
            .map(|i| {
                let record: lpgate_domain::UserRecord = serde_json::from_value(serde_json::json!({
                    "email": format!("user{i}@acme.io"), "lastpass_id": i.to_string(),
                    "fullname": format!("User Number {i}"), "status": "Active", "admin": false,
                    "disabled": false, "never_logged_in": false, "invited_only": false,
                    "password_reset_required": false, "groups": ["Staff"],
                }))
                .unwrap();
                Fingerprinted {
                    fingerprint: record.fingerprint(),
                    record,
                }
            })
            .collect();
        assert!(writer.add_users(users));
        let done = writer
            .finish(SyncWrite {
                users_fetched: 5000,
                ..SyncWrite::nothing(account.id, run, now, lpgate_domain::AccountZone::default())
            })
            .await
            .unwrap();
        assert_eq!(done.users, 5000);
        store.settled().await.unwrap();
        assert_eq!(
            store.wal_bytes(),
            0,
            "the WAL still held the first snapshot once the writer was free"
        );
    }
}
