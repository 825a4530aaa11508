//! `GET /ui/users` (search-as-you-type, filters, keyset pages) and `GET /ui/users/{id}`
//! (every field, groups, shared folders with permissions, a timeline of changes and events).
//!
//! The list reads the same keyset pages as `GET /v1/users` ([`Store::page_users`]); an htmx
//! request (`HX-Request`) gets only the results region, so typing re-renders one table.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use lpgate_domain::AccountStatus;
use lpgate_store::{Store, StoreError, UserOrder, UserPageQuery, UserRow};
use serde::Deserialize;
use serde_json::json;

use super::session::Viewer;
use super::{Chrome, error_page, page, query, text, when};
use crate::error::ApiError;
use crate::params::{decode_cursor, encode_cursor};
use crate::state::AppState;

/// Rows per page.
const PAGE: usize = 50;
/// Most users one request reads when filtering by MFA or inactivity.
const SCAN: usize = 5_000;

/// The list's filters, as the form sends them (empty means no filter).
#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub admin: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub mfa: String,
    #[serde(default)]
    pub inactive: String,
    #[serde(default)]
    pub cursor: String,
    /// A column to sort by (`name`, `last_login`…), `-` first for descending; empty for the
    /// (account, email) order.
    #[serde(default)]
    pub sort: String,
    /// With `sort`: rows skipped.
    #[serde(default)]
    pub offset: String,
}

impl Filters {
    /// The query string of these filters at another position.
    fn at(&self, cursor: &str, offset: &str) -> String {
        self.with(cursor, offset, &self.sort)
    }

    /// The query string of these filters, sorted another way, from the start.
    fn sorted(&self, sort: &str) -> String {
        self.with("", "", sort)
    }

    fn with(&self, cursor: &str, offset: &str, sort: &str) -> String {
        let pairs = [
            ("q", self.q.as_str()),
            ("status", &self.status),
            ("admin", &self.admin),
            ("group", &self.group),
            ("account", &self.account),
            ("mfa", &self.mfa),
            ("inactive", &self.inactive),
            ("cursor", cursor),
            ("sort", sort),
            ("offset", offset),
        ];
        let kept: Vec<(&str, &str)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }
}

/// One user in the list.
pub struct Line {
    pub id: i64,
    pub account: String,
    pub email: String,
    pub fullname: String,
    pub status: String,
    pub role: String,
    pub mfa: String,
    pub last_login: String,
}

