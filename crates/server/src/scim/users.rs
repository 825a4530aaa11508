//! `/Users`: list with filter, paging, sorting and attribute selection (GET and
//! `POST /.search`), read, create, replace, patch and delete. Writes map to LastPass as
//! `docs/scim.md` tabulates: create → batchadd (an existing email is linked and updated),
//! names and Duo/SecurID → updateuser, Enterprise attributes → batchadd `attribs`,
//! `active` → suspend / enable, DELETE → remove or deprovision.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use lpgate_domain::{Action, ActionKind, ActionParams};
use lpgate_store::{
    ScimUserQuery, ScimUserRow, ScimUserState, Store, TextOp, UserFilter, UserSort,
};
use scim_v2::filter::Filter;
use serde_json::{Value, json};

use super::ScimCaller;
use super::cache::{Cached, Key};
use super::error::ScimError;
use super::filter::{self, get_ci};
use super::resource::{self, UserInput};
use super::schemas::{LASTPASS, MAX_RESULTS};
use super::write::{self, DeleteMode, ScimWrite};
use crate::state::AppState;

/// Most users a filter the store cannot narrow may be checked against one by one.
const MAX_SCAN: usize = 200_000;

/// The list parameters of `GET ?…` and `POST /.search`.
#[derive(Debug, Default)]
pub(super) struct ListParams {
    pub filter: Option<Filter>,
    pub start_index: usize,
    pub count: usize,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
    pub sort_by: Option<String>,
    pub descending: bool,
}

fn number(name: &str, v: &Value) -> Result<i64, ScimError> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer, not {v}")))
}

impl ListParams {
    /// From `(name, value)` pairs (query string or search body), names case-insensitive.
    pub fn from_pairs(pairs: &[(String, Value)]) -> Result<Self, ScimError> {
        let get = |n: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v)
        };
        let list = |n: &str| match get(n) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => resource::attr_list(Some(s)),
            _ => Vec::new(),
        };
        let filter = match get("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(filter::parse(s)?),
            Some(other) => {
                return Err(ScimError::invalid_filter(format!(
                    "filter must be a string, not {other}"
                )));
            }
        };
        let start_index = match get("startIndex") {
            None => 1,
            Some(v) => number("startIndex", v)?.max(1) as usize,
        };
        let count = match get("count") {
            None => 100,
            Some(v) => number("count", v)?.clamp(0, MAX_RESULTS as i64) as usize,
        };
        let descending = match get("sortOrder").and_then(Value::as_str) {
            None => false,
            Some(s) if s.eq_ignore_ascii_case("ascending") => false,
            Some(s) if s.eq_ignore_ascii_case("descending") => true,
            Some(s) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be ascending or descending, not {s:?}"
                )));
            }
        };
        let attributes = list("attributes");
        let excluded = list("excludedAttributes");
        if !attributes.is_empty() && !excluded.is_empty() {
            return Err(ScimError::invalid_value(
                "give attributes or excludedAttributes, not both",
            ));
        }
        Ok(ListParams {
            filter,
            start_index,
            count,
            attributes,
            excluded,
            sort_by: get("sortBy").and_then(Value::as_str).map(str::to_string),
            descending,
        })
    }

    /// From a query string.
    pub fn from_query(raw: Option<&str>) -> Result<Self, ScimError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ScimError::invalid_value(format!("the query string is malformed: {e}")))?;
        let pairs: Vec<(String, Value)> = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Self::from_pairs(&pairs)
    }

    /// From a `/.search` body.
    pub fn from_body(body: &Bytes) -> Result<Self, ScimError> {
        let v = json_body(body)?;
        let Value::Object(o) = v else {
            return Err(ScimError::invalid_syntax(
                "a search request must be a JSON object",
            ));
        };
        let pairs: Vec<(String, Value)> = o.into_iter().collect();
        Self::from_pairs(&pairs)
    }
}

