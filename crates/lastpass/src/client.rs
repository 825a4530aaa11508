//! The client: one method per Enterprise API command.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{ClientConfig, RetryPolicy};
use crate::credentials::{Cid, ProvisioningHash};
use crate::error::Error;
use crate::lenient;
use crate::transport::{Replay, decode, not_json, parse_json};
use crate::types::events::{Event, EventQuery, ReportingReply};
use crate::types::folders::{FolderReply, SharedFolder, status_messages};
use crate::types::misc::{ExpiredPassword, ExpiredReply, PushReply, PushSite};
use crate::types::reply::{StatusReply, WriteOutcome};
use crate::types::users::{Directory, User, UserDataReply, UserFilter};
use crate::types::writes::{
    DeleteAction, GroupChange, NewUser, ToggleOutcome, UserUpdate, check_email,
};

/// Commands that only read, so the raw pass-through may retry them freely.
const READ_COMMANDS: &[&str] = &[
    "getuserdata",
    "getsfdata",
    "getdetailedsfdata",
    "reporting",
    "expiredmasterpwlist",
];

/// The most pages a listing may take (100 million users at 2,000 a page): a bound on what a
/// broken or hostile `total` can make the client request.
const MAX_PAGES: u64 = 50_000;

/// How many times a paged listing is restarted when the company changed while it was read.
const LISTING_RESTARTS: u32 = 2;

/// A client of one LastPass business account's Enterprise API.
///
/// Cheap to clone (the HTTP connection pool is shared). `Debug` shows the endpoint and CID,
/// never the provisioning hash.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: String,
    pub(crate) cid: Cid,
    pub(crate) provhash: ProvisioningHash,
    pub(crate) retry: RetryPolicy,
    pub(crate) request_timeout: Duration,
    page_size: u32,
    page_concurrency: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("cid", &self.cid)
            .field("provhash", &self.provhash)
            .finish_non_exhaustive()
    }
}

/// A spawned page fetch that is aborted when dropped: a listing that fails on one page
/// (or is itself dropped) stops the pages still in flight instead of leaving them running.
struct PageTask(tokio::task::JoinHandle<Result<Page, Error>>);

impl Drop for PageTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::future::Future for PageTask {
    type Output = Result<Result<Page, Error>, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// A page request of `getuserdata`.
#[derive(Serialize)]
struct PageRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagesize: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pageindex: Option<u64>,
}

/// The reply of `disableuser` / `enableuser`.
#[derive(Deserialize, Default)]
struct ToggleReply {
    #[serde(default, deserialize_with = "lenient::text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    disabled_users: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    enabled_users: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    unchanged_users: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    errors: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    error: Vec<String>,
}

/// What one getuserdata page brought.
struct Page {
    total: Option<u64>,
    count: usize,
    reply: UserDataReply,
}

/// HTTP connections several accounts' clients share.
///
/// A worker syncing hundreds of accounts talks to one LastPass host: with one pool, a sync
/// finds a connection already open (no new TLS handshake) and the TLS root certificates are
/// loaded once, not for every client (about 3 % of a worker's CPU when each scheduled sync
/// built its own). Cheap to clone. Use it within one tokio runtime: its open connections
/// belong to the runtime that opened them.
#[derive(Clone, Debug)]
pub struct Connections {
    http: reqwest::Client,
    request_timeout: Duration,
}

