//! PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: `add`, `remove` and `replace`, with
//! and without `path`, paths with schema URNs, sub-attributes and value filters
//! (`emails[type eq "work"].value`, `members[value eq "…"]`). Operation names are taken in
//! any case (Entra sends `"Replace"`). The caller turns the patched resource into LastPass
//! actions exactly as for a PUT.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{get_ci, matches_val};
use super::schemas::{ENTERPRISE, GROUP, LASTPASS, USER};

/// An operation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// One operation as sent: `op`, `path`, `value`.
type RawOp = (String, Option<String>, Option<Value>);

/// The operations of a PATCH body, checked: 400 naming what is wrong.
pub fn operations(body: &Value) -> Result<Vec<RawOp>, ScimError> {
    let ops = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an \"Operations\" array"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_value("\"Operations\" is empty"));
    }
    ops.iter()
        .enumerate()
        .map(|(i, o)| {
            let op = get_ci(o, "op").and_then(Value::as_str).ok_or_else(|| {
                ScimError::invalid_syntax(format!("Operations[{i}] has no \"op\""))
            })?;
            let path = match get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.trim().to_string()),
                Some(other) => {
                    return Err(ScimError::invalid_path(format!(
                        "Operations[{i}].path must be a string, not {other}"
                    )));
                }
            };
            Ok((op.to_string(), path, get_ci(o, "value").cloned()))
        })
        .collect()
}

/// Applies the operations to `resource`. `read_only` names attributes that may not be
/// targeted (400 `mutability`).
pub fn apply(resource: &mut Value, body: &Value, read_only: &[&str]) -> Result<(), ScimError> {
    for (i, (op, path, value)) in operations(body)?.into_iter().enumerate() {
        let kind = match op.to_ascii_lowercase().as_str() {
            "add" => Op::Add,
            "remove" => Op::Remove,
            "replace" => Op::Replace,
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "Operations[{i}].op {op:?} is not add, remove or replace"
                )));
            }
        };
        match path {
            None => {
                if kind == Op::Remove {
                    return Err(ScimError::no_target(format!(
                        "Operations[{i}]: remove needs a \"path\""
                    )));
                }
                let Some(Value::Object(fields)) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "Operations[{i}]: without a path the value must be an object of attributes"
                    )));
                };
                for (k, v) in fields {
                    if let Some(uri) = [ENTERPRISE, LASTPASS, USER, GROUP]
                        .iter()
                        .find(|u| u.eq_ignore_ascii_case(&k))
                    {
                        if let Value::Object(inner) = v {
                            for (sk, sv) in inner {
                                let p = parse_path(&format!("{uri}:{sk}"))?;
                                one(resource, kind, &p, Some(sv), read_only)?;
                            }
                        }
                        continue;
                    }
                    let p = parse_path(&k)?;
                    one(resource, kind, &p, Some(v), read_only)?;
                }
            }
            Some(p) => {
                let parsed = parse_path(&p)?;
                if kind != Op::Remove && value.is_none() {
                    return Err(ScimError::invalid_value(format!(
                        "Operations[{i}]: {op} of {p} needs a \"value\""
                    )));
                }
                one(resource, kind, &parsed, value, read_only)?;
            }
        }
    }
    Ok(())
}

fn parse_path(p: &str) -> Result<PatchPath, ScimError> {
    p.parse::<PatchPath>()
        .map_err(|e| ScimError::invalid_path(format!("path {p:?} is not valid: {e}")))
}

/// The real key of `name` in `map`, case-insensitively.
fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The object holding `attr`: the resource, or its extension object (created when `create`).
fn holder<'a>(
    resource: &'a mut Value,
    attr: &AttrPath,
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, ScimError> {
    let Value::Object(root) = resource else {
        return Err(ScimError::invalid_value("the resource is not an object"));
    };
    let uri = match attr.uri.as_deref() {
        None => return Ok(Some(root)),
        Some(u) if u.eq_ignore_ascii_case(USER) || u.eq_ignore_ascii_case(GROUP) => {
            return Ok(Some(root));
        }
        Some(u) => u,
    };
    let known = [ENTERPRISE, LASTPASS]
        .iter()
        .find(|k| k.eq_ignore_ascii_case(uri))
        .ok_or_else(|| ScimError::invalid_path(format!("unknown schema {uri:?} in path {attr}")))?;
    let key = key_ci(root, known).unwrap_or_else(|| known.to_string());
    if !root.contains_key(&key) {
        if !create {
            return Ok(None);
        }
        root.insert(key.clone(), Value::Object(Map::new()));
    }
    match root.get_mut(&key) {
        Some(Value::Object(m)) => Ok(Some(m)),
        _ => Err(ScimError::invalid_value(format!("{uri} is not an object"))),
    }
}

fn check_writable(attr: &AttrPath, read_only: &[&str]) -> Result<(), ScimError> {
    let full = match &attr.sub_attr {
        Some(s) => format!("{}.{s}", attr.name),
        None => attr.name.clone(),
    };
    if read_only
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&attr.name) || r.eq_ignore_ascii_case(&full))
    {
        return Err(ScimError::mutability(format!(
            "{attr} is read-only and cannot be changed"
        )));
    }
    Ok(())
}

