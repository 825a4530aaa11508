//! The read pages other than users: overview, groups, shared folders, findings, changes,
//! events, sync runs, notifications, plans, audit log and reports. Lists share one table
//! template; each reads through the same store call as its `/v1` twin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::Response;
use lpgate_report::ReportKind;
use lpgate_store::{AuditQuery, FindingQuery, PlanItemRow, PlanRow, PlanState, Store, TokenScope};
use serde::Deserialize;

use super::chart::Trend;
use super::session::Viewer;
use super::{Chrome, error_page, page, query, text, when};
use crate::error::ApiError;
use crate::state::AppState;

/// One table cell: text, an optional link.
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

impl Cell {
    pub fn of(text: impl ToString) -> Self {
        Cell {
            text: text.to_string(),
            href: None,
        }
    }
    pub fn link(text: impl ToString, href: String) -> Self {
        Cell {
            text: text.to_string(),
            href: Some(href),
        }
    }
}

/// A button posting to `action` (with the CSRF token).
pub struct Button {
    pub action: String,
    pub label: String,
}

/// One row: its cells and an optional action button.
pub struct Row {
    pub cells: Vec<Cell>,
    pub button: Option<Button>,
}

/// A list page.
#[derive(Template)]
#[template(path = "dashboard/table.html")]
pub struct Table {
    pub c: Chrome,
    pub intro: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub actions: bool,
}

impl Table {
    fn new(c: Chrome, intro: &str, columns: Vec<&'static str>) -> Self {
        Table {
            c,
            intro: intro.to_string(),
            columns,
            rows: Vec::new(),
            next: None,
            actions: false,
        }
    }
    /// Links "Next page" to `path`, continuing before the row `before` with the page's
    /// filters (`keep`, those set).
    fn next_before(&mut self, path: &str, before: i64, keep: &[(&str, &Option<String>)]) {
        let mut q = vec![("before", before.to_string())];
        q.extend(
            keep.iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v.clone()))),
        );
        self.next = Some(format!(
            "{path}?{}",
            serde_urlencoded::to_string(q).unwrap_or_default()
        ));
    }
    fn push(&mut self, cells: Vec<Cell>) {
        self.rows.push(Row {
            cells,
            button: None,
        });
    }
}

/// `?before=ID&…` paging and simple filters of the list pages.
#[derive(Deserialize, Default)]
pub struct ListParams {
    before: Option<i64>,
    rule: Option<String>,
    kind: Option<String>,
    all: Option<String>,
}

const PAGE: usize = 100;

/// Rows per page of the groups and shared folders lists: the store reads them whole (their
/// counts are kept per row), the page renders one slice — 5,000 folders rendered at once
/// took 30–55 ms.
const LIST_PAGE: usize = 500;

/// `?from=N`: where a page of a whole-list page starts.
#[derive(Deserialize, Default)]
pub struct From {
    from: Option<usize>,
}

impl Table {
    /// Keeps `rows[from..from + LIST_PAGE]` and links the next slice.
    fn slice<T>(&mut self, path: &str, rows: Vec<T>, from: Option<usize>) -> Vec<T> {
        let from = from.unwrap_or(0);
        if rows.len() > from + LIST_PAGE {
            self.next = Some(format!("{path}?from={}", from + LIST_PAGE));
        }
        rows.into_iter().skip(from).take(LIST_PAGE).collect()
    }
}

fn respond(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(error_page)
}

fn users_link(account: &str, q: &str) -> String {
    format!(
        "/ui/users?{}",
        serde_urlencoded::to_string([("account", account), ("q", q)]).unwrap_or_default()
    )
}

#[derive(Template)]
#[template(path = "dashboard/overview.html")]
struct Overview {
    c: Chrome,
    f: Arc<Figures>,
}

struct AccountLine {
    name: String,
    enabled: bool,
    last_sync: String,
    outcome: String,
}

/// `GET /ui`: accounts and their last sync, users by status, admins, MFA coverage, open
/// findings by severity, and a trend of users and open findings per sync.
pub async fn overview<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
) -> Response {
    respond(overview_page(&state, &v).await)
}

/// The overview's figures, computed once per data version and account scope: they read
/// every user, and the data changes only when a sync or an action commits.
#[derive(Default)]
pub struct OverviewCache {
    entries: Mutex<(u64, ByScope)>,
}

/// Figures by the account a viewer is limited to (`None`: all accounts).
type ByScope = HashMap<Option<String>, Arc<Figures>>;

impl OverviewCache {
    fn get(&self, version: u64, scope: &Option<String>) -> Option<Arc<Figures>> {
        let mut e = self.entries.lock().ok()?;
        if e.0 != version {
            *e = (version, HashMap::new());
        }
        e.1.get(scope).cloned()
    }