/// A request body, its reading errors in SCIM's format (413 past the server's body limit).
pub(super) struct Body(pub Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ScimError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ScimError> {
        let limit = req
            .extensions()
            .get::<crate::BodyLimit>()
            .map_or(crate::MAX_BODY_BYTES, |l| l.0);
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the request body is larger than {limit} bytes"),
                    )
                } else {
                    ScimError::invalid_syntax(format!("could not read the body: {}", r.body_text()))
                }
            })
    }
}

/// A JSON request body, or 400 `invalidSyntax`.
pub(super) fn json_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

/// A sort key of a resource: the first value the path designates, lowercase.
pub(super) fn sort_key(r: &Value, path: &str) -> Option<String> {
    let f: Filter = format!("{path} pr").parse().ok()?;
    let Filter::Attr(scim_v2::filter::AttrExp::Present(p)) = f else {
        return None;
    };
    let holder = match p.uri.as_deref() {
        Some(u)
            if !u.eq_ignore_ascii_case(super::schemas::USER)
                && !u.eq_ignore_ascii_case(super::schemas::GROUP) =>
        {
            get_ci(r, u)?
        }
        _ => r,
    };
    let mut v = get_ci(holder, &p.name)?;
    if let Value::Array(a) = v {
        v = a
            .iter()
            .find(|x| get_ci(x, "primary") == Some(&json!(true)))
            .or(a.first())?;
    }
    if let Some(s) = &p.sub_attr {
        v = get_ci(v, s)?;
    } else if v.is_object() {
        v = get_ci(v, "value")?;
    }
    Some(match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    })
}

/// Sorts and pages rendered resources in memory.
pub(super) fn page_in_memory(mut all: Vec<Value>, p: &ListParams) -> (usize, Vec<Value>) {
    if let Some(by) = &p.sort_by {
        all.sort_by(|a, b| {
            let (x, y) = (sort_key(a, by), sort_key(b, by));
            // Resources without the attribute sort last either way.
            match (x, y) {
                (Some(x), Some(y)) => {
                    if p.descending {
                        y.cmp(&x)
                    } else {
                        x.cmp(&y)
                    }
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
        });
    } else if p.descending {
        all.reverse();
    }
    let total = all.len();
    let page = all
        .into_iter()
        .skip(p.start_index - 1)
        .take(p.count)
        .collect();
    (total, page)
}

fn one_user(caller: &ScimCaller, filter: UserFilter) -> ScimUserQuery {
    ScimUserQuery {
        account: caller.account,
        filter,
        sort: UserSort::Id,
        descending: false,
        offset: 0,
        limit: Some(1),
    }
}

/// A user of the caller's account by SCIM id, rendered, through the cache.
async fn find<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    key: Key,
    base: &str,
) -> Result<std::sync::Arc<Cached>, ScimError> {
    let version = caller.version;
    if let Some(c) = state.scim.get(version, caller.account, &key, base) {
        return Ok(c);
    }
    let filter = match &key {
        Key::Id(id) => UserFilter::Id(*id),
        Key::Name(n) => UserFilter::Email(TextOp::Eq, n.clone()),
    };
    let page = state.store.scim_users(one_user(caller, filter)).await?;
    let resource = page.users.first().map(|row| resource::user(row, base));
    let mut keys = vec![key];
    if let Some(row) = page.users.first() {
        keys.push(Key::Id(row.id));
        keys.push(Key::Name(row.email.clone()));
        keys.dedup();
    }
    let json = resource
        .as_ref()
        .map(|r| serde_json::to_vec(r).unwrap_or_default())
        .unwrap_or_default();
    let cached = std::sync::Arc::new(Cached {
        base: base.to_string(),
        resource,
        json: json.into(),
    });
    state
        .scim
        .put(version, caller.account, keys, cached.clone());
    Ok(cached)
}

async fn row<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    filter: UserFilter,
) -> Result<Option<ScimUserRow>, ScimError> {
    Ok(state
        .store
        .scim_users(one_user(caller, filter))
        .await?
        .users
        .into_iter()
        .next())
}