fn one(
    resource: &mut Value,
    kind: Op,
    path: &PatchPath,
    value: Option<Value>,
    read_only: &[&str],
) -> Result<(), ScimError> {
    match path {
        PatchPath::Attr(attr) => {
            check_writable(attr, read_only)?;
            attr_op(resource, kind, attr, value)
        }
        PatchPath::Value(vp) => {
            check_writable(&vp.attr, read_only)?;
            value_path_op(
                resource,
                kind,
                &vp.attr,
                &vp.filter,
                vp.sub_attr.as_deref(),
                value,
            )
        }
    }
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        v => vec![v],
    }
}

/// Whether an existing element is the one a removal value names (by `value` when both have
/// one, else by equality).
fn same_element(existing: &Value, named: &Value) -> bool {
    match (get_ci(existing, "value"), get_ci(named, "value")) {
        (Some(a), Some(b)) => a == b,
        _ => existing == named,
    }
}

fn attr_op(
    resource: &mut Value,
    kind: Op,
    attr: &AttrPath,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(map) = holder(resource, attr, kind != Op::Remove)? else {
        return Ok(());
    };
    let key = key_ci(map, &attr.name).unwrap_or_else(|| attr.name.clone());
    match (&attr.sub_attr, kind) {
        (None, Op::Remove) => {
            match (map.get_mut(&key), value) {
                (Some(Value::Array(items)), Some(v)) => {
                    let named = as_list(v);
                    items.retain(|e| !named.iter().any(|n| same_element(e, n)));
                }
                _ => {
                    map.remove(&key);
                }
            }
            Ok(())
        }
        (None, Op::Add) => {
            let v = value.unwrap_or(Value::Null);
            match map.get_mut(&key) {
                Some(Value::Array(items)) => {
                    for x in as_list(v) {
                        if !items.iter().any(|e| same_element(e, &x)) {
                            items.push(x);
                        }
                    }
                }
                Some(Value::Object(existing)) => {
                    if let Value::Object(new) = v {
                        existing.extend(new);
                    } else {
                        map.insert(key, v);
                    }
                }
                _ => {
                    map.insert(key, v);
                }
            }
            Ok(())
        }
        (None, Op::Replace) => {
            let v = value.unwrap_or(Value::Null);
            match (map.get_mut(&key), v) {
                (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                (_, v) => {
                    map.insert(key, v);
                }
            }
            Ok(())
        }
        (Some(sub), kind) => {
            let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let targets: Vec<&mut Map<String, Value>> = match entry {
                Value::Object(o) => vec![o],
                Value::Array(items) => {
                    if items.is_empty() && kind != Op::Remove {
                        items.push(Value::Object(Map::new()));
                    }
                    items.iter_mut().filter_map(Value::as_object_mut).collect()
                }
                Value::Null => {
                    *entry = Value::Object(Map::new());
                    entry.as_object_mut().into_iter().collect()
                }
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "{attr}: {} has no sub-attributes",
                        attr.name
                    )));
                }
            };
            for t in targets {
                let k = key_ci(t, sub).unwrap_or_else(|| sub.clone());
                if kind == Op::Remove {
                    t.remove(&k);
                } else {
                    t.insert(k, value.clone().unwrap_or(Value::Null));
                }
            }
            Ok(())
        }
    }
}

/// The element a value filter describes when it is only `eq` comparisons joined by `and`
/// (`emails[type eq "work"]` → `{"type": "work"}`), so add/replace can create it.
fn element_of(f: &ValFilter) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    let mut add = |e: &AttrExp| -> Option<()> {
        let AttrExp::Comparison(p, CompareOp::Eq, v) = e else {
            return None;
        };
        let v = match v {
            CompValue::Str(s) => Value::String(s.clone()),
            CompValue::True => Value::Bool(true),
            CompValue::False => Value::Bool(false),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        m.insert(p.name.clone(), v);
        Some(())
    };
    match f {
        ValFilter::Attr(e) => add(e)?,
        ValFilter::And(items) => {
            for i in items.as_slice() {
                let ValFilter::Attr(e) = i else { return None };
                add(e)?;
            }
        }
        _ => return None,
    }
    Some(m)
}

