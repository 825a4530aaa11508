//! Users and groups as SCIM resources: rendering store rows (with `meta` and a version that
//! changes whenever the resource does), reading what an identity provider sends (attribute
//! names in any case, booleans as strings), `attributes`/`excludedAttributes`, list
//! responses, and `application/scim+json` replies.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use lpgate_store::{ScimGroupRow, ScimUserRow};
use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::filter::get_ci;
use super::schemas::{ENTERPRISE, GROUP, LASTPASS, LIST, USER};

/// The media type of every SCIM reply.
pub const MEDIA_TYPE: &str = "application/scim+json";

/// A JSON reply as `application/scim+json`.
pub fn scim_json(v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
        body,
    )
        .into_response()
}

/// Serialized JSON as `application/scim+json`.
pub fn scim_bytes(body: impl Into<axum::body::Body>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
        body.into(),
    )
        .into_response()
}

/// `http(s)://host/scim/v2` as the client reached it (`X-Forwarded-Proto` and `Host`).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http");
    format!("{proto}://{host}/scim/v2")
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// FNV-1a: a stable hash for versions (the standard hasher may change between releases).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Adds `meta` with a weak version derived from the resource's content.
fn with_meta(
    mut r: Value,
    kind: &str,
    location: String,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
) -> Value {
    let version = format!("W/\"{:016x}\"", fnv(r.to_string().as_bytes()));
    r["meta"] = json!({
        "resourceType": kind,
        "created": time(created),
        "lastModified": time(modified.max(created)),
        "location": location,
        "version": version,
    });
    r
}

/// The version (ETag) of a rendered resource.
pub fn version(r: &Value) -> &str {
    r["meta"]["version"].as_str().unwrap_or("")
}

