//! Reading what reports need from the store, through [`Store::query`] over the documented
//! views only (docs/query.md), so any backend that implements those views serves reports
//! unchanged. The SQL here is deliberately plain (no backend-specific functions): filtering
//! and counting happen in Rust, where they are tested without a database.

use chrono::{DateTime, NaiveDateTime, Utc};
use lpgate_store::{AccountId, QueryLimits, QueryRequest, QueryResult, Store, StoreError};
use serde_json::Value;

use crate::ReportError;
use crate::model::Source;

/// Reports read every row: far more than the interactive query limit, with a longer timeout.
const LIMITS: QueryLimits = QueryLimits {
    timeout: std::time::Duration::from_secs(120),
    max_rows: 50_000_000,
};

/// Which accounts a report covers: one (by name and id) or every account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every linked account.
    All,
    /// One account.
    One {
        /// Its name.
        name: String,
        /// Its store id (confines every view to it).
        id: AccountId,
    },
}

impl Scope {
    /// The scope for an optional account name; an unknown name is `UnknownAccount`.
    pub async fn resolve<S: Store>(store: &S, account: Option<&str>) -> Result<Self, ReportError> {
        match account {
            None => Ok(Scope::All),
            Some(name) => match store.account(name).await {
                Ok(row) => Ok(Scope::One {
                    name: row.name,
                    id: row.id,
                }),
                Err(StoreError::NotFound { .. }) => {
                    Err(ReportError::UnknownAccount(name.to_string()))
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    fn id(&self) -> Option<AccountId> {
        match self {
            Scope::All => None,
            Scope::One { id, .. } => Some(*id),
        }
    }
}

/// One user as reports see it (the `users` view's current state).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserFacts {
    /// Account name.
    pub account: String,
    /// Email (lowercase).
    pub email: String,
    /// Full name.
    pub fullname: String,
    /// `active`, `suspended`, `staged` or `deprovisioned`.
    pub status: String,
    /// Company admin.
    pub admin: bool,
    /// MFA method, empty when none.
    pub multifactor: String,
    /// Master password strength 0–100, when LastPass gave one.
    pub mp_strength: Option<i64>,
    /// A master password change is required at next login.
    pub password_reset_required: bool,
    /// Listed in `invited` only (an invitation not yet accepted).
    pub invited_only: bool,
    /// Created (UTC).
    pub created_at: Option<DateTime<Utc>>,
    /// Last login (UTC); `None` when never.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Last master password change (UTC).
    pub last_pw_change_at: Option<DateTime<Utc>>,
    /// Groups.
    pub groups: Vec<String>,
    /// First seen by lpgate (UTC).
    pub first_seen: Option<DateTime<Utc>>,
}

impl UserFacts {
    /// Has MFA.
    pub fn mfa(&self) -> bool {
        !self.multifactor.is_empty()
    }

    /// Holds a LastPass account that is in use or about to be (active or staged).
    pub fn present(&self) -> bool {
        self.status == "active" || self.status == "staged"
    }
}

/// A query's rows as objects keyed by column name.
fn objects(r: QueryResult) -> Result<Vec<serde_json::Map<String, Value>>, ReportError> {
    if r.truncated {
        return Err(ReportError::TooLarge);
    }
    let cols = r.columns;
    Ok(r.rows
        .into_iter()
        .map(|row| cols.iter().cloned().zip(row).collect())
        .collect())
}

async fn run<S: Store>(
    store: &S,
    scope: &Scope,
    sql: &str,
    params: Vec<(String, Value)>,
) -> Result<Vec<serde_json::Map<String, Value>>, ReportError> {
    let r = store
        .query(QueryRequest {
            sql: sql.to_string(),
            params,
            account: scope.id(),
            limits: LIMITS,
        })
        .await?;
    objects(r)
}

/// A view's UTC text time (`YYYY-MM-DD HH:MM:SS`).
pub(crate) fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = v?.as_str()?;
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

/// The accounts in scope, by name.
pub async fn accounts<S: Store>(store: &S, scope: &Scope) -> Result<Vec<String>, ReportError> {
    let rows = run(
        store,
        scope,
        "SELECT account FROM accounts ORDER BY account",
        vec![],
    )
    .await?;
    Ok(rows.iter().map(|r| text(r.get("account"))).collect())
}

/// The sync run each account's figures come from: its newest successful run, and the newest
/// run's outcome when that one did not succeed.
pub async fn sources<S: Store>(store: &S, scope: &Scope) -> Result<Vec<Source>, ReportError> {
    let names = accounts(store, scope).await?;
    let runs = run(
        store,
        scope,
        "SELECT account, id, finished_at, outcome FROM sync_runs ORDER BY account, id DESC",
        vec![],
    )
    .await?;
    Ok(names
        .into_iter()
        .map(|account| {
            let mine: Vec<_> = runs
                .iter()
                .filter(|r| text(r.get("account")) == account)
                .collect();
            let ok = mine.iter().find(|r| text(r.get("outcome")) == "succeeded");
            let newest = mine
                .iter()
                .find(|r| text(r.get("outcome")) != "running")
                .map(|r| text(r.get("outcome")));
            let later_failure = match (ok, newest) {
                (Some(_), Some(o)) if o != "succeeded" => Some(o),
                _ => None,
            };
            Source {
                account,
                run_id: ok.and_then(|r| r.get("id")).and_then(Value::as_i64),
                finished_at: ok.and_then(|r| time(r.get("finished_at"))),
                later_failure,
            }
        })
        .collect())
}

/// Every user ever seen in scope (deprovisioned ones included; reports filter), ordered by
/// account and email.
pub async fn users<S: Store>(store: &S, scope: &Scope) -> Result<Vec<UserFacts>, ReportError> {
    let rows = run(
        store,
        scope,
        "SELECT account, email, fullname, status, admin, multifactor, mp_strength, \
                password_reset_required, invited_only, created_at, last_login_at, \
                last_pw_change_at, groups, first_seen \
         FROM users ORDER BY account, email",
        vec![],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| UserFacts {
            account: text(r.get("account")),
            email: text(r.get("email")),
            fullname: text(r.get("fullname")),
            status: text(r.get("status")),
            admin: flag(r.get("admin")),
            multifactor: text(r.get("multifactor")),
            mp_strength: r.get("mp_strength").and_then(Value::as_i64),
            password_reset_required: flag(r.get("password_reset_required")),
            invited_only: flag(r.get("invited_only")),
            created_at: time(r.get("created_at")),
            last_login_at: time(r.get("last_login_at")),
            last_pw_change_at: time(r.get("last_pw_change_at")),
            groups: r
                .get("groups")
                .and_then(Value::as_str)
                .and_then(|g| serde_json::from_str(g).ok())
                .unwrap_or_default(),
            first_seen: time(r.get("first_seen")),
        })
        .collect())
}

/// Since when each pending master-password change has been required, per `(account, email)`:
/// the end of the user's last history version without the requirement, or when lpgate first
/// saw the user (the same definition as the `password-reset-pending` rule).
pub async fn reset_since<S: Store>(
    store: &S,
    scope: &Scope,
) -> Result<Vec<(String, String, Option<DateTime<Utc>>)>, ReportError> {
    let rows = run(
        store,
        scope,
        "SELECT u.account, u.email, \
                COALESCE((SELECT MAX(h.valid_to) FROM users_history h \
                          WHERE h.account_id = u.account_id AND h.email = u.email \
                            AND h.password_reset_required = 0), u.first_seen) AS since \
         FROM users u WHERE u.password_reset_required = 1",
        vec![],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                text(r.get("account")),
                text(r.get("email")),
                time(r.get("since")),
            )
        })
        .collect())
}