fn parse_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok().filter(|n| n.to_string() == id)
}

/// The reply for one resource, with its ETag and (for 201) Location.
pub(super) fn resource_reply(
    status: StatusCode,
    r: &Value,
    attributes: &[String],
    excluded: &[String],
) -> Response {
    let etag = resource::version(r).to_string();
    let location = r["meta"]["location"].as_str().unwrap_or("").to_string();
    let body = resource::project(r.clone(), attributes, excluded);
    let mut resp = resource::scim_json(&body);
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&location)
    {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `If-Match`: 412 unless it names the current version (or `*`).
pub(super) fn check_if_match(headers: &HeaderMap, current: &Value) -> Result<(), ScimError> {
    let Some(want) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let have = resource::version(current);
    let strip = |s: &str| s.trim().trim_start_matches("W/").to_string();
    if want
        .split(',')
        .any(|w| w.trim() == "*" || strip(w) == strip(have))
    {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("the resource has changed: its version is {have}, If-Match asked for {want}"),
        ))
    }
}

/// `GET /Users`.
pub async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let p = ListParams::from_query(raw.as_deref())?;
    list(&state, &caller, &resource::base_url(&headers), p).await
}

/// `POST /Users/.search`.
pub async fn search<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let p = ListParams::from_body(&body)?;
    list(&state, &caller, &resource::base_url(&headers), p).await
}

async fn list<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    base: &str,
    p: ListParams,
) -> Result<Response, ScimError> {
    let compiled = match &p.filter {
        Some(f) => filter::compile_users(f),
        None => filter::Compiled {
            filter: UserFilter::All,
            exact: true,
        },
    };
    // The request every provider makes before a create: one user by userName, cached.
    if let (UserFilter::Email(TextOp::Eq, name), true) = (&compiled.filter, compiled.exact)
        && p.start_index == 1
    {
        let found = find(state, caller, Key::Name(name.clone()), base).await?;
        if p.attributes.is_empty() && p.excluded.is_empty() {
            // Written out directly: the resource was serialized once, when it was cached.
            let total = usize::from(found.resource.is_some());
            let shown = if p.count > 0 { total } else { 0 };
            let mut body = Vec::with_capacity(found.json.len() + 160);
            body.extend_from_slice(
                format!(
                    "{{\"schemas\":[\"{}\"],\"totalResults\":{total},\"startIndex\":1,\"itemsPerPage\":{shown},\"Resources\":[",
                    super::schemas::LIST
                )
                .as_bytes(),
            );
            if shown == 1 {
                body.extend_from_slice(&found.json);
            }
            body.extend_from_slice(b"]}");
            return Ok(resource::scim_bytes(body));
        }
        let all: Vec<Value> = found.resource.clone().into_iter().collect();
        let total = all.len();
        let page: Vec<Value> = all
            .into_iter()
            .take(p.count)
            .map(|r| resource::project(r, &p.attributes, &p.excluded))
            .collect();
        return Ok(resource::scim_json(&resource::list(page, total, 1)));
    }
    let store_sort = match p.sort_by.as_deref() {
        None => Some(UserSort::Id),
        Some(s) if s.eq_ignore_ascii_case("id") => Some(UserSort::Id),
        Some(s)
            if s.eq_ignore_ascii_case("userName")
                || s.eq_ignore_ascii_case(&format!("{}:userName", super::schemas::USER)) =>
        {
            Some(UserSort::Email)
        }
        Some(_) => None,
    };
    let (total, page) = match (compiled.exact, store_sort) {
        (true, Some(sort)) => {
            let r = state
                .store
                .scim_users(ScimUserQuery {
                    account: caller.account,
                    filter: compiled.filter,
                    sort,
                    descending: p.descending,
                    offset: p.start_index - 1,
                    limit: Some(p.count),
                })
                .await?;
            (
                r.total,
                r.users.iter().map(|u| resource::user(u, base)).collect(),
            )
        }
        _ => {
            let r = state
                .store
                .scim_users(ScimUserQuery {
                    account: caller.account,
                    filter: compiled.filter,
                    sort: UserSort::Id,
                    descending: false,
                    offset: 0,
                    limit: Some(MAX_SCAN + 1),
                })
                .await?;
            if r.users.len() > MAX_SCAN {
                return Err(ScimError::bad(
                    "tooMany",
                    format!(
                        "the filter would be checked against more than {MAX_SCAN} users; narrow it with userName, externalId, id or active"
                    ),
                ));
            }
            let f = p.filter.as_ref();
            let all: Vec<Value> = r
                .users
                .iter()
                .map(|u| resource::user(u, base))
                .filter(|u| f.is_none_or(|f| filter::matches(u, f)))
                .collect();
            page_in_memory(all, &p)
        }
    };
    let page: Vec<Value> = page
        .into_iter()
        .map(|r| resource::project(r, &p.attributes, &p.excluded))
        .collect();
    Ok(resource::scim_json(&resource::list(
        page,
        total,
        p.start_index,
    )))
}