    fn put(&self, version: u64, scope: Option<String>, figures: Arc<Figures>) {
        if let Ok(mut e) = self.entries.lock()
            && e.0 == version
        {
            e.1.insert(scope, figures);
        }
    }
}

/// Everything on the overview but the page's frame.
pub struct Figures {
    accounts: Vec<AccountLine>,
    statuses: Vec<(String, i64)>,
    users: i64,
    admins: i64,
    admins_no_mfa: i64,
    active: i64,
    active_mfa: i64,
    mfa_pct: String,
    findings: Vec<(String, i64)>,
    trend: String,
}

async fn overview_page<S: Store>(state: &AppState<S>, v: &Viewer) -> Result<Response, ApiError> {
    // A store that cannot tell its version gets the figures computed every time.
    let version = state.store.data_version();
    let scope = v.caller.account_filter(None);
    let cache = &state.dashboard.overview;
    let f = match version.and_then(|ver| cache.get(ver, &scope)) {
        Some(f) => f,
        None => {
            let f = Arc::new(figures(state, v).await?);
            if let Some(ver) = version {
                cache.put(ver, scope, f.clone());
            }
            f
        }
    };
    Ok(page(&Overview {
        c: Chrome::new(v, "overview", "Overview"),
        f,
    }))
}

async fn figures<S: Store>(state: &AppState<S>, v: &Viewer) -> Result<Figures, ApiError> {
    let m = state.store.metrics().await?;
    let sees = |a: &str| v.caller.sees(a);
    let accounts = state
        .store
        .list_accounts()
        .await?
        .into_iter()
        .filter(|a| sees(&a.name))
        .map(|a| {
            let last = m.last_sync.iter().find(|l| l.account == a.name);
            AccountLine {
                enabled: a.enabled,
                last_sync: last
                    .map(|l| when(&l.finished_at))
                    .unwrap_or_else(|| "never".into()),
                outcome: last.map(|l| l.outcome.clone()).unwrap_or_default(),
                name: a.name,
            }
        })
        .collect();
    let mut statuses: Vec<(String, i64)> = Vec::new();
    for u in m.users.iter().filter(|u| sees(&u.account)) {
        match statuses.iter_mut().find(|(s, _)| *s == u.label) {
            Some((_, n)) => *n += u.count,
            None => statuses.push((u.label.clone(), u.count)),
        }
    }
    statuses.sort();
    let mut findings: Vec<(String, i64)> = Vec::new();
    for f in m.open_findings.iter().filter(|f| sees(&f.account)) {
        match findings.iter_mut().find(|(s, _)| *s == f.label) {
            Some((_, n)) => *n += f.count,
            None => findings.push((f.label.clone(), f.count)),
        }
    }
    findings.sort();
    let counts = query(
        state,
        v,
        "SELECT count(*), coalesce(sum(admin), 0), coalesce(sum(admin AND NOT mfa), 0), \
         coalesce(sum(status = 'active'), 0), coalesce(sum(status = 'active' AND mfa), 0) \
         FROM users",
        vec![],
    )
    .await?;
    let n = |i: usize| {
        counts
            .rows
            .first()
            .and_then(|r| r.get(i))
            .and_then(|x| x.as_i64())
            .unwrap_or(0)
    };
    let (active, active_mfa) = (n(3), n(4));
    let trend = trend(state, v).await?;
    Ok(Figures {
        accounts,
        statuses,
        users: n(0),
        admins: n(1),
        admins_no_mfa: n(2),
        active,
        active_mfa,
        mfa_pct: if active == 0 {
            "–".into()
        } else {
            format!("{:.1} %", active_mfa as f64 * 100.0 / active as f64)
        },
        findings,
        trend,
    })
}

/// The last 30 successful syncs: users seen and findings open at each one's end.
async fn trend<S: Store>(state: &AppState<S>, v: &Viewer) -> Result<String, ApiError> {
    let r = query(
        state,
        v,
        "SELECT r.finished_at, r.users, \
           (SELECT count(*) FROM findings f WHERE f.opened_at <= r.finished_at \
              AND (f.resolved_at IS NULL OR f.resolved_at > r.finished_at)) \
         FROM sync_runs r WHERE r.outcome = 'succeeded' AND r.finished_at IS NOT NULL \
         ORDER BY r.finished_at DESC LIMIT 30",
        vec![],
    )
    .await?;
    let mut points: Vec<(String, f64, f64)> = r
        .rows
        .iter()
        .map(|row| {
            let num = |i: usize| row.get(i).and_then(|x| x.as_f64()).unwrap_or(0.0);
            (row.first().map(text).unwrap_or_default(), num(1), num(2))
        })
        .collect();
    points.reverse();
    Ok(Trend {
        labels: points.iter().map(|p| p.0.clone()).collect(),
        series: vec![
            ("Users", points.iter().map(|p| p.1).collect()),
            ("Open findings", points.iter().map(|p| p.2).collect()),
        ],
    }
    .svg())
}

