//! `/Groups`: LastPass groups (and groups created through SCIM that have no member yet,
//! which live in lpgate until they get one). Membership changes become `batchchangegrp`
//! plans; a group cannot be renamed (LastPass has no rename, and the id derives from the name).

use std::collections::{BTreeMap, BTreeSet};

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use lpgate_domain::{Action, ActionKind, ActionParams};
use lpgate_store::{NewScimGroup, ScimGroupRow, ScimUserQuery, Store, UserFilter, UserSort};
use serde_json::Value;

use super::ScimCaller;
use super::error::ScimError;
use super::filter::{self, get_ci};
use super::resource;
use super::users::{Body, ListParams, check_if_match, json_body, page_in_memory, resource_reply};
use super::write::{self, ScimWrite};
use crate::state::AppState;

fn wants_members(p: &ListParams) -> bool {
    let named = |list: &[String]| {
        list.iter()
            .any(|a| a.to_ascii_lowercase().contains("members"))
    };
    let in_filter = p
        .filter
        .as_ref()
        .is_some_and(|f| f.to_string().to_ascii_lowercase().contains("members"));
    in_filter || (p.attributes.is_empty() && !named(&p.excluded)) || named(&p.attributes)
}

/// The name a `displayName eq "…"` filter asks for. The store matches names exactly and the
/// filter matches them case-insensitively, so a name that differs in case falls back to the
/// full list.
fn by_name(p: &ListParams) -> Option<String> {
    use scim_v2::filter::{AttrExp, CompValue, CompareOp, Filter};
    match &p.filter {
        Some(Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v))))
            if path.sub_attr.is_none()
                && path.name.eq_ignore_ascii_case("displayName")
                && path
                    .uri
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(super::schemas::GROUP)) =>
        {
            Some(v.clone())
        }
        _ => None,
    }
}

/// `GET /Groups`.
pub async fn index<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let p = ListParams::from_query(raw.as_deref())?;
    list(&state, &caller, &resource::base_url(&headers), p).await
}

/// `POST /Groups/.search`.
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
    // `displayName eq "…"` (how Entra and Okta look a group up) reads that group only.
    let exact = match by_name(&p) {
        Some(name) => {
            state
                .store
                .scim_group(caller.account, None, Some(name), wants_members(&p))
                .await?
        }
        None => None,
    };
    let rows = match exact {
        Some(g) => vec![g],
        None => {
            state
                .store
                .scim_groups(caller.account, wants_members(&p))
                .await?
        }
    };
    let all: Vec<Value> = rows
        .iter()
        .map(|g| resource::group(g, base))
        .filter(|g| p.filter.as_ref().is_none_or(|f| filter::matches(g, f)))
        .collect();
    let (total, page) = page_in_memory(all, &p);
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

async fn current<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    id: &str,
    with_members: bool,
) -> Result<ScimGroupRow, ScimError> {
    state
        .store
        .scim_group(caller.account, Some(id.to_string()), None, with_members)
        .await?
        .ok_or_else(|| ScimError::not_found("Group", id))
}

/// `GET /Groups/{id}`.
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ScimError> {
    let p = ListParams::from_query(raw.as_deref())?;
    let g = current(&state, &caller, &id, wants_members(&p)).await?;
    let r = resource::group(&g, &resource::base_url(&headers));
    Ok(resource_reply(
        StatusCode::OK,
        &r,
        &p.attributes,
        &p.excluded,
    ))
}

/// What a Group body asks for.
pub(super) struct GroupInput {
    name: String,
    external_id: Option<String>,
    /// Member user ids, when `members` was given.
    members: Option<BTreeSet<i64>>,
}

pub(super) fn group_input(doc: &Value) -> Result<GroupInput, ScimError> {
    if !doc.is_object() {
        return Err(ScimError::invalid_syntax("a Group must be a JSON object"));
    }
    let name = match get_ci(doc, "displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ScimError::invalid_value(
                "displayName is required (the LastPass group name)",
            ));
        }
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "displayName must be a string, not {other}"
            )));
        }
    };
    let external_id = match get_ci(doc, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "externalId must be a string, not {other}"
            )));
        }
    };
    let members = match get_ci(doc, "members") {
        None => None,
        Some(Value::Null) => Some(BTreeSet::new()),
        Some(Value::Array(items)) => {
            let mut ids = BTreeSet::new();
            for (i, m) in items.iter().enumerate() {
                let v = get_ci(m, "value").and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                let Some(v) = v else {
                    return Err(ScimError::invalid_value(format!(
                        "members[{i}] has no value (a user id)"
                    )));
                };
                let id = v.parse::<i64>().ok().ok_or_else(|| {
                    ScimError::invalid_value(format!(
                        "members[{i}].value {v:?} is not a user id of this server"
                    ))
                })?;
                ids.insert(id);
            }
            Some(ids)
        }
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "members must be an array, not {other}"
            )));
        }
    };
    Ok(GroupInput {
        name,
        external_id,
        members,
    })
}