/// One user LastPass lists as having an expired master password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// Account name.
    pub account: String,
    /// Email.
    pub email: String,
    /// Last master password change (UTC), as LastPass reported it.
    pub last_pw_change_at: Option<DateTime<Utc>>,
}

/// Expired master passwords, and per account when its list was last read (`None`: never).
pub type ExpiredLists = (Vec<Expired>, Vec<(String, Option<DateTime<Utc>>)>);

/// The expired-master-password lists of the accounts in scope, and when each account's list
/// was last read from LastPass (`None`: never read).
pub async fn expired<S: Store>(store: &S, scope: &Scope) -> Result<ExpiredLists, ReportError> {
    let rows = run(
        store,
        scope,
        "SELECT account, email, last_pw_change_at FROM expired_passwords ORDER BY account, email",
        vec![],
    )
    .await?;
    let reads = run(
        store,
        scope,
        "SELECT account, expired_passwords_read_at FROM accounts ORDER BY account",
        vec![],
    )
    .await?;
    Ok((
        rows.iter()
            .map(|r| Expired {
                account: text(r.get("account")),
                email: text(r.get("email")),
                last_pw_change_at: time(r.get("last_pw_change_at")),
            })
            .collect(),
        reads
            .iter()
            .map(|r| {
                (
                    text(r.get("account")),
                    time(r.get("expired_passwords_read_at")),
                )
            })
            .collect(),
    ))
}