/// `GET /ui/groups`.
pub async fn groups<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Query(at): Query<From>,
) -> Response {
    respond(
        async {
            let rows = state
                .store
                .list_groups(v.caller.account_filter(None))
                .await?;
            let mut t = Table::new(
                Chrome::new(&v, "groups", "Groups"),
                "Groups with their member counts; a group's name lists its members.",
                vec!["Account", "Group", "Members"],
            );
            for g in t.slice("/ui/groups", rows, at.from) {
                let href = format!(
                    "/ui/users?{}",
                    serde_urlencoded::to_string([("account", &g.account), ("group", &g.name)])
                        .unwrap_or_default()
                );
                t.push(vec![
                    Cell::of(&g.account),
                    Cell::link(&g.name, href),
                    Cell::of(g.members),
                ]);
            }
            Ok(page(&t))
        }
        .await,
    )
}

/// `GET /ui/folders`.
pub async fn folders<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Query(at): Query<From>,
) -> Response {
    respond(async {
        let rows = state.store.list_folders(v.caller.account_filter(None)).await?;
        let mut t = Table::new(
            Chrome::new(&v, "folders", "Shared folders"),
            "Shared folders; each user's page lists the folders they share and their permissions.",
            vec![
                "Account",
                "Folder",
                "Members",
                "Administrators",
                "Deleted",
                "Security score",
            ],
        );
        for f in t.slice("/ui/folders", rows, at.from) {
            t.push(vec![
                Cell::of(&f.account),
                Cell::of(&f.name),
                Cell::of(f.members),
                Cell::of(f.administrators),
                Cell::of(if f.deleted { "yes" } else { "no" }),
                Cell::of(f.score.map(|s| format!("{s:.1}")).unwrap_or_default()),
            ]);
        }
        Ok(page(&t))
    }
    .await)
}

/// `GET /ui/findings[?rule=R][&all=1]`: open findings (all with `all`), newest first.
pub async fn findings<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<ListParams>,
) -> Response {
    respond(
        async {
            let rows = state
                .store
                .list_findings(FindingQuery {
                    account: v.caller.account_filter(None),
                    rule: p.rule.clone(),
                    open_only: p.all.is_none(),
                    before: p.before,
                    limit: PAGE + 1,
                })
                .await?;
            let mut t = Table::new(
                Chrome::new(&v, "findings", "Findings"),
                if p.all.is_none() {
                    "Open findings, newest first: the rule and the row that matched."
                } else {
                    "All findings, open and resolved, newest first."
                },
                vec!["Account", "Rule", "Severity", "Row", "Opened", "Resolved"],
            );
            for f in rows.iter().take(PAGE) {
                t.push(vec![
                    Cell::of(&f.account),
                    Cell::link(&f.rule, format!("/ui/findings?rule={}", f.rule)),
                    Cell::of(&f.severity),
                    Cell::of(f.row.to_string()),
                    Cell::of(when(&f.opened_at)),
                    Cell::of(f.resolved_at.as_ref().map(when).unwrap_or_default()),
                ]);
            }
            if rows.len() > PAGE {
                t.next_before(
                    "/ui/findings",
                    rows[PAGE - 1].id,
                    &[("rule", &p.rule), ("all", &p.all)],
                );
            }
            Ok(page(&t))
        }
        .await,
    )
}

/// `GET /ui/changes[?kind=K]`: the changes feed, newest first.
pub async fn changes<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<ListParams>,
) -> Response {
    respond(
        async {
            let rows = state
                .store
                .list_changes(
                    v.caller.account_filter(None),
                    None,
                    p.kind.clone(),
                    p.before,
                    PAGE + 1,
                )
                .await?;
            let mut t = Table::new(
                Chrome::new(&v, "changes", "Changes"),
                "What changed between consecutive syncs, newest first.",
                vec![
                    "When", "Account", "Change", "Subject", "Related", "Before", "After",
                ],
            );
            for c in rows.iter().take(PAGE) {
                t.push(vec![
                    Cell::of(when(&c.at)),
                    Cell::of(&c.account),
                    Cell::link(&c.kind, format!("/ui/changes?kind={}", c.kind)),
                    Cell::link(&c.subject, users_link(&c.account, &c.subject)),
                    Cell::of(c.related.clone().unwrap_or_default()),
                    Cell::of(c.before.clone().unwrap_or_default()),
                    Cell::of(c.after.clone().unwrap_or_default()),
                ]);
            }
            if rows.len() > PAGE {
                t.next_before("/ui/changes", rows[PAGE - 1].id, &[("kind", &p.kind)]);
            }
            Ok(page(&t))
        }
        .await,
    )
}