/// The full name an identity provider's attributes describe: given and family names when
/// there are any, else `displayName`, else `name.formatted`.
pub fn fullname_of(doc: &Value) -> Option<String> {
    let name = get_ci(doc, "name");
    let part = |k: &str| {
        name.and_then(|n| get_ci(n, k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let joined: Vec<&str> = [part("givenName"), part("familyName")]
        .into_iter()
        .flatten()
        .collect();
    if !joined.is_empty() {
        return Some(joined.join(" "));
    }
    let display = get_ci(doc, "displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    display.or_else(|| part("formatted")).map(str::to_string)
}

/// A user as SCIM shows it.
pub fn user(row: &ScimUserRow, base: &str) -> Value {
    let doc: Value = row
        .state
        .as_ref()
        .and_then(|s| serde_json::from_str(&s.document).ok())
        .unwrap_or_else(|| json!({}));
    let mut r = Map::new();
    if let Value::Object(d) = &doc {
        for (k, v) in d {
            r.insert(k.clone(), v.clone());
        }
    }
    let id = row.id.to_string();
    r.insert("id".into(), json!(id));
    if let Some(x) = row.state.as_ref().and_then(|s| s.external_id.clone()) {
        r.insert("externalId".into(), json!(x));
    }
    r.insert("userName".into(), json!(row.email));
    // The name parts kept are shown while they still make LastPass's full name; a name
    // changed in LastPass since is shown split.
    let consistent = fullname_of(&doc).as_deref() == Some(row.fullname.as_str());
    if row.fullname.is_empty() {
        r.remove("name");
        r.remove("displayName");
    } else if consistent {
        let mut name = doc.get("name").cloned().unwrap_or_else(|| json!({}));
        if name.get("formatted").is_none() {
            name["formatted"] = json!(row.fullname);
        }
        r.insert("name".into(), name);
        if r.get("displayName").is_none() {
            r.insert("displayName".into(), json!(row.fullname));
        }
    } else {
        let (given, family) = match row.fullname.rsplit_once(' ') {
            Some((g, f)) => (g.trim(), f.trim()),
            None => (row.fullname.as_str(), ""),
        };
        let mut name = json!({"formatted": row.fullname, "givenName": given});
        if !family.is_empty() {
            name["familyName"] = json!(family);
        }
        r.insert("name".into(), name);
        r.insert("displayName".into(), json!(row.fullname));
    }
    r.insert("active".into(), json!(!row.disabled));
    let has_emails = r
        .get("emails")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_emails {
        r.insert(
            "emails".into(),
            json!([{"value": row.email, "type": "work", "primary": true}]),
        );
    }
    if row.groups.is_empty() {
        r.remove("groups");
    } else {
        let groups: Vec<Value> = row
            .groups
            .iter()
            .map(|(gid, name)| json!({"value": gid, "display": name, "$ref": format!("{base}/Groups/{gid}")}))
            .collect();
        r.insert("groups".into(), Value::Array(groups));
    }
    let mut lp = doc
        .get(LASTPASS)
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    lp["status"] = json!(row.status);
    lp["admin"] = json!(row.admin);
    match &row.duo_username {
        Some(d) => lp["duoUsername"] = json!(d),
        None => {
            if let Some(o) = lp.as_object_mut() {
                o.remove("duoUsername");
            }
        }
    }
    if let Some(t) = row.last_login {
        lp["lastLogin"] = json!(time(t));
    }
    r.insert(LASTPASS.into(), lp);
    let mut schemas = vec![json!(USER)];
    if r.get(ENTERPRISE).is_some() {
        schemas.push(json!(ENTERPRISE));
    }
    schemas.push(json!(LASTPASS));
    r.insert("schemas".into(), Value::Array(schemas));
    r.remove("meta");
    let modified = row
        .state
        .as_ref()
        .map_or(row.valid_from, |s| s.last_modified.max(row.valid_from));
    with_meta(
        Value::Object(r),
        "User",
        format!("{base}/Users/{id}"),
        row.first_seen,
        modified,
    )
}

/// A group as SCIM shows it (members when they were read).
pub fn group(row: &ScimGroupRow, base: &str) -> Value {
    let mut r = json!({
        "schemas": [GROUP],
        "id": row.id,
        "displayName": row.name,
    });
    if let Some(x) = &row.external_id {
        r["externalId"] = json!(x);
    }
    if let Some(members) = &row.members {
        r["members"] = Value::Array(
            members
                .iter()
                .map(|(id, email)| {
                    json!({"value": id.to_string(), "display": email, "type": "User", "$ref": format!("{base}/Users/{id}")})
                })
                .collect(),
        );
    }
    with_meta(
        r,
        "Group",
        format!("{base}/Groups/{}", row.id),
        row.created,
        row.last_modified,
    )
}

/// A list response page.
pub fn list(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// One attribute named in `attributes`/`excludedAttributes`: the key of the object that
/// holds it (`None`: the resource), the attribute, the sub-attribute.
fn split_attr(raw: &str) -> (Option<String>, String, Option<String>) {
    let raw = raw.trim();
    for uri in [ENTERPRISE, LASTPASS, USER, GROUP] {
        if raw.len() >= uri.len() && raw[..uri.len()].eq_ignore_ascii_case(uri) {
            let rest = raw[uri.len()..].trim_start_matches(':');
            let core = uri == USER || uri == GROUP;
            if rest.is_empty() {
                return (None, uri.to_string(), None);
            }
            let (a, s) = match rest.split_once('.') {
                Some((a, s)) => (a.to_string(), Some(s.to_string())),
                None => (rest.to_string(), None),
            };
            return (if core { None } else { Some(uri.to_string()) }, a, s);
        }
    }
    match raw.split_once('.') {
        Some((a, s)) => (None, a.to_string(), Some(s.to_string())),
        None => (None, raw.to_string(), None),
    }
}

fn key_of(m: &Map<String, Value>, name: &str) -> Option<String> {
    m.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Applies `attributes` (keep only these, plus `id` and `schemas`) or `excludedAttributes`.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(full) = resource else {
        return resource;
    };
    if !attributes.is_empty() {
        let mut out = Map::new();
        for k in ["schemas", "id"] {
            if let Some(v) = full.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
        for a in attributes {
            let (holder, name, sub) = split_attr(a);
            let src = match &holder {
                None => Some(&full),
                Some(h) => full.get(h).and_then(Value::as_object),
            };
            let Some(src) = src else { continue };
            let Some(k) = key_of(src, &name) else {
                continue;
            };
            let value = match (&sub, &src[&k]) {
                (None, v) => v.clone(),
                (Some(s), Value::Object(o)) => match key_of(o, s) {
                    Some(sk) => {
                        let mut m = match out_get(&out, &holder, &k) {
                            Some(Value::Object(prev)) => prev.clone(),
                            _ => Map::new(),
                        };
                        m.insert(sk.clone(), o[&sk].clone());
                        Value::Object(m)
                    }
                    None => continue,
                },
                (Some(s), Value::Array(items)) => Value::Array(
                    items
                        .iter()
                        .filter_map(|i| {
                            let o = i.as_object()?;
                            let sk = key_of(o, s)?;
                            Some(json!({ sk.clone(): o[&sk].clone() }))
                        })
                        .collect(),
                ),
                _ => continue,
            };
            match &holder {
                None => {
                    out.insert(k, value);
                }
                Some(h) => {
                    let e = out.entry(h.clone()).or_insert_with(|| json!({}));
                    e[&k] = value;
                }
            }
        }
        return Value::Object(out);
    }
    let mut out = full;
    for a in excluded {
        let (holder, name, sub) = split_attr(a);
        if holder.is_none() && (name == "id" || name == "schemas") {
            continue;
        }
        let target = match &holder {
            None => Some(&mut out),
            Some(h) => out.get_mut(h).and_then(Value::as_object_mut),
        };
        let Some(target) = target else { continue };
        let Some(k) = key_of(target, &name) else {
            continue;
        };
        match sub {
            None => {
                target.remove(&k);
            }
            Some(s) => match target.get_mut(&k) {
                Some(Value::Object(o)) => {
                    if let Some(sk) = key_of(o, &s) {
                        o.remove(&sk);
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(sk) = key_of(i, &s) {
                            i.remove(&sk);
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Value::Object(out)
}

fn out_get<'a>(out: &'a Map<String, Value>, holder: &Option<String>, k: &str) -> Option<&'a Value> {
    match holder {
        None => out.get(k),
        Some(h) => out.get(h).and_then(|e| e.get(k)),
    }
}

/// What a User body asks for, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    /// `userName`, trimmed and lowercase.
    pub user_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `active`, when given.
    pub active: Option<bool>,
    /// The full name the attributes describe, when they describe one.
    pub fullname: Option<String>,
    /// Duo username (`Some(None)`: cleared).
    pub duo_username: Option<Option<String>>,
    /// SecurID username.
    pub securid_username: Option<Option<String>>,
    /// Enterprise attributes as LastPass `attribs`.
    pub attribs: BTreeMap<String, String>,
    /// What lpgate keeps (see [`lpgate_store::ScimUserState::document`]).
    pub document: Value,
}

/// Canonical names of the core User attributes (names are case-insensitive in SCIM).
const USER_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "meta",
];

/// A boolean as identity providers send it: `true`, or Entra's `"True"`/`"False"`.
pub fn boolean(v: &Value, attr: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!(
            "{attr} must be a boolean, not {other}"
        ))),
    }
}

fn opt_string(v: Option<&Value>, attr: &str) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ScimError::invalid_value(format!(
            "{attr} must be a string, not {other}"
        ))),
    }
}

/// Reads a User body (POST, PUT, or a patched resource): canonical attribute names,
/// booleans in the strings Entra sends, types checked with errors naming the attribute.
pub fn user_input(body: &Value) -> Result<UserInput, ScimError> {
    let Value::Object(raw) = body else {
        return Err(ScimError::invalid_syntax("a User must be a JSON object"));
    };
    let mut doc = Map::new();
    for (k, v) in raw {
        if let Some(c) = USER_ATTRIBUTES.iter().find(|c| c.eq_ignore_ascii_case(k)) {
            doc.insert((*c).to_string(), v.clone());
        } else if let Some(u) = [ENTERPRISE, LASTPASS]
            .iter()
            .find(|u| u.eq_ignore_ascii_case(k))
        {
            if !v.is_object() && !v.is_null() {
                return Err(ScimError::invalid_value(format!("{u} must be an object")));
            }
            if v.is_object() {
                doc.insert((*u).to_string(), v.clone());
            }
        }
        // Other schemas' attributes are not kept.
    }
    let user_name = match doc.get("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_lowercase(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(ScimError::invalid_value(
                "userName is required (the user's email)",
            ));
        }
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "userName must be a string, not {other}"
            )));
        }
    };
    if !lpgate_domain::directory::looks_like_email(&user_name) {
        return Err(ScimError::invalid_value(format!(
            "userName {user_name:?} is not an email address: LastPass users are keyed by email"
        )));
    }
    let external_id = opt_string(doc.get("externalId"), "externalId")?;
    let active = match doc.get("active") {
        None | Some(Value::Null) => None,
        Some(v) => Some(boolean(v, "active")?),
    };
    if let Some(n) = doc.get("name")
        && !n.is_object()
        && !n.is_null()
    {
        return Err(ScimError::invalid_value(format!(
            "name must be an object, not {n}"
        )));
    }
    for k in ["displayName", "title", "nickName"] {
        opt_string(doc.get(k), k)?;
    }
    for k in [
        "emails",
        "phoneNumbers",
        "addresses",
        "ims",
        "photos",
        "roles",
        "entitlements",
    ] {
        if let Some(v) = doc.get(k)
            && !v.is_array()
            && !v.is_null()
        {
            return Err(ScimError::invalid_value(format!(
                "{k} must be an array, not {v}"
            )));
        }
    }
    if let Some(Value::Array(emails)) = doc.get_mut("emails") {
        for e in emails.iter_mut() {
            if let Some(p) = e.get("primary").cloned() {
                e["primary"] = json!(boolean(&p, "emails.primary")?);
            }
        }
    }
    let fullname = fullname_of(&Value::Object(doc.clone()));
    let lp = doc.get(LASTPASS).cloned().unwrap_or(Value::Null);
    let duo_username = match get_ci(&lp, "duoUsername") {
        None => None,
        Some(v) => Some(opt_string(Some(v), "duoUsername")?),
    };
    let securid_username = match get_ci(&lp, "securidUsername") {
        None => None,
        Some(v) => Some(opt_string(Some(v), "securidUsername")?),
    };
    let mut attribs = BTreeMap::new();
    if let Some(ent) = doc.get(ENTERPRISE) {
        for (scim, lastpass) in [
            ("employeeNumber", "EmployeeNumber"),
            ("costCenter", "CostCenter"),
            ("organization", "Organization"),
            ("division", "Division"),
            ("department", "Department"),
        ] {
            if let Some(v) = opt_string(get_ci(ent, scim), &format!("{ENTERPRISE}:{scim}"))? {
                attribs.insert(lastpass.to_string(), v);
            }
        }
        match get_ci(ent, "manager") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                attribs.insert("Manager".into(), s.clone());
            }
            Some(m @ Value::Object(_)) => {
                let v = opt_string(get_ci(m, "displayName"), "manager.displayName")?
                    .or(opt_string(get_ci(m, "value"), "manager.value")?);
                if let Some(v) = v {
                    attribs.insert("Manager".into(), v);
                }
            }
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "{ENTERPRISE}:manager must be an object, not {other}"
                )));
            }
        }
    }
    // What lpgate keeps: everything but what LastPass holds or the server computes.
    for k in [
        "schemas",
        "id",
        "meta",
        "groups",
        "password",
        "userName",
        "active",
        "externalId",
    ] {
        doc.remove(k);
    }
    if let Some(Value::Object(lp)) = doc.get_mut(LASTPASS) {
        lp.retain(|k, _| k.eq_ignore_ascii_case("securidUsername"));
        if lp.is_empty() {
            doc.remove(LASTPASS);
        }
    }
    Ok(UserInput {
        user_name,
        external_id,
        active,
        fullname,
        duo_username,
        securid_username,
        attribs,
        document: Value::Object(doc),
    })
}