#[derive(Template)]
#[template(path = "dashboard/users.html")]
struct UsersPage {
    c: Chrome,
    f: Filters,
    r: Results,
    statuses: [&'static str; 4],
}

/// A column heading: its sort link, and how the list is sorted by it now (`aria-sort`).
pub struct Heading {
    pub label: &'static str,
    pub href: Option<String>,
    pub aria: &'static str,
}

/// The table's columns and the sort names of the sortable ones (`""` is the default order).
const COLUMNS: [(&str, Option<&str>); 7] = [
    ("Email", Some("email")),
    ("Name", Some("name")),
    ("Account", Some("")),
    ("Status", Some("status")),
    ("Role", Some("role")),
    ("MFA", None),
    ("Last login", Some("last_login")),
];

fn headings(f: &Filters) -> Vec<Heading> {
    let current = f.sort.trim_start_matches('-');
    let descending = f.sort.starts_with('-');
    COLUMNS
        .iter()
        .map(|(label, sort)| {
            let Some(sort) = sort else {
                return Heading {
                    label,
                    href: None,
                    aria: "none",
                };
            };
            let active = *sort == current;
            let aria = match (active, descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            };
            // A second click on the sorted column reverses it (the default order has one way).
            let next = if active && !descending && !sort.is_empty() {
                format!("-{sort}")
            } else {
                sort.to_string()
            };
            Heading {
                label,
                href: Some(format!("/ui/users?{}", f.sorted(&next))),
                aria,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "dashboard/users_results.html")]
struct Results {
    headings: Vec<Heading>,
    users: Vec<Line>,
    next: Option<String>,
    first: Option<String>,
}

/// `GET /ui/users`.
pub async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Response {
    let results = match results(&state, &v, &f).await {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let fragment = headers.contains_key("hx-request")
        && !headers.contains_key("hx-boosted")
        && !headers.contains_key("hx-history-restore-request");
    if fragment {
        return page(&results);
    }
    page(&UsersPage {
        c: Chrome::new(&v, "users", "Users"),
        f,
        r: results,
        statuses: ["active", "suspended", "staged", "deprovisioned"],
    })
}

async fn results<S: Store>(
    state: &AppState<S>,
    v: &Viewer,
    f: &Filters,
) -> Result<Results, ApiError> {
    let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
    let status = match some(&f.status) {
        None => None,
        Some(s) => Some(
            s.parse::<AccountStatus>()
                .map_err(|e| ApiError::invalid("status", e.to_string()))?
                .as_str()
                .to_string(),
        ),
    };
    let admin = match f.admin.as_str() {
        "" => None,
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        other => {
            return Err(ApiError::invalid(
                "admin",
                format!("unknown value {other:?}"),
            ));
        }
    };
    let q = some(&f.q);
    if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::invalid(
            "q",
            "the search is longer than 200 characters",
        ));
    }
    let requested = some(&f.account);
    if requested.as_ref().is_some_and(|a| !v.caller.sees(a)) {
        return Err(ApiError::not_found("account"));
    }
    let mfa = match f.mfa.as_str() {
        "" => None,
        "yes" => Some(true),
        "no" => Some(false),
        other => return Err(ApiError::invalid("mfa", format!("unknown value {other:?}"))),
    };
    let inactive = match some(&f.inactive) {
        None => None,
        Some(d) => {
            let days = d
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| ApiError::invalid("inactive", "give a number of days, 1 to 3650"))?;
            Some(Utc::now() - chrono::Duration::days(days))
        }
    };
    // MFA and inactivity are not store filters: pages are scanned in key order and filtered
    // here, at most SCAN rows a request; the cursor continues where the scan stopped, so a
    // page may hold fewer than PAGE rows but a walk still sees every match once.
    let keep = |u: &UserRow| {
        mfa.is_none_or(|want| has_mfa(u) == want)
            && inactive.is_none_or(|before| u.last_login.is_none_or(|t| t < before))
    };
    let filtered = mfa.is_some() || inactive.is_some();
    let sort = match f.sort.as_str() {
        "" => None,
        s => {
            let (name, descending) = match s.strip_prefix('-') {
                Some(name) => (name, true),
                None => (s, false),
            };
            let order = UserOrder::parse(name).ok_or_else(|| {
                let known: Vec<&str> = UserOrder::ALL.iter().map(|o| o.as_str()).collect();
                ApiError::invalid(
                    "sort",
                    format!("unknown column {s:?}; one of {}", known.join(", ")),
                )
            })?;
            Some((order, descending))
        }
    };
    let start = match some(&f.offset) {
        None => 0,
        Some(o) => o
            .parse::<usize>()
            .ok()
            .filter(|o| *o <= 100_000_000)
            .ok_or_else(|| ApiError::invalid("offset", format!("not a row count: {o:?}")))?,
    };
    let mut skip = start;
    let mut after = match sort {
        Some(_) => None,
        None => some(&f.cursor).map(|c| decode_cursor(&c)).transpose()?,
    };
    let base = UserPageQuery {
        account: v.caller.account_filter(requested.clone()),
        status: status.clone(),
        admin,
        group: some(&f.group),
        ..UserPageQuery::default()
    };
    // What is typed is matched as word prefixes through the free-text index (milliseconds
    // at any size); when that finds no one at all — a domain, a fragment inside a word — as
    // a substring of email and name (a scan, but exact).
    let (mut words, mut text) = (q, None);
    let (from, from_skip) = (after.clone(), skip);
    let mut kept: Vec<UserRow>;
    let mut next_key;
    loop {
        kept = Vec::new();
        after = from.clone();
        skip = from_skip;
        let mut scanned = 0;
        next_key = loop {
            let batch = if filtered { 500 } else { PAGE };
            let rows = state
                .store
                .page_users(UserPageQuery {
                    text: text.clone(),
                    words: words.clone(),
                    after: after.clone(),
                    sort,
                    offset: skip,
                    limit: batch + 1,
                    ..base.clone()
                })
                .await?;
            let more = rows.len() > batch;
            let taken = rows.len().min(batch);
            let mut rest = false;
            for (i, u) in rows.into_iter().take(batch).enumerate() {
                scanned += 1;
                skip += 1;
                after = Some((u.account.clone(), u.email.clone()));
                if keep(&u) {
                    kept.push(u);
                    if kept.len() == PAGE {
                        rest = i + 1 < taken;
                        break;
                    }
                }
            }
            if kept.len() == PAGE {
                break (rest || more).then(|| after.clone()).flatten();
            }
            if !more {
                break None;
            }
            if scanned >= SCAN {
                break after.clone();
            }
        };
        if scanned > 0 || words.is_none() {
            break;
        }
        // No word match from here on: the substring match instead, if no word matches at all
        // (otherwise this is just past the last word match).
        let anywhere = from.is_none() && from_skip == 0;
        let none_at_all = anywhere
            || state
                .store
                .page_user_keys(UserPageQuery {
                    words: words.clone(),
                    limit: 1,
                    ..base.clone()
                })
                .await?
                .is_empty();
        if !none_at_all {
            break;
        }
        text = words.take();
    }
    let next = next_key.map(|(a, e)| {
        let query = match sort {
            Some(_) => f.at("", &skip.to_string()),
            None => f.at(&encode_cursor(&a, &e), ""),
        };
        format!("/ui/users?{query}")
    });
    let first = (!f.cursor.is_empty() || start > 0).then(|| format!("/ui/users?{}", f.at("", "")));
    Ok(Results {
        headings: headings(f),
        users: kept.iter().map(line).collect(),
        next,
        first,
    })
}

fn line(u: &UserRow) -> Line {
    Line {
        id: u.id,
        account: u.account.clone(),
        email: u.email.clone(),
        fullname: u.fullname.clone(),
        status: u.status.clone(),
        role: u.role.clone(),
        mfa: mfa(u),
        last_login: u
            .last_login
            .as_ref()
            .map(when)
            .unwrap_or_else(|| "never".into()),
    }
}

fn has_mfa(u: &UserRow) -> bool {
    u.multifactor.as_deref().is_some_and(|m| !m.is_empty())
}

fn mfa(u: &UserRow) -> String {
    match u.multifactor.as_deref() {
        None | Some("") => "none".into(),
        Some(m) => m.to_string(),
    }
}

#[derive(Template)]
#[template(path = "dashboard/user.html")]
struct UserPage {
    c: Chrome,
    fields: Vec<(&'static str, String)>,
    groups: Vec<String>,
    folders: Vec<Vec<String>>,
    timeline: Vec<Vec<String>>,
}

/// `GET /ui/users/{id}`.
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    match user_page(&state, &v, &id).await {
        Ok(r) => r,
        Err(e) => error_page(e),
    }
}

async fn user_page<S: Store>(
    state: &AppState<S>,
    v: &Viewer,
    id: &str,
) -> Result<Response, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::not_found("user"))?;
    let u = match state.store.user_by_id(id).await {
        Ok(u) if v.caller.sees(&u.account) => u,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Err(ApiError::not_found("user")),
        Err(e) => return Err(e.into()),
    };
    let params = || vec![("account", json!(u.account)), ("email", json!(u.email))];
    let folders = query(
        state,
        v,
        "SELECT coalesce(folder_name, folder_id), \
           CASE WHEN readonly THEN 'read-only' ELSE 'read-write' END, \
           CASE WHEN give THEN 'yes' ELSE 'no' END, \
           CASE WHEN can_administer THEN 'yes' ELSE 'no' END \
         FROM folder_members WHERE account = :account AND email = :email ORDER BY 1",
        params(),
    )
    .await?;
    let timeline = query(
        state,
        v,
        "SELECT * FROM ( \
           SELECT at AS t, 'change' AS what, kind, coalesce(related, ''), \
                  trim(coalesce(before, '') || ' → ' || coalesce(after, ''), ' →') \
           FROM changes WHERE account = :account AND subject = :email \
           UNION ALL \
           SELECT time, 'event', action, ip_address, data \
           FROM events WHERE account = :account AND username = :email) \
         ORDER BY t DESC LIMIT 200",
        params(),
    )
    .await?;
    let cells = |r: &lpgate_store::QueryResult| -> Vec<Vec<String>> {
        r.rows
            .iter()
            .map(|row| row.iter().map(text).collect())
            .collect()
    };
    let opt = |t: &Option<chrono::DateTime<chrono::Utc>>| t.as_ref().map(when).unwrap_or_default();
    let fields = vec![
        ("Email", u.email.clone()),
        ("Full name", u.fullname.clone()),
        ("Account", u.account.clone()),
        ("LastPass id", u.lastpass_id.clone().unwrap_or_default()),
        ("Status", u.status.clone()),
        ("Role", u.role.clone()),
        (
            "Last login",
            u.last_login
                .as_ref()
                .map(when)
                .unwrap_or_else(|| "never".into()),
        ),
        ("MFA", mfa(&u)),
        (
            "Master password strength",
            u.mp_strength.map(|s| s.to_string()).unwrap_or_default(),
        ),
        (
            "Security score",
            u.total_score.map(|s| format!("{s:.1}")).unwrap_or_default(),
        ),
        (
            "Password reset required",
            if u.password_reset_required {
                "yes"
            } else {
                "no"
            }
            .into(),
        ),
        ("First seen", when(&u.first_seen)),
        ("Last seen", opt(&Some(u.last_seen))),
    ];
    let t = UserPage {
        c: Chrome::new(v, "users", u.email.clone()),
        fields,
        groups: u.groups.clone(),
        folders: cells(&folders),
        timeline: cells(&timeline),
    };
    Ok(page(&t))
}