impl Connections {
    /// A pool whose connections open within `connect_timeout` and whose requests, reply body
    /// included, end within `request_timeout`.
    pub fn new(connect_timeout: Duration, request_timeout: Duration) -> Result<Self, Error> {
        reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .user_agent(concat!("lpgate/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(8)
            .build()
            .map(|http| Connections {
                http,
                request_timeout,
            })
            .map_err(|e| Error::Setup(e.to_string()))
    }
}

impl Client {
    /// Builds a client with connections of its own; nothing is sent until a command is
    /// called.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let connections = Connections::new(config.connect_timeout, config.request_timeout)?;
        Self::over(config, &connections)
    }

    /// Builds a client that uses `connections`, and so their timeouts rather than the
    /// config's.
    pub fn over(config: ClientConfig, connections: &Connections) -> Result<Self, Error> {
        if config.page_size == 0 {
            return Err(Error::InvalidInput {
                field: "page_size",
                value: "0".to_string(),
                reason: "a page must hold at least one user",
            });
        }
        Ok(Client {
            http: connections.http.clone(),
            endpoint: config.base_url.endpoint(),
            cid: config.cid,
            provhash: config.provhash,
            retry: config.retry,
            request_timeout: connections.request_timeout,
            page_size: config.page_size,
            page_concurrency: config.page_concurrency.max(1),
        })
    }

    /// The URL every command is posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The account's company ID.
    pub fn cid(&self) -> Cid {
        self.cid
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, cmd: &str, bytes: &[u8]) -> Result<T, Error> {
        decode(cmd, bytes, self.provhash.expose())
    }

    /// Proves the credentials work with the cheapest real call: one one-user page of
    /// `getuserdata`, the same call a sync starts with. Returns the company's user count.
    pub async fn check(&self) -> Result<u64, Error> {
        let page = self.user_page(UserFilter::All, 1, 0).await?;
        Ok(page.total.unwrap_or(page.count as u64))
    }

    /// Lists the whole directory (`getuserdata`), page by page, as one complete listing.
    ///
    /// Fails rather than return a shorter list: a page that fails after retries, or a company
    /// that kept changing while it was paged, is an error, because a missing user would later
    /// be mistaken for a departure.
    pub async fn get_user_data(&self, filter: UserFilter) -> Result<Directory, Error> {
        let mut restarts = 0;
        loop {
            let mut acc = Accumulator::default();
            match self.list_once(filter, &mut acc).await {
                Err(Error::Incomplete { .. }) if restarts < LISTING_RESTARTS => {
                    restarts += 1;
                    tracing::warn!(restarts, "company changed while paging; listing again");
                }
                Ok(total) => return Ok(acc.finish(total)),
                Err(e) => return Err(e),
            }
        }
    }

    /// Lists the directory like [`Client::get_user_data`], handing each page's new users to
    /// `sink` as soon as the page is read, so the caller can process one page while the next
    /// ones are on the wire. The same guarantees hold — but only when this returns `Ok`: on an
    /// error the pages already handed over are a partial listing and must be discarded. It is
    /// not restarted when the company changes while it is paged (the caller cannot take pages
    /// back); that is `Error::Incomplete`.
    pub async fn stream_user_data<F>(
        &self,
        filter: UserFilter,
        sink: F,
    ) -> Result<StreamedListing, Error>
    where
        F: FnMut(Vec<User>) + Send,
    {
        let mut streamer = Streamer {
            seen: SeenIds::default(),
            invited: Vec::new(),
            sink,
        };
        let total = self.list_once(filter, &mut streamer).await?;
        let mut invited = streamer.invited;
        invited.sort();
        invited.dedup();
        Ok(StreamedListing { total, invited })
    }

    async fn list_once<C: Collector>(&self, filter: UserFilter, acc: &mut C) -> Result<u64, Error> {
        let first = self.user_page(filter, self.page_size, 0).await?;
        // A server that caps the page size below ours answers page 0 short while `total`
        // says more exist: list again with its page size, or every sync would fail.
        let size = match first.total {
            Some(t)
                if first.count > 0
                    && first.count < self.page_size as usize
                    && t > first.count as u64 =>
            {
                tracing::info!(
                    page_size = first.count,
                    "LastPass caps the page size; paging with its size"
                );
                first.count as u32
            }
            _ => self.page_size,
        };
        if size != self.page_size {
            let first = self.user_page(filter, size, 0).await?;
            return self.list_from(filter, size, first, acc).await;
        }
        self.list_from(filter, size, first, acc).await
    }

    /// Pages through the listing into `acc`; returns the total of a complete listing.
    async fn list_from<C: Collector>(
        &self,
        filter: UserFilter,
        size: u32,
        first: Page,
        acc: &mut C,
    ) -> Result<u64, Error> {
        const CMD: &str = "getuserdata";
        let total = first.total;
        if let Some(t) = total
            && t.div_ceil(u64::from(size)) > MAX_PAGES
        {
            return Err(Error::Decode {
                command: CMD.to_string(),
                reason: format!("LastPass reported an implausible total of {t} users"),
                snippet: String::new(),
            });
        }
        let mut last_count = first.count;
        let mut totals_agree = true;
        acc.add(first.reply);
        let mut next_index = 1u64;
        if let Some(total) = total
            && last_count >= size as usize
        {
            // The first page says how many follow: fetch them concurrently, in order. Each
            // page is its own task, so the pages' JSON is decoded on every core at once
            // rather than one after another in this task (decoding is most of a page's CPU).
            let pages = total.div_ceil(u64::from(size)).max(1);
            let mut fetched = stream::iter(1..pages)
                .map(|i| {
                    let client = self.clone();
                    PageTask(tokio::spawn(async move {
                        client.user_page(filter, size, i).await
                    }))
                })
                .buffered(self.page_concurrency);
            while let Some(page) = fetched.next().await {
                let page = page.map_err(|e| self.page_task_failed(CMD, e))??;
                totals_agree &= page.total == Some(total);
                last_count = page.count;
                acc.add(page.reply);
                next_index += 1;
            }
        }
        // Keep going while pages are full, in case users were added meanwhile; a page that
        // brings no new user means the server ignores paging (everything was already read).
        while last_count >= size as usize
            && total.is_none_or(|t| (acc.len() as u64) < t)
            && next_index < MAX_PAGES
        {
            let page = self.user_page(filter, size, next_index).await?;
            totals_agree &= page.total == total;
            last_count = page.count;
            if page.count == 0 || acc.add(page.reply) == 0 {
                break;
            }
            next_index += 1;
        }
        let got = acc.len() as u64;
        let expected = total.unwrap_or(got);
        if !totals_agree || got < expected {
            return Err(Error::Incomplete {
                command: CMD.to_string(),
                expected,
                got,
            });
        }
        if got == 0 && filter == UserFilter::All {
            // Every business account has at least the admin who created the hash: an empty
            // listing is a broken reply, and taking it as one would deprovision everyone.
            return Err(Error::Decode {
                command: CMD.to_string(),
                reason: "LastPass listed no users at all; a business account always has at least one admin".into(),
                snippet: String::new(),
            });
        }
        Ok(expected)
    }

    /// A page task that did not finish: a panic goes on unwinding in the caller; a task
    /// cancelled because the runtime is shutting down fails the listing.
    fn page_task_failed(&self, command: &str, err: tokio::task::JoinError) -> Error {
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => Error::Transport {
                command: command.to_string(),
                endpoint: self.endpoint.clone(),
                attempts: 1,
                reason: format!("the page request was cancelled: {err}"),
            },
        }
    }