/// `attributes`/`excludedAttributes` values: comma-separated.
pub fn attr_list(raw: Option<&str>) -> Vec<String> {
    raw.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn input_is_read_leniently_and_checked_strictly() {
        let u = user_input(&json!({
            "schemas": [USER, ENTERPRISE],
            "UserName": " Ann@X.com ",
            "Active": "False",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "displayName": "Annie",
            "emails": [{"value": "ann@x.com", "primary": "True"}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": "9", "displayName": "Bo"}},
            LASTPASS: {"duoUsername": "ann", "status": "ignored"},
            "urn:okta:custom": {"x": 1}
        }))
        .unwrap();
        assert_eq!(u.user_name, "ann@x.com");
        assert_eq!(u.active, Some(false));
        assert_eq!(u.fullname.as_deref(), Some("Ann Lee"));
        assert_eq!(u.duo_username, Some(Some("ann".into())));
        assert_eq!(u.attribs["Department"], "R&D");
        assert_eq!(u.attribs["Manager"], "Bo");
        assert_eq!(u.document["emails"][0]["primary"], true);
        assert!(u.document.get("urn:okta:custom").is_none());
        assert!(u.document.get(LASTPASS).is_none());
        for (bad, attr) in [
            (json!({"userName": 3}), "userName"),
            (json!({}), "userName"),
            (json!({"userName": "not-an-email"}), "userName"),
            (json!({"userName": "a@x.com", "active": "maybe"}), "active"),
            (
                json!({"userName": "a@x.com", "emails": "a@x.com"}),
                "emails",
            ),
        ] {
            let e = user_input(&bad).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidValue"));
            assert!(e.detail.contains(attr), "{e:?}");
        }
    }

    #[test]
    fn projection() {
        let r = json!({"schemas": [USER], "id": "1", "userName": "a@x.com",
            "name": {"givenName": "A", "familyName": "B"}, "emails": [{"value": "a@x.com", "type": "work"}],
            ENTERPRISE: {"department": "D", "division": "V"}});
        let p = project(
            r.clone(),
            &[
                "userName".into(),
                "name.givenName".into(),
                format!("{ENTERPRISE}:department"),
            ],
            &[],
        );
        assert_eq!(
            p,
            json!({"schemas": [USER], "id": "1", "userName": "a@x.com", "name": {"givenName": "A"}, ENTERPRISE: {"department": "D"}})
        );
        let p = project(r, &[], &["emails.type".into(), "name".into(), "id".into()]);
        assert_eq!(p["emails"], json!([{"value": "a@x.com"}]));
        assert!(p.get("name").is_none() && p.get("id").is_some());
    }
}