/// `GET /ui/events`: LastPass reporting events, newest first (the 100 newest).
pub async fn events<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
) -> Response {
    respond(
        async {
            let rows = state
                .store
                .list_events(v.caller.account_filter(None), None, None, PAGE)
                .await?;
            let mut t = Table::new(
                Chrome::new(&v, "events", "Events"),
                "LastPass reporting events, the newest 100.",
                vec!["Time", "Account", "User", "IP address", "Action", "Data"],
            );
            for e in rows {
                t.push(vec![
                    Cell::of(when(&e.time)),
                    Cell::of(&e.account),
                    Cell::link(&e.username, users_link(&e.account, &e.username)),
                    Cell::of(&e.ip_address),
                    Cell::of(&e.action),
                    Cell::of(&e.data),
                ]);
            }
            Ok(page(&t))
        }
        .await,
    )
}

/// `GET /ui/runs`: sync runs, newest first.
pub async fn runs<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
) -> Response {
    respond(
        async {
            let rows = state
                .store
                .list_runs(v.caller.account_filter(None), PAGE)
                .await?;
            let mut t = Table::new(
                Chrome::new(&v, "runs", "Sync runs"),
                "The newest 100 sync runs with their counts and outcome.",
                vec![
                    "Run", "Account", "Started", "Finished", "Outcome", "Users", "Groups",
                    "Folders", "Events", "Changes", "Error",
                ],
            );
            for r in rows {
                t.push(vec![
                    Cell::of(r.id.0),
                    Cell::of(&r.account),
                    Cell::of(when(&r.started_at)),
                    Cell::of(r.finished_at.as_ref().map(when).unwrap_or_default()),
                    Cell::of(r.outcome.as_str()),
                    Cell::of(r.users),
                    Cell::of(r.groups),
                    Cell::of(r.folders),
                    Cell::of(r.events),
                    Cell::of(r.changes),
                    Cell::of(r.error.clone().unwrap_or_default()),
                ]);
            }
            Ok(page(&t))
        }
        .await,
    )
}

/// `GET /ui/notifications`: deliveries, newest first; admins get a retry button on those
/// not delivered.
pub async fn notifications<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
) -> Response {
    respond(
        async {
            let rows = state.store.list_deliveries(None, 200).await?;
            let mut t = Table::new(
                Chrome::new(&v, "notifications", "Notifications"),
                "Webhook and chat deliveries, newest first. Dead ones are retried by hand.",
                vec![
                    "Id",
                    "Created",
                    "Channel",
                    "Event",
                    "Account",
                    "State",
                    "Attempts",
                    "Last error",
                ],
            );
            t.actions = v.is_admin();
            for d in rows {
                // Deliveries without an account are installation-wide: admins for all accounts only.
                let visible = match &d.account {
                    Some(a) => v.caller.sees(a),
                    None => v.caller.account.is_none(),
                };
                if !visible {
                    continue;
                }
                let state_name = d.state.as_str();
                t.rows.push(Row {
                    button: (v.is_admin() && state_name != "delivered").then(|| Button {
                        action: format!("/ui/notifications/{}/retry", d.id),
                        label: format!("Retry {}", d.id),
                    }),
                    cells: vec![
                        Cell::of(d.id),
                        Cell::of(when(&d.created_at)),
                        Cell::of(&d.channel),
                        Cell::of(&d.event),
                        Cell::of(d.account.clone().unwrap_or_default()),
                        Cell::of(state_name),
                        Cell::of(d.attempts),
                        Cell::of(d.last_error.clone().unwrap_or_default()),
                    ],
                });
            }
            Ok(page(&t))
        }
        .await,
    )
}