fn value_path_op(
    resource: &mut Value,
    kind: Op,
    attr: &AttrPath,
    filter: &ValFilter,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(map) = holder(resource, attr, kind != Op::Remove)? else {
        return Ok(());
    };
    let key = key_ci(map, &attr.name).unwrap_or_else(|| attr.name.clone());
    let lenient = attr.name.eq_ignore_ascii_case("members");
    let entry = map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if entry.is_null() {
        *entry = Value::Array(Vec::new());
    }
    let Value::Array(items) = entry else {
        return Err(ScimError::invalid_path(format!(
            "{attr} is not multi-valued: a value filter cannot select from it"
        )));
    };
    let hits: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, v)| matches_val(v, filter))
        .map(|(i, _)| i)
        .collect();
    let describe = || format!("{attr}[{filter}]");
    match kind {
        Op::Remove => {
            if hits.is_empty() {
                // Removing a member that is not there is done already (identity providers
                // retry); anything else names a value that does not exist.
                return if lenient {
                    Ok(())
                } else {
                    Err(ScimError::no_target(format!(
                        "no value matches {}",
                        describe()
                    )))
                };
            }
            match sub {
                None => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !hits.contains(&i);
                        i += 1;
                        keep
                    });
                }
                Some(s) => {
                    for &i in &hits {
                        if let Some(Value::Object(o)) = items.get_mut(i)
                            && let Some(k) = key_ci(o, s)
                        {
                            o.remove(&k);
                        }
                    }
                }
            }
            Ok(())
        }
        Op::Add | Op::Replace => {
            let v = value.unwrap_or(Value::Null);
            if hits.is_empty() {
                let Some(mut element) = element_of(filter) else {
                    return Err(ScimError::no_target(format!(
                        "no value matches {}",
                        describe()
                    )));
                };
                match (sub, v) {
                    (Some(s), v) => {
                        element.insert(s.to_string(), v);
                    }
                    (None, Value::Object(o)) => element.extend(o),
                    (None, other) => {
                        element.insert("value".into(), other);
                    }
                }
                items.push(Value::Object(element));
                return Ok(());
            }
            for &i in &hits {
                let Some(Value::Object(o)) = items.get_mut(i) else {
                    continue;
                };
                match (sub, &v) {
                    (Some(s), v) => {
                        let k = key_ci(o, s).unwrap_or_else(|| s.to_string());
                        o.insert(k, v.clone());
                    }
                    (None, Value::Object(new)) => {
                        if kind == Op::Replace {
                            o.clear();
                        }
                        o.extend(new.clone());
                    }
                    (None, other) => {
                        o.insert("value".into(), other.clone());
                    }
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn patched(ops: Value) -> Result<Value, ScimError> {
        let mut r = json!({
            "userName": "ann@x.com",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "active": true,
            "emails": [{"value": "ann@x.com", "type": "work", "primary": true}],
            "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]
        });
        apply(
            &mut r,
            &json!({ "Operations": ops }),
            &["id", "meta", "groups"],
        )?;
        Ok(r)
    }

    #[test]
    fn add_remove_replace_with_and_without_path() {
        let r = patched(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
        assert_eq!(r["active"], "False");
        let r = patched(
            json!([{"op": "replace", "value": {"name.givenName": "Anne", "title": "CTO"}}]),
        )
        .unwrap();
        assert_eq!(r["name"]["givenName"], "Anne");
        assert_eq!(r["name"]["familyName"], "Lee");
        assert_eq!(r["title"], "CTO");
        let r = patched(
            json!([{"op": "add", "path": "members", "value": [{"value": "4"}, {"value": "1"}]}]),
        )
        .unwrap();
        assert_eq!(r["members"].as_array().unwrap().len(), 4);
        let r = patched(json!([{"op": "remove", "path": "members[value eq \"2\"]"}])).unwrap();
        assert_eq!(r["members"], json!([{"value": "1"}, {"value": "3"}]));
        let r = patched(json!([{"op": "Remove", "path": "members", "value": [{"value": "3"}]}]))
            .unwrap();
        assert_eq!(r["members"], json!([{"value": "1"}, {"value": "2"}]));
        let r = patched(json!([{"op": "remove", "path": "members"}])).unwrap();
        assert!(r.get("members").is_none());
        let r = patched(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.com"}])).unwrap();
        assert_eq!(r["emails"][0]["value"], "b@x.com");
        let r = patched(json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}])).unwrap();
        assert_eq!(
            r["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555"}])
        );
        let path = format!("{ENTERPRISE}:department");
        let r = patched(json!([{"op": "add", "path": path, "value": "R&D"}])).unwrap();
        assert_eq!(r[ENTERPRISE]["department"], "R&D");
        let r = patched(json!([{"op": "add", "value": {ENTERPRISE: {"employeeNumber": "7"}}}]))
            .unwrap();
        assert_eq!(r[ENTERPRISE]["employeeNumber"], "7");
        // Removing a member that is not there is fine.
        patched(json!([{"op": "remove", "path": "members[value eq \"9\"]"}])).unwrap();
    }

    #[test]
    fn errors_have_scim_types() {
        let t = |ops: Value| patched(ops).unwrap_err().scim_type;
        assert_eq!(t(json!([{"op": "remove"}])), Some("noTarget"));
        assert_eq!(
            t(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
            Some("noTarget")
        );
        assert_eq!(
            t(json!([{"op": "replace", "path": "emails[", "value": 1}])),
            Some("invalidPath")
        );
        assert_eq!(
            t(json!([{"op": "replace", "path": "id", "value": "1"}])),
            Some("mutability")
        );
        assert_eq!(
            t(json!([{"op": "jump", "path": "title", "value": "x"}])),
            Some("invalidValue")
        );
        assert_eq!(
            t(json!([{"op": "add", "path": "urn:x:y:Z:title", "value": "x"}])),
            Some("invalidPath")
        );
        let e = apply(&mut json!({}), &json!({"ops": []}), &[]).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidSyntax"));
    }
}