/// When each user was last made an admin, per `(account, email)`, from the changes syncs
/// recorded (admins already admin at the account's first sync have none).
pub async fn admin_grants<S: Store>(
    store: &S,
    scope: &Scope,
) -> Result<Vec<(String, String, Option<DateTime<Utc>>)>, ReportError> {
    let rows = run(
        store,
        scope,
        "SELECT account, subject, MAX(at) AS at FROM changes \
         WHERE kind = 'user.admin_granted' GROUP BY account, subject",
        vec![],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                text(r.get("account")),
                text(r.get("subject")),
                time(r.get("at")),
            )
        })
        .collect())
}

/// One member of a shared folder who can administer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderAdmin {
    /// Account name.
    pub account: String,
    /// Folder name.
    pub folder: String,
    /// Member email.
    pub email: String,
}

/// Every shared-folder member who can administer the folder (folders in the trash excepted).
pub async fn folder_admins<S: Store>(
    store: &S,
    scope: &Scope,
) -> Result<Vec<FolderAdmin>, ReportError> {
    let rows = run(
        store,
        scope,
        "SELECT m.account, m.folder_name, m.email FROM folder_members m \
         JOIN folders f ON f.account_id = m.account_id AND f.id = m.folder_id \
         WHERE m.can_administer = 1 AND f.deleted = 0 \
         ORDER BY m.account, m.folder_name, m.email",
        vec![],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| FolderAdmin {
            account: text(r.get("account")),
            folder: text(r.get("folder_name")),
            email: text(r.get("email")),
        })
        .collect())
}

/// One person of an HR list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrPerson {
    /// Work email, lowercase.
    pub email: String,
    /// Name.
    pub name: Option<String>,
    /// Still employed.
    pub active: bool,
    /// Department.
    pub department: Option<String>,
}

/// The HR list loaded with `lpgate hr load`, and when it was loaded.
pub async fn stored_hr<S: Store>(
    store: &S,
) -> Result<(Vec<HrPerson>, Option<DateTime<Utc>>), ReportError> {
    let rows = run(
        store,
        &Scope::All,
        "SELECT email, name, status, department, loaded_at FROM hr_people ORDER BY email",
        vec![],
    )
    .await?;
    let loaded = rows.iter().filter_map(|r| time(r.get("loaded_at"))).max();
    let opt = |v: Option<&Value>| Some(text(v)).filter(|s| !s.is_empty());
    Ok((
        rows.iter()
            .map(|r| HrPerson {
                email: text(r.get("email")).to_lowercase(),
                name: opt(r.get("name")),
                active: text(r.get("status")) != "terminated",
                department: opt(r.get("department")),
            })
            .collect(),
        loaded,
    ))
}