/// `GET /ui/plans`: plans, newest first, held ones with their reason.
pub async fn plans<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
) -> Response {
    respond(async {
        let rows = state.store.list_plans(v.caller.account_filter(None), PAGE).await?;
        let mut t = Table::new(
            Chrome::new(&v, "plans", "Plans"),
            "Plans of changes to LastPass, newest first. Held plans wait for an admin's approval.",
            vec!["Plan", "Account", "State", "Held because", "Created", "By", "Pending", "Done", "Failed"],
        );
        for p in rows {
            t.push(vec![
                Cell::link(format!("Plan {}", p.id), format!("/ui/plans/{}", p.id)),
                Cell::of(&p.account),
                Cell::of(p.state.as_str()),
                Cell::of(p.held_reason.clone().unwrap_or_default()),
                Cell::of(when(&p.created_at)),
                Cell::of(&p.created_by),
                Cell::of(p.pending),
                Cell::of(p.done),
                Cell::of(p.failed),
            ]);
        }
        Ok(page(&t))
    }
    .await)
}

#[derive(Template)]
#[template(path = "dashboard/plan.html")]
struct PlanPage {
    c: Chrome,
    plan: PlanRow,
    items: Vec<PlanItemRow>,
    created: String,
    can_approve: bool,
    can_apply: bool,
    message: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PlanParams {
    msg: Option<String>,
}

/// `GET /ui/plans/{id}`: one plan, its items, and the approve / apply buttons the viewer
/// may use.
pub async fn plan<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Query(p): Query<PlanParams>,
) -> Response {
    respond(
        async {
            let (plan, items) = crate::v1::plans::visible_plan(&state, &v.caller, &id).await?;
            let t = PlanPage {
                c: Chrome::new(&v, "plans", format!("Plan {}", plan.id)),
                created: when(&plan.created_at),
                can_approve: v.is_admin() && plan.state == PlanState::Held,
                can_apply: v.can_write()
                    && matches!(
                        plan.state,
                        PlanState::Ready | PlanState::Approved | PlanState::Partial
                    ),
                plan,
                items,
                message: p.msg,
            };
            Ok(page(&t))
        }
        .await,
    )
}

/// `GET /ui/audit`: the audit log, newest first (admins, or tokens limited to an account).
pub async fn audit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<ListParams>,
) -> Response {
    respond(async {
        if v.caller.account.is_none() {
            v.caller.require(TokenScope::Admin)?;
        }
        let rows = state
            .store
            .list_audit(AuditQuery {
                account: v.caller.account_filter(None),
                before: p.before,
                limit: PAGE + 1,
                ..AuditQuery::default()
            })
            .await?;
        let mut t = Table::new(
            Chrome::new(&v, "audit", "Audit log"),
            "Every action taken, newest first; the chain of hashes is checked by `lpgate audit verify`.",
            vec!["#", "When", "Actor", "Account", "Action", "Target", "Summary", "Outcome"],
        );
        for a in rows.iter().take(PAGE) {
            t.push(vec![
                Cell::of(a.seq),
                Cell::of(&a.at),
                Cell::of(&a.actor),
                Cell::of(a.account.clone().unwrap_or_default()),
                Cell::of(&a.action),
                match a.plan_id {
                    Some(id) => Cell::link(&a.target, format!("/ui/plans/{id}")),
                    None => Cell::of(&a.target),
                },
                Cell::of(&a.summary),
                Cell::of(&a.outcome),
            ]);
        }
        if rows.len() > PAGE {
            t.next_before("/ui/audit", rows[PAGE - 1].seq, &[]);
        }
        Ok(page(&t))
    }
    .await)
}

#[derive(Template)]
#[template(path = "dashboard/reports.html")]
struct Reports {
    c: Chrome,
    reports: Vec<(&'static str, &'static str)>,
}

/// `GET /ui/reports`: each report as HTML, CSV and JSON.
pub async fn reports(Extension(v): Extension<Viewer>) -> Response {
    let describe = |k: ReportKind| match k {
        ReportKind::Mfa => "MFA coverage per account; admins without MFA first.",
        ReportKind::Coverage => "HR headcount against LastPass accounts (needs `lpgate hr load`).",
        ReportKind::Inactive => "Active users without a login for the configured number of days.",
        ReportKind::Admins => "Every admin with last login and MFA, for an access review.",
        ReportKind::Licences => "Seats used (active and staged) against seats purchased.",
        ReportKind::Passwords => "Weak master passwords, pending resets, expired master passwords.",
    };
    page(&Reports {
        c: Chrome::new(&v, "reports", "Reports"),
        reports: ReportKind::ALL
            .iter()
            .map(|k| (k.as_str(), describe(*k)))
            .collect(),
    })
}

/// `GET /ui/reports/{name}?format=html|csv|json`: the report, as `GET /v1/reports/{name}`
/// answers it.
pub async fn report<S: Store>(
    State(state): State<AppState<S>>,
    Extension(v): Extension<Viewer>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    crate::v1::reports::respond(&state, &v.caller, &name, raw.as_deref())
        .await
        .unwrap_or_else(error_page)
}