/// Emails of these user ids in the caller's account; 400 naming an unknown one.
async fn emails<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    ids: &BTreeSet<i64>,
) -> Result<BTreeMap<i64, String>, ScimError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    // In slices: SQLite nests a long OR list as deeply as it is long.
    let all: Vec<i64> = ids.iter().copied().collect();
    let mut found = BTreeMap::new();
    for slice in all.chunks(200) {
        let page = state
            .store
            .scim_users(ScimUserQuery {
                account: caller.account,
                filter: UserFilter::Or(slice.iter().map(|i| UserFilter::Id(*i)).collect()),
                sort: UserSort::Id,
                descending: false,
                offset: 0,
                limit: None,
            })
            .await?;
        found.extend(page.users.into_iter().map(|u| (u.id, u.email)));
    }
    if let Some(missing) = ids.iter().find(|i| !found.contains_key(i)) {
        return Err(ScimError::invalid_value(format!(
            "members: there is no user with id {missing:?}"
        )));
    }
    Ok(found)
}

fn membership(kind: ActionKind, email: &str, group: &str) -> Action {
    Action {
        kind,
        email: email.to_string(),
        params: ActionParams {
            groups: vec![group.to_string()],
            ..ActionParams::default()
        },
    }
}

/// `POST /Groups`.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let input = group_input(&json_body(&body)?)?;
    let taken = state
        .store
        .scim_groups(caller.account, false)
        .await?
        .into_iter()
        .find(|g| g.name.eq_ignore_ascii_case(&input.name));
    if let Some(g) = taken {
        return Err(ScimError::uniqueness(format!(
            "a group named {:?} already exists (id {})",
            g.name, g.id
        )));
    }
    let members = emails(&state, &caller, &input.members.clone().unwrap_or_default()).await?;
    state.ops()?;
    let id = state
        .store
        .put_scim_group(NewScimGroup {
            account: caller.account,
            name: input.name.clone(),
            external_id: input.external_id.clone(),
            now: Utc::now(),
        })
        .await?;
    let actions: Vec<Action> = members
        .values()
        .map(|e| membership(ActionKind::AddToGroup, e, &input.name))
        .collect();
    write::execute(
        &state,
        &caller,
        actions,
        ScimWrite::Update,
        &format!("POST /Groups {}", input.name),
    )
    .await?;
    let g = current(&state, &caller, &id, true).await?;
    Ok(resource_reply(
        StatusCode::CREATED,
        &resource::group(&g, &base),
        &[],
        &[],
    ))
}

async fn update<S: Store>(
    state: &AppState<S>,
    caller: &ScimCaller,
    g: ScimGroupRow,
    doc: Value,
    what: String,
    base: &str,
) -> Result<Response, ScimError> {
    let input = group_input(&doc)?;
    if input.name != g.name {
        return Err(ScimError::mutability(format!(
            "displayName cannot change from {:?} to {:?}: LastPass cannot rename groups",
            g.name, input.name
        )));
    }
    if input.external_id != g.external_id {
        state
            .store
            .put_scim_group(NewScimGroup {
                account: caller.account,
                name: g.name.clone(),
                external_id: input.external_id.clone(),
                now: Utc::now(),
            })
            .await?;
    }
    if let Some(wanted) = &input.members {
        let have: BTreeMap<i64, String> =
            g.members.clone().unwrap_or_default().into_iter().collect();
        let added: BTreeSet<i64> = wanted
            .iter()
            .filter(|i| !have.contains_key(i))
            .copied()
            .collect();
        let new = emails(state, caller, &added).await?;
        let mut actions: Vec<Action> = new
            .values()
            .map(|e| membership(ActionKind::AddToGroup, e, &g.name))
            .collect();
        actions.extend(
            have.iter()
                .filter(|(i, _)| !wanted.contains(i))
                .map(|(_, e)| membership(ActionKind::RemoveFromGroup, e, &g.name)),
        );
        write::execute(state, caller, actions, ScimWrite::Update, &what).await?;
    }
    let fresh = current(state, caller, &g.id, true).await?;
    Ok(resource_reply(
        StatusCode::OK,
        &resource::group(&fresh, base),
        &[],
        &[],
    ))
}

/// `PUT /Groups/{id}`.
pub async fn replace<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let g = current(&state, &caller, &id, true).await?;
    check_if_match(&headers, &resource::group(&g, &base))?;
    let doc = json_body(&body)?;
    update(&state, &caller, g, doc, format!("PUT /Groups/{id}"), &base).await
}

/// `PATCH /Groups/{id}`: answers 200 with the group.
pub async fn patch<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let g = current(&state, &caller, &id, true).await?;
    let old = resource::group(&g, &base);
    check_if_match(&headers, &old)?;
    let ops = json_body(&body)?;
    let mut doc = old;
    super::patch::apply(&mut doc, &ops, &["id", "meta"])?;
    if doc.get("members").is_none() {
        doc["members"] = Value::Array(Vec::new());
    }
    update(
        &state,
        &caller,
        g,
        doc,
        format!("PATCH /Groups/{id}"),
        &base,
    )
    .await
}

/// `DELETE /Groups/{id}`: every member leaves it (LastPass drops a group without members).
pub async fn delete<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<ScimCaller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let base = resource::base_url(&headers);
    let g = current(&state, &caller, &id, true).await?;
    check_if_match(&headers, &resource::group(&g, &base))?;
    let actions: Vec<Action> = g
        .members
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|(_, e)| membership(ActionKind::RemoveFromGroup, e, &g.name))
        .collect();
    write::execute(
        &state,
        &caller,
        actions,
        ScimWrite::Update,
        &format!("DELETE /Groups/{id}"),
    )
    .await?;
    state.store.delete_scim_group(caller.account, g.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