    async fn user_page(&self, filter: UserFilter, size: u32, index: u64) -> Result<Page, Error> {
        const CMD: &str = "getuserdata";
        let req = PageRequest {
            username: None,
            disabled: (filter == UserFilter::Disabled).then_some(1),
            admin: (filter == UserFilter::Admins).then_some(1),
            pagesize: Some(size),
            pageindex: Some(index),
        };
        let reply: UserDataReply = self
            .call(CMD, Some(&req), Replay::Safe, |b| self.decode(CMD, b))
            .await?;
        check_reply(CMD, reply.status.as_deref(), &reply.errors, &reply.error)
            .map_err(|e| e.masked(self.provhash.expose()))?;
        Ok(Page {
            total: reply.total,
            count: reply.users.0.len(),
            reply,
        })
    }

    /// One user by email, or `None` when LastPass has no such user (`{"Users":[]}`).
    pub async fn get_user(&self, username: &str) -> Result<Option<User>, Error> {
        const CMD: &str = "getuserdata";
        check_email("username", username)?;
        let req = PageRequest {
            username: Some(username),
            disabled: None,
            admin: None,
            pagesize: None,
            pageindex: None,
        };
        let reply: UserDataReply = self
            .call(CMD, Some(&req), Replay::Safe, |b| self.decode(CMD, b))
            .await?;
        check_reply(CMD, reply.status.as_deref(), &reply.errors, &reply.error)
            .map_err(|e| e.masked(self.provhash.expose()))?;
        Ok(reply
            .users
            .0
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(username)))
    }

    /// Every shared folder and its members' permissions (`getsfdata`).
    pub async fn get_shared_folders(&self) -> Result<Vec<SharedFolder>, Error> {
        const CMD: &str = "getsfdata";
        self.call(CMD, Some(&"all"), Replay::Safe, |b| {
            parse_folders(CMD, b, self.provhash.expose())
        })
        .await
    }

    /// Shared folders with each member's site domains (`getdetailedsfdata`), paged by folder.
    ///
    /// This command is the one LastPass throttles first (HTTP 429); the retry policy honours
    /// `Retry-After`.
    pub async fn get_detailed_shared_folders(&self) -> Result<Vec<SharedFolder>, Error> {
        const CMD: &str = "getdetailedsfdata";
        let size = self.page_size.min(500);
        let mut out: Vec<SharedFolder> = Vec::new();
        let mut seen = HashSet::new();
        for index in 0u64.. {
            // The shape the Elastic integration sends in production.
            let data = json!({"data": "all", "pageindex": index.to_string(), "pagesize": size.to_string()});
            let page: Vec<SharedFolder> = self
                .call(CMD, Some(&data), Replay::Safe, |b| {
                    parse_folders(CMD, b, self.provhash.expose())
                })
                .await?;
            let n = page.len();
            let mut fresh = 0;
            for f in page {
                if seen.insert(f.id.clone()) {
                    fresh += 1;
                    out.push(f);
                }
            }
            // An empty page ends the listing, and so does a page of nothing new (a server that
            // ignores paging sends everything every time). A short page does not: a server
            // that caps the page size answers every page short.
            if n == 0 || fresh == 0 || index + 1 >= MAX_PAGES {
                break;
            }
        }
        Ok(out)
    }

    /// Creates users, or updates those that exist (`batchadd`). Not retried once sent, since
    /// a repeat could send a second activation email.
    pub async fn batch_add(&self, users: &[NewUser]) -> Result<WriteOutcome, Error> {
        for u in users {
            check_email("username", &u.username)?;
        }
        self.write("batchadd", &users, Replay::OnlyIfUnsent).await
    }

    /// Adds users to and removes them from groups (`batchchangegrp`); groups are created on
    /// first use. Safe to repeat.
    pub async fn batch_change_groups(
        &self,
        changes: &[GroupChange],
    ) -> Result<WriteOutcome, Error> {
        for c in changes {
            check_email("username", &c.username)?;
        }
        self.write("batchchangegrp", &changes, Replay::Safe).await
    }

    /// Deactivates, removes, deletes or uninvites one user (`deluser`). Only deactivation is
    /// retried after it may have reached LastPass: a repeated remove or delete would fail on a
    /// user that is already gone.
    pub async fn delete_user(
        &self,
        username: &str,
        action: DeleteAction,
    ) -> Result<WriteOutcome, Error> {
        check_email("username", username)?;
        let replay = if action == DeleteAction::Deactivate {
            Replay::Safe
        } else {
            Replay::OnlyIfUnsent
        };
        let data = json!({"username": username, "deleteaction": action});
        self.write("deluser", &data, replay).await
    }

    /// Disables users by email (`disableuser`). Safe to repeat.
    pub async fn disable_users(&self, usernames: &[String]) -> Result<ToggleOutcome, Error> {
        self.toggle("disableuser", usernames).await
    }

    /// Re-enables users by email (`enableuser`). Safe to repeat.
    pub async fn enable_users(&self, usernames: &[String]) -> Result<ToggleOutcome, Error> {
        self.toggle("enableuser", usernames).await
    }

    async fn toggle(
        &self,
        cmd: &'static str,
        usernames: &[String],
    ) -> Result<ToggleOutcome, Error> {
        for u in usernames {
            check_email("username", u)?;
        }
        let reply: ToggleReply = self
            .call(cmd, Some(&usernames), Replay::Safe, |b| self.decode(cmd, b))
            .await?;
        let status = reply.status.as_deref().map(str::to_ascii_lowercase);
        let mut errors = reply.errors;
        errors.extend(reply.error);
        let ok = matches!(
            status.as_deref(),
            Some("success") | Some("ok") | Some("warn")
        );
        if !ok {
            return Err(Error::Rejected {
                command: cmd.to_string(),
                errors: if errors.is_empty() {
                    vec![format!(
                        "status {}",
                        reply.status.unwrap_or_else(|| "missing".into())
                    )]
                } else {
                    errors
                },
            }
            .masked(self.provhash.expose()));
        }
        let mut changed = reply.disabled_users;
        changed.extend(reply.enabled_users);
        Ok(ToggleOutcome {
            changed,
            unchanged: reply.unchanged_users,
            error: (!errors.is_empty())
                .then(|| crate::transport::mask(&errors.join("; "), self.provhash.expose())),
        })
    }

    /// Changes a user's name or MFA usernames (`updateuser`). Safe to repeat.
    pub async fn update_user(&self, update: &UserUpdate) -> Result<WriteOutcome, Error> {
        check_email("username", &update.username)?;
        self.write("updateuser", update, Replay::Safe).await
    }

    /// Emails the user a master password reset (`resetpassword`). Not repeated once sent.
    pub async fn reset_password(&self, username: &str) -> Result<WriteOutcome, Error> {
        self.single("resetpassword", username, Replay::OnlyIfUnsent)
            .await
    }

    /// Forces a master password change at next login (`requiremasterpasswordchange`).
    pub async fn require_master_password_change(
        &self,
        username: &str,
    ) -> Result<WriteOutcome, Error> {
        self.single("requiremasterpasswordchange", username, Replay::Safe)
            .await
    }

    /// Sends the invitation again (`reinviteuser`). Not repeated once sent.
    pub async fn reinvite_user(&self, username: &str) -> Result<WriteOutcome, Error> {
        self.single("reinviteuser", username, Replay::OnlyIfUnsent)
            .await
    }

    /// Turns off the user's multifactor authentication (`disablemultifactor`).
    pub async fn disable_multifactor(&self, username: &str) -> Result<WriteOutcome, Error> {
        self.single("disablemultifactor", username, Replay::Safe)
            .await
    }

    async fn single(
        &self,
        cmd: &'static str,
        username: &str,
        replay: Replay,
    ) -> Result<WriteOutcome, Error> {
        check_email("username", username)?;
        self.write(cmd, &json!({ "username": username }), replay)
            .await
    }

    async fn write<D: Serialize>(
        &self,
        cmd: &'static str,
        data: &D,
        replay: Replay,
    ) -> Result<WriteOutcome, Error> {
        let reply: StatusReply = self
            .call(cmd, Some(data), replay, |b| self.decode(cmd, b))
            .await?;
        reply
            .into_outcome(cmd)
            .map_err(|e| e.masked(self.provhash.expose()))
    }

    /// Reads the event log (`reporting`), newest first, following `next` until complete or
    /// until `query.limit` events were read.
    pub async fn reporting(&self, query: &EventQuery) -> Result<Vec<Event>, Error> {
        const CMD: &str = "reporting";
        let fmt = |d: chrono::NaiveDateTime| d.format(lenient::DATE_FORMAT).to_string();
        let mut data = serde_json::Map::new();
        if let Some(from) = query.from {
            data.insert("from".into(), Value::String(fmt(from)));
        }
        if let Some(to) = query.to {
            data.insert("to".into(), Value::String(fmt(to)));
        }
        data.insert(
            "user".into(),
            Value::String(query.user.clone().unwrap_or_else(|| "allusers".into())),
        );
        if let Some(search) = &query.search {
            data.insert("search".into(), Value::String(search.clone()));
        }
        if query.admin_only {
            data.insert("admin".into(), Value::String("1".into()));
        }
        let mut events = Vec::new();
        let mut seen_cursors = HashSet::new();
        let mut last_cursor: Option<i64> = None;
        loop {
            let reply: ReportingReply = self
                .call(CMD, Some(&data), Replay::Safe, |b| self.decode(CMD, b))
                .await?;
            check_reply(CMD, reply.status.as_deref(), &reply.errors, &reply.error)
                .map_err(|e| e.masked(self.provhash.expose()))?;
            events.extend(reply.data.0);
            if let Some(limit) = query.limit
                && events.len() >= limit
            {
                events.truncate(limit);
                break;
            }
            match reply.next {
                None | Some(Value::Null) => break,
                Some(Value::String(s)) if s.is_empty() => break,
                Some(next) => {
                    // `next` is a microsecond timestamp that only moves back in time; a
                    // cursor seen before, or one that does not move back, would loop forever.
                    let moved_back = match (
                        next.as_i64()
                            .or_else(|| next.as_str().and_then(|t| t.parse().ok())),
                        last_cursor,
                    ) {
                        (Some(n), Some(last)) => n < last,
                        _ => true,
                    };
                    if !moved_back
                        || !seen_cursors.insert(next.to_string())
                        || seen_cursors.len() > MAX_PAGES as usize
                    {
                        return Err(Error::Decode {
                            command: CMD.to_string(),
                            reason: format!(
                                "LastPass's next cursor did not move back in time ({next})"
                            ),
                            snippet: String::new(),
                        });
                    }
                    last_cursor = next
                        .as_i64()
                        .or_else(|| next.as_str().and_then(|t| t.parse().ok()));
                    data.insert("next".into(), next);
                }
            }
        }
        Ok(events)
    }

    /// Pushes a site into users' vaults (`pushsitestousers`); returns the push id. Not
    /// repeated once sent (a repeat pushes a duplicate).
    pub async fn push_site(&self, site: &PushSite) -> Result<String, Error> {
        const CMD: &str = "pushsitestousers";
        let reply: PushReply = self
            .call(CMD, Some(site), Replay::OnlyIfUnsent, |b| {
                self.decode(CMD, b)
            })
            .await?;
        let psid = reply.psid.clone();
        StatusReply {
            status: reply.status,
            errors: reply.errors,
            error: reply.error,
        }
        .into_outcome(CMD)
        .map_err(|e| e.masked(self.provhash.expose()))?;
        psid.ok_or_else(|| Error::Decode {
            command: CMD.to_string(),
            reason: "the reply has no psid".to_string(),
            snippet: String::new(),
        })
    }

    /// Users whose master password has expired (`expiredmasterpwlist`), all pages.
    pub async fn expired_master_passwords(&self) -> Result<Vec<ExpiredPassword>, Error> {
        const CMD: &str = "expiredmasterpwlist";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen_tokens: HashSet<String> = HashSet::new();
        loop {
            let mut data = json!({"limit": 500});
            if let Some(t) = &token {
                data["continuation_token"] = Value::String(t.clone());
            }
            let reply: ExpiredReply = self
                .call(CMD, Some(&data), Replay::Safe, |b| self.decode(CMD, b))
                .await?;
            check_reply(CMD, reply.status.as_deref(), &reply.errors, &reply.error)
                .map_err(|e| e.masked(self.provhash.expose()))?;
            out.extend(reply.items.unwrap_or_default());
            let next = reply.continuation.and_then(|c| {
                c.token
                    .filter(|_| c.remaining_item_count.is_none_or(|n| n > 0))
            });
            match next {
                Some(t)
                    if seen_tokens.len() < MAX_PAGES as usize && seen_tokens.insert(t.clone()) =>
                {
                    token = Some(t)
                }
                Some(_) => {
                    return Err(Error::Decode {
                        command: CMD.to_string(),
                        reason: "LastPass returned a continuation token it had returned before"
                            .to_string(),
                        snippet: String::new(),
                    });
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// Sends any command with any `data` and returns the reply as JSON: the 1:1 pass-through.
    ///
    /// Known read commands are retried like reads; anything else only when it cannot have
    /// been processed. An XML error body becomes the matching error.
    pub async fn raw(&self, cmd: &str, data: Option<&Value>) -> Result<Value, Error> {
        if cmd.is_empty()
            || cmd.len() > 64
            || !cmd.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(Error::InvalidInput {
                field: "cmd",
                value: cmd.to_string(),
                reason: "a command is 1-64 letters, digits or underscores",
            });
        }
        let replay = if READ_COMMANDS.contains(&cmd) {
            Replay::Safe
        } else {
            Replay::OnlyIfUnsent
        };
        self.call(cmd, data, replay, |b| {
            parse_json::<Value>(b)
                .map_err(|e| not_json(cmd, b, self.provhash.expose(), e.to_string()))
        })
        .await
    }
}

/// A read reply that carries a failure status or errors instead of data is an error.
fn check_reply(
    cmd: &str,
    status: Option<&str>,
    errors: &[String],
    error: &[String],
) -> Result<(), Error> {
    let messages: Vec<String> = errors.iter().chain(error).cloned().collect();
    StatusReply::check_read(status, messages, cmd)
}

/// `getsfdata` replies are a bare map of folders; `status`/`errors` keys may appear among them.
fn parse_folders(cmd: &str, bytes: &[u8], secret: &str) -> Result<Vec<SharedFolder>, Error> {
    let (mut out, status, messages) = match parse_json::<FolderReply>(bytes) {
        Ok(FolderReply::Map {
            folders,
            status,
            messages,
        }) => (folders, status, messages),
        Ok(FolderReply::Empty) => return Ok(Vec::new()),
        Ok(FolderReply::Other(kind)) => {
            return Err(Error::Decode {
                command: cmd.to_string(),
                reason: format!("expected an object of folders, got {kind}"),
                snippet: String::new(),
            });
        }
        // JSON, but something in it is not a folder as expected: read it again as a whole
        // value, which checks the status first and names the folder (the rare path).
        Err(e) if e.is_data() => return parse_folders_as_value(cmd, bytes, secret),
        Err(e) => return Err(not_json(cmd, bytes, secret, e.to_string())),
    };
    StatusReply::check_read(status.as_deref(), messages, cmd)?;
    out.sort_by(|a, b| numeric_order(&a.id, &b.id));
    Ok(out)
}

/// `parse_folders` for a reply its one-pass read refused: the whole reply as a JSON value,
/// then its status, then each folder. A failure status wins over a misshapen folder, and a
/// key given twice counts once (its last value), as JSON readers usually take it.
fn parse_folders_as_value(
    cmd: &str,
    bytes: &[u8],
    secret: &str,
) -> Result<Vec<SharedFolder>, Error> {
    let map = match parse_json::<Value>(bytes) {
        Ok(Value::Object(m)) => m,
        Ok(Value::Array(a)) if a.is_empty() => return Ok(Vec::new()),
        Ok(_) => {
            return Err(Error::Decode {
                command: cmd.to_string(),
                reason: "expected an object of folders".into(),
                snippet: String::new(),
            });
        }
        Err(e) => return Err(not_json(cmd, bytes, secret, e.to_string())),
    };
    let status = map.get("status").and_then(Value::as_str);
    let messages: Vec<String> = ["errors", "error"]
        .iter()
        .filter_map(|key| map.get(*key))
        .flat_map(status_messages)
        .collect();
    StatusReply::check_read(status, messages, cmd)?;
    let mut out = Vec::with_capacity(map.len());
    for (id, value) in map {
        if !value.is_object() {
            continue;
        }
        let mut folder: SharedFolder = serde_json::from_value(value).map_err(|e| {
            Error::Decode {
                command: cmd.to_string(),
                reason: format!("folder {id}: {e}"),
                snippet: String::new(),
            }
            .masked(secret)
        })?;
        folder.id = id;
        out.push(folder);
    }
    out.sort_by(|a, b| numeric_order(&a.id, &b.id));
    Ok(out)
}

/// Orders numeric id strings as numbers.
fn numeric_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Where pages of a listing go: merged into a directory, or streamed to a caller.
trait Collector {
    /// Takes a reply's users; returns how many were not seen before.
    fn add(&mut self, reply: UserDataReply) -> usize;
    /// Distinct users taken so far.
    fn len(&self) -> usize;
}

/// What a streamed listing reports once it is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedListing {
    /// The total LastPass reported (equal to the users streamed).
    pub total: u64,
    /// Emails with a pending invitation and no account yet.
    pub invited: Vec<String>,
}

/// The user ids a listing has delivered, as numbers (LastPass ids are numeric); any other id
/// is kept as text.
#[derive(Default)]
struct SeenIds {
    numeric: HashSet<u64>,
    other: HashSet<String>,
}

impl SeenIds {
    /// True the first time an id is seen.
    fn first_time(&mut self, id: &str) -> bool {
        match id.parse::<u64>() {
            Ok(n) => self.numeric.insert(n),
            Err(_) => self.other.insert(id.to_string()),
        }
    }

    fn len(&self) -> usize {
        self.numeric.len() + self.other.len()
    }
}

/// Hands each page's new users to a sink.
struct Streamer<F> {
    seen: SeenIds,
    invited: Vec<String>,
    sink: F,
}

impl<F: FnMut(Vec<User>)> Collector for Streamer<F> {
    fn add(&mut self, reply: UserDataReply) -> usize {
        let fresh: Vec<User> = reply
            .users
            .0
            .into_iter()
            .filter(|u| self.seen.first_time(&u.id))
            .collect();
        self.invited.extend(reply.invited);
        let n = fresh.len();
        if n > 0 {
            (self.sink)(fresh);
        }
        n
    }

    fn len(&self) -> usize {
        self.seen.len()
    }
}

impl Collector for Accumulator {
    fn add(&mut self, reply: UserDataReply) -> usize {
        Accumulator::add(self, reply)
    }

    fn len(&self) -> usize {
        Accumulator::len(self)
    }
}

/// Merges pages into one directory, each user once.
#[derive(Default)]
struct Accumulator {
    users: Vec<User>,
    seen: SeenIds,
    groups: BTreeMap<String, Vec<String>>,
    saw_group_map: bool,
    invited: Vec<String>,
}

impl Accumulator {
    fn len(&self) -> usize {
        self.users.len()
    }

    /// Adds a reply; returns how many users it brought that were not seen before.
    fn add(&mut self, reply: UserDataReply) -> usize {
        if let Some(total) = reply.total {
            self.users.reserve(
                (total as usize)
                    .saturating_sub(self.users.len())
                    .min(1 << 17),
            );
        }
        let before = self.users.len();
        if let Some(groups) = reply.groups {
            self.saw_group_map = true;
            for (name, members) in groups.0 {
                self.groups.entry(name).or_default().extend(members);
            }
        }
        for u in reply.users.0 {
            if self.seen.first_time(&u.id) {
                self.users.push(u);
            }
        }
        self.invited.extend(reply.invited);
        self.users.len() - before
    }

    fn finish(mut self, total: u64) -> Directory {
        // Pages arrive in id order; sort only when they did not.
        if !self
            .users
            .is_sorted_by(|a, b| numeric_order(&a.id, &b.id).is_le())
        {
            self.users.sort_by(|a, b| numeric_order(&a.id, &b.id));
        }
        if self.saw_group_map {
            // Maps from several replies may repeat members.
            for members in self.groups.values_mut() {
                members.sort();
                members.dedup();
            }
        } else {
            // Paged replies carry no Groups map: rebuild it from each user's groups, in user
            // id order (each user is listed once, so no member repeats).
            for u in &self.users {
                for (i, g) in u.groups.iter().enumerate() {
                    if !u.groups[..i].contains(g) {
                        self.groups
                            .entry(g.clone())
                            .or_default()
                            .push(u.username.clone());
                    }
                }
            }
        }
        self.invited.sort();
        self.invited.dedup();
        Directory {
            total,
            users: self.users,
            groups: self.groups,
            invited: self.invited,
        }
    }
}

/// Every reply parser of the client on one body, as the commands read their replies, with a
/// provisioning hash to mask (fuzzing and its corpus tests: see [`crate::fuzzing`]).
pub(crate) fn parse_every_reply(bytes: &[u8], secret: &str) {
    let listing = "getuserdata";
    if let Ok(reply) = decode::<UserDataReply>(listing, bytes, secret)
        && check_reply(
            listing,
            reply.status.as_deref(),
            &reply.errors,
            &reply.error,
        )
        .is_ok()
    {
        let total = reply.total;
        let mut acc = Accumulator::default();
        acc.add(reply);
        let _ = acc.finish(total.unwrap_or(0));
    }
    let _ = parse_folders("getsfdata", bytes, secret);
    if let Ok(reply) = decode::<ReportingReply>("reporting", bytes, secret) {
        let _ = check_reply(
            "reporting",
            reply.status.as_deref(),
            &reply.errors,
            &reply.error,
        );
    }
    if let Ok(reply) = decode::<ExpiredReply>("expiredmasterpwlist", bytes, secret) {
        let _ = check_reply(
            "expiredmasterpwlist",
            reply.status.as_deref(),
            &reply.errors,
            &reply.error,
        );
    }
    if let Ok(reply) = decode::<PushReply>("pushsitestousers", bytes, secret) {
        let _ = StatusReply {
            status: reply.status,
            errors: reply.errors,
            error: reply.error,
        }
        .into_outcome("pushsitestousers");
    }
    let _ = decode::<ToggleReply>("disableusers", bytes, secret);
    if let Ok(reply) = decode::<StatusReply>("batchadd", bytes, secret) {
        let _ = reply.into_outcome("batchadd");
    }
    let _ = crate::transport::xml_rc(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn folders(body: &str) -> Result<Vec<SharedFolder>, Error> {
        parse_folders("getsfdata", body.as_bytes(), SECRET)
    }

    #[test]
    fn folders_are_read_in_id_order_with_other_values_skipped() {
        let got = folders(
            r#"{"10": {"sharedfoldername": "Ten", "deleted": "1", "score": "7.5",
                       "users": [{"username": "a@x.com", "readonly": "1", "give": 0}]},
                "9": {"sharedfoldername": "Nine", "users": null},
                "note": "not a folder", "n": 3, "list": [1, {"a": 1}], "none": null,
                "status": "OK"}"#,
        )
        .unwrap();
        let ids: Vec<&str> = got.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["9", "10"]);
        assert_eq!(got[1].name, "Ten");
        assert!(got[1].deleted);
        assert_eq!(got[1].score, Some(7.5));
        assert_eq!(got[1].users.len(), 1);
        assert!(got[1].users[0].readonly && !got[1].users[0].give);
        assert!(got[0].users.is_empty());
    }

    #[test]
    fn a_repeated_id_keeps_its_last_folder() {
        let got =
            folders(r#"{"1": {"sharedfoldername": "old"}, "1": {"sharedfoldername": "new"}}"#)
                .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "new");
    }

    #[test]
    fn empty_and_wrong_shaped_replies() {
        assert!(folders("[]").unwrap().is_empty());
        assert!(folders("{}").unwrap().is_empty());
        for (body, kind) in [
            ("\"x\"", "a string"),
            ("[1]", "a list"),
            ("null", "null"),
            ("3", "a number"),
        ] {
            let err = folders(body).unwrap_err().to_string();
            assert!(
                err.contains(&format!("expected an object of folders, got {kind}")),
                "{body}: {err}"
            );
        }
        let err = folders(r#"{"42": {"sharedfoldername": "F", "users": "nobody"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("folder 42"), "{err}");
        let err = folders("<html>oops</html>").unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    }

    #[test]
    fn failure_status_and_errors_among_the_folders_are_errors() {
        let err = folders(
            r#"{"status": "FAIL", "errors": ["bad hash"], "1": {"sharedfoldername": "F"}}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Rejected { errors, .. } if errors == &["bad hash"]),
            "{err:?}"
        );
        let err = folders(r#"{"error": "Not allowed"}"#).unwrap_err();
        assert!(
            matches!(&err, Error::Rejected { errors, .. } if errors == &["Not allowed"]),
            "{err:?}"
        );
        let err = folders(r#"{"status": "FAIL", "errors": ["bad hash"], "1": {"users": "x"}}"#)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Rejected { errors, .. } if errors == &["bad hash"]),
            "a failure status wins over a misshapen folder: {err:?}"
        );
        let got = folders(r#"{"1": {"sharedfoldername": "a", "sharedfoldername": "b"}}"#).unwrap();
        assert_eq!(got[0].name, "b", "a field given twice: its last value");
        let err = folders(r#"{"errors": ["one"], "error": "two"}"#).unwrap_err();
        assert!(
            matches!(&err, Error::Rejected { errors, .. } if errors == &["one", "two"]),
            "{err:?}"
        );
    }
}