/// `GET /Users/{id}`.
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let p = ListParams::from_query(raw.as_deref())?;
    let base = resource::base_url(&headers);
    let n = parse_id(&id).ok_or_else(|| ScimError::not_found("User", &id))?;
    let found = find(&state, &caller, Key::Id(n), &base).await?;
    let r = found
        .resource
        .as_ref()
        .ok_or_else(|| ScimError::not_found("User", &id))?;
    let etag = HeaderValue::from_str(resource::version(r)).ok();
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && inm.split(',').any(|t| t.trim() == resource::version(r))
    {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        if let Some(v) = etag {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    if p.attributes.is_empty() && p.excluded.is_empty() {
        let mut resp = resource::scim_bytes(found.json.clone());
        if let Some(v) = etag {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    Ok(resource_reply(
        StatusCode::OK,
        r,
        &p.attributes,
        &p.excluded,
    ))
}

fn attribs_of(doc: &Value, user_name: &str) -> BTreeMap<String, String> {
    let mut d = doc.clone();
    d["userName"] = json!(user_name);
    resource::user_input(&d)
        .map(|u| u.attribs)
        .unwrap_or_default()
}

fn securid_of(doc: &Value) -> Option<String> {
    doc.get(LASTPASS)
        .and_then(|l| get_ci(l, "securidUsername"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The full name a change sets: a new `displayName` wins, else changed name parts.
fn new_fullname(old: &Value, new: &Value) -> Option<String> {
    let dn = |v: &Value| {
        get_ci(v, "displayName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let parts = |v: &Value| {
        let mut only = json!({});
        if let Some(n) = get_ci(v, "name") {
            only["name"] = n.clone();
            if let Some(o) = only["name"].as_object_mut() {
                o.retain(|k, _| !k.eq_ignore_ascii_case("formatted"));
            }
        }
        resource::fullname_of(&only)
    };
    match (dn(old), dn(new)) {
        (o, Some(n)) if o.as_deref() != Some(n.as_str()) => return Some(n),
        _ => {}
    }
    let (o, n) = (parts(old), parts(new));
    if n.is_some() && n != o {
        return n;
    }
    let formatted = |v: &Value| {
        get_ci(v, "name")
            .and_then(|n| get_ci(n, "formatted"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (o, n) = (formatted(old), formatted(new));
    if n.is_some() && n != o {
        return n;
    }
    None
}

/// The actions that make LastPass's user look like `input` (`old`: the resource as shown).
fn changes(
    row: &ScimUserRow,
    old: &Value,
    input: &UserInput,
    new_doc: &Value,
) -> Result<(Vec<Action>, ScimWrite), ScimError> {
    if input.user_name != row.email {
        return Err(ScimError::mutability(format!(
            "userName cannot change from {:?} to {:?}: LastPass does not rename users",
            row.email, input.user_name
        )));
    }
    let mut params = ActionParams::default();
    let mut update = false;
    if let Some(f) = new_fullname(old, new_doc)
        && f != row.fullname
    {
        params.fullname = Some(f);
        update = true;
    }
    if let Some(d) = &input.duo_username
        && *d != row.duo_username
    {
        params.duo_username = Some(d.clone().unwrap_or_default());
        update = true;
    }
    let old_doc = row
        .state
        .as_ref()
        .and_then(|s| serde_json::from_str::<Value>(&s.document).ok())
        .unwrap_or(Value::Null);
    if let Some(s) = &input.securid_username
        && *s != securid_of(&old_doc)
    {
        params.securid_username = Some(s.clone().unwrap_or_default());
        update = true;
    }
    let old_attribs = attribs_of(&old_doc, &row.email);
    if input.attribs != old_attribs {
        let mut a = input.attribs.clone();
        for k in old_attribs.keys() {
            a.entry(k.clone()).or_default();
        }
        params.attribs = a;
        update = true;
    }
    let mut actions = Vec::new();
    if update {
        actions.push(Action {
            kind: ActionKind::Update,
            email: row.email.clone(),
            params,
        });
    }
    let mut kind = ScimWrite::Update;
    match input.active {
        Some(false) if !row.disabled => {
            actions.push(Action {
                kind: ActionKind::Suspend,
                email: row.email.clone(),
                params: ActionParams::default(),
            });
            kind = ScimWrite::Deactivate;
        }
        Some(true) if row.disabled => {
            actions.push(Action {
                kind: ActionKind::Enable,
                email: row.email.clone(),
                params: ActionParams::default(),
            });
        }
        _ => {}
    }
    Ok((actions, kind))
}

async fn keep_state<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    row: &ScimUserRow,
    input: &UserInput,
) -> Result<(), ScimError> {
    let now = Utc::now();
    state
        .store
        .put_scim_user(
            caller.account,
            ScimUserState {
                user_id: row.id,
                external_id: input.external_id.clone(),
                document: input.document.to_string(),
                created: row.state.as_ref().map_or(now, |s| s.created),
                last_modified: now,
            },
        )
        .await?;
    Ok(())
}

async fn reread<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    email: &str,
) -> Result<ScimUserRow, ScimError> {
    row(
        state,
        caller,
        UserFilter::Email(TextOp::Eq, email.to_string()),
    )
    .await?
    .ok_or_else(|| {
        ScimError::new(
            StatusCode::BAD_GATEWAY,
            format!("LastPass does not list {email} after the change"),
        )
    })
}

/// `POST /Users`.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let doc = json_body(&body)?;
    let input = resource::user_input(&doc)?;
    let existing = row(
        &state,
        &caller,
        UserFilter::Email(TextOp::Eq, input.user_name.clone()),
    )
    .await?;
    match &existing {
        Some(r) if r.state.is_some() => {
            return Err(ScimError::uniqueness(format!(
                "userName {:?} already exists (id {})",
                input.user_name, r.id
            )));
        }
        Some(r) => {
            // LastPass links an existing email and updates it.
            let old = resource::user(r, &base);
            let (actions, kind) = changes(r, &old, &input, &input.document)?;
            write::execute(
                &state,
                &caller,
                actions,
                kind,
                &format!("POST /Users {}", r.id),
            )
            .await?;
        }
        None => {
            let provision = Action {
                kind: ActionKind::Provision,
                email: input.user_name.clone(),
                params: ActionParams {
                    fullname: input.fullname.clone(),
                    duo_username: input.duo_username.clone().flatten(),
                    securid_username: input.securid_username.clone().flatten(),
                    password_reset_required: Some(true),
                    attribs: input.attribs.clone(),
                    groups: Vec::new(),
                },
            };
            write::execute(
                &state,
                &caller,
                vec![provision],
                ScimWrite::Create,
                &format!("POST /Users {}", input.user_name),
            )
            .await?;
            if input.active == Some(false) {
                let suspend = Action {
                    kind: ActionKind::Suspend,
                    email: input.user_name.clone(),
                    params: ActionParams::default(),
                };
                write::execute(
                    &state,
                    &caller,
                    vec![suspend],
                    ScimWrite::Deactivate,
                    &format!("POST /Users {} active=false", input.user_name),
                )
                .await?;
            }
        }
    }
    let r = reread(&state, &caller, &input.user_name).await?;
    keep_state(&state, &caller, &r, &input).await?;
    let r = reread(&state, &caller, &input.user_name).await?;
    Ok(resource_reply(
        StatusCode::CREATED,
        &resource::user(&r, &base),
        &[],
        &[],
    ))
}

async fn current<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    id: &str,
) -> Result<ScimUserRow, ScimError> {
    let n = parse_id(id).ok_or_else(|| ScimError::not_found("User", id))?;
    row(state, caller, UserFilter::Id(n))
        .await?
        .ok_or_else(|| ScimError::not_found("User", id))
}

async fn update<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    r: ScimUserRow,
    old: Value,
    new_doc: Value,
    what: String,
    base: &str,
) -> Result<Response, ScimError> {
    let input = resource::user_input(&new_doc)?;
    let (actions, kind) = changes(&r, &old, &input, &new_doc)?;
    write::execute(state, caller, actions, kind, &what).await?;
    let fresh = reread(state, caller, &r.email).await?;
    keep_state(state, caller, &fresh, &input).await?;
    let fresh = reread(state, caller, &r.email).await?;
    Ok(resource_reply(
        StatusCode::OK,
        &resource::user(&fresh, base),
        &[],
        &[],
    ))
}

/// `PUT /Users/{id}`: the body replaces the user (read-only attributes are ignored).
pub async fn replace<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let r = current(&state, &caller, &id).await?;
    let old = resource::user(&r, &base);
    check_if_match(&headers, &old)?;
    let doc = json_body(&body)?;
    update(
        &state,
        &caller,
        r,
        old,
        doc,
        format!("PUT /Users/{id}"),
        &base,
    )
    .await
}

/// Attributes a PATCH may not touch.
const READ_ONLY: &[&str] = &["id", "meta", "groups", "status", "admin", "lastLogin"];

/// `PATCH /Users/{id}`: answers 200 with the user.
pub async fn patch<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let r = current(&state, &caller, &id).await?;
    let old = resource::user(&r, &base);
    check_if_match(&headers, &old)?;
    let ops = json_body(&body)?;
    let mut doc = old.clone();
    super::patch::apply(&mut doc, &ops, READ_ONLY)?;
    update(
        &state,
        &caller,
        r,
        old,
        doc,
        format!("PATCH /Users/{id}"),
        &base,
    )
    .await
}

/// `DELETE /Users/{id}`: remove (default) or deprovision, per account.
pub async fn delete<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let r = current(&state, &caller, &id).await?;
    check_if_match(&headers, &resource::user(&r, &base))?;
    let ops = state.ops()?;
    let kind = match (ops.settings.act)(&caller.account_name).scim.delete {
        DeleteMode::Remove => ActionKind::Remove,
        DeleteMode::Deprovision => ActionKind::Deprovision,
    };
    let action = Action {
        kind,
        email: r.email.clone(),
        params: ActionParams::default(),
    };
    write::execute(
        &state,
        &caller,
        vec![action],
        ScimWrite::Delete,
        &format!("DELETE /Users/{id}"),
    )
    .await?;
    state.store.delete_scim_user(caller.account, r.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
