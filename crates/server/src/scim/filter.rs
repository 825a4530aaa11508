//! SCIM filters (RFC 7644 §3.4.2.2): parsed with `scim_v2`, checked, evaluated against a
//! resource's JSON, and compiled as far as possible into the store's [`UserFilter`] so the
//! common `userName eq "…"` is an index lookup.
//!
//! Attribute names are case-insensitive; string comparisons are case-insensitive except for
//! `id`, `externalId`, `value` and `$ref` (caseExact in RFC 7643). Multi-valued attributes
//! match when any value does; a complex multi-valued attribute without a sub-attribute is
//! compared by its `value`. Strings that both parse as RFC 3339 times compare as times.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use lpgate_store::{TextOp, UserFilter};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::error::ScimError;
use super::schemas::{ENTERPRISE, GROUP, LASTPASS, USER};

/// Parses a `filter` parameter: 400 `invalidFilter` naming the filter when it is wrong.
pub fn parse(raw: &str) -> Result<Filter, ScimError> {
    if let Some(f) = fast_user_name_eq(raw) {
        return Ok(f);
    }
    let f: Filter = raw
        .parse()
        .map_err(|e| ScimError::invalid_filter(format!("filter {raw:?} is not valid: {e}")))?;
    check(&f)?;
    Ok(f)
}

/// `userName eq "x"` (the request every identity provider makes before creating a user),
/// recognised without the general parser.
fn fast_user_name_eq(raw: &str) -> Option<Filter> {
    let rest = raw.trim();
    let (attr, rest) = rest.split_once(' ')?;
    if !attr.eq_ignore_ascii_case("userName") {
        return None;
    }
    let (op, value) = rest.trim_start().split_once(' ')?;
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let inner = value.trim().strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains(['"', '\\']) {
        return None;
    }
    Some(Filter::Attr(AttrExp::Comparison(
        AttrPath::with_name("userName"),
        CompareOp::Eq,
        CompValue::Str(inner.to_string()),
    )))
}

/// Refuses comparisons RFC 7644 does not define: booleans and null with anything but
/// `eq`/`ne`.
fn check(f: &Filter) -> Result<(), ScimError> {
    match f {
        Filter::Attr(e) => check_exp(e),
        Filter::ValuePath(vp) => check_val(&vp.filter),
        Filter::Not(inner) => check(inner),
        Filter::And(items) | Filter::Or(items) => items.as_slice().iter().try_for_each(check),
    }
}

fn check_val(f: &ValFilter) -> Result<(), ScimError> {
    match f {
        ValFilter::Attr(e) => check_exp(e),
        ValFilter::Not(inner) => check_val(inner),
        ValFilter::And(items) | ValFilter::Or(items) => {
            items.as_slice().iter().try_for_each(check_val)
        }
    }
}

fn check_exp(e: &AttrExp) -> Result<(), ScimError> {
    if let AttrExp::Comparison(path, op, v) = e
        && matches!(v, CompValue::True | CompValue::False | CompValue::Null)
        && !matches!(op, CompareOp::Eq | CompareOp::Ne)
    {
        return Err(ScimError::invalid_filter(format!(
            "{path} {op} {v}: a boolean or null can only be compared with eq or ne"
        )));
    }
    Ok(())
}

/// The schema a path names, if any: the core schemas are the resource itself.
fn is_core(uri: &str) -> bool {
    uri.eq_ignore_ascii_case(USER) || uri.eq_ignore_ascii_case(GROUP)
}

/// A key of an object, case-insensitively.
pub fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The object that holds `path`'s attribute: the resource, or an extension's object.
fn container<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match path.uri.as_deref() {
        None => Some(resource),
        Some(u) if is_core(u) => Some(resource),
        Some(u) => get_ci(resource, u),
    }
}

/// The values `path` designates in `resource`, flattened over multi-valued attributes.
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(holder) = container(resource, path) else {
        return Vec::new();
    };
    // A path whose uri is an extension and name is unknown may be an extension attribute
    // addressed without its URN; the core schema comes first.
    let top = get_ci(holder, &path.name).or_else(|| {
        if path.uri.is_none() {
            [ENTERPRISE, LASTPASS]
                .iter()
                .find_map(|u| get_ci(resource, u).and_then(|e| get_ci(e, &path.name)))
        } else {
            None
        }
    });
    let Some(top) = top else { return Vec::new() };
    let mut out = Vec::new();
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    for item in items {
        match (&path.sub_attr, item) {
            (Some(sub), v) => {
                if let Some(x) = get_ci(v, sub) {
                    out.push(x);
                }
            }
            (None, Value::Object(_)) => {
                if let Some(x) = get_ci(item, "value") {
                    out.push(x);
                } else {
                    out.push(item);
                }
            }
            (None, v) => out.push(v),
        }
    }
    out
}

fn case_exact(path: &AttrPath) -> bool {
    let last = path.sub_attr.as_deref().unwrap_or(&path.name);
    ["id", "externalId", "value", "$ref"]
        .iter()
        .any(|n| last.eq_ignore_ascii_case(n))
        || path.name.eq_ignore_ascii_case("members") && path.sub_attr.is_none()
}

fn time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Compares one value with a comparison's operand.
fn compare(v: &Value, op: &CompareOp, operand: &CompValue, exact: bool) -> bool {
    let norm = |s: &str| {
        if exact {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let ordering: Option<Ordering> = match (v, operand) {
        (Value::String(a), CompValue::Str(b)) => match (time(a), time(b)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => {
                let (a, b) = (norm(a), norm(b));
                match op {
                    CompareOp::Co => return a.contains(&b),
                    CompareOp::Sw => return a.starts_with(&b),
                    CompareOp::Ew => return a.ends_with(&b),
                    _ => Some(a.cmp(&b)),
                }
            }
        },
        (Value::Bool(a), CompValue::True) => Some(a.cmp(&true)),
        (Value::Bool(a), CompValue::False) => Some(a.cmp(&false)),
        (Value::Number(a), CompValue::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::Null, CompValue::Null) => Some(Ordering::Equal),
        _ => None,
    };
    match (op, ordering) {
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Ne, Some(o)) => o != Ordering::Equal,
        (CompareOp::Ne, None) => true,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        _ => false,
    }
}

fn matches_exp(resource: &Value, e: &AttrExp) -> bool {
    match e {
        AttrExp::Present(path) => values(resource, path).iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        }),
        AttrExp::Comparison(path, op, operand) => {
            let vals = values(resource, path);
            let exact = case_exact(path);
            match op {
                // `ne` holds when no value equals (including when there is none).
                CompareOp::Ne => !vals
                    .iter()
                    .any(|v| compare(v, &CompareOp::Eq, operand, exact)),
                // `eq null` holds when the attribute is absent.
                CompareOp::Eq if *operand == CompValue::Null => vals.iter().all(|v| v.is_null()),
                _ => vals.iter().any(|v| compare(v, op, operand, exact)),
            }
        }
    }
}

/// Whether a resource matches a filter.
pub fn matches(resource: &Value, f: &Filter) -> bool {
    match f {
        Filter::Attr(e) => matches_exp(resource, e),
        Filter::ValuePath(vp) => {
            let Some(holder) = container(resource, &vp.attr) else {
                return false;
            };
            match get_ci(holder, &vp.attr.name) {
                Some(Value::Array(items)) => items.iter().any(|i| matches_val(i, &vp.filter)),
                Some(v @ Value::Object(_)) => matches_val(v, &vp.filter),
                _ => false,
            }
        }
        Filter::Not(inner) => !matches(resource, inner),
        Filter::And(items) => items.as_slice().iter().all(|f| matches(resource, f)),
        Filter::Or(items) => items.as_slice().iter().any(|f| matches(resource, f)),
    }
}

/// Whether one value of a multi-valued attribute matches a value filter.
pub fn matches_val(item: &Value, f: &ValFilter) -> bool {
    match f {
        ValFilter::Attr(e) => matches_exp(item, e),
        ValFilter::Not(inner) => !matches_val(item, inner),
        ValFilter::And(items) => items.as_slice().iter().all(|f| matches_val(item, f)),
        ValFilter::Or(items) => items.as_slice().iter().any(|f| matches_val(item, f)),
    }
}

/// A user filter compiled for the store: `filter` selects a superset of the matches, and
/// exactly the matches when `exact` (then the store may sort and page by itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// What the store selects.
    pub filter: UserFilter,
    /// Whether that is exactly the SCIM filter.
    pub exact: bool,
}

fn loose() -> Compiled {
    Compiled {
        filter: UserFilter::All,
        exact: false,
    }
}

fn exact(filter: UserFilter) -> Compiled {
    Compiled {
        filter,
        exact: true,
    }
}

fn text_op(op: &CompareOp) -> TextOp {
    match op {
        CompareOp::Eq => TextOp::Eq,
        CompareOp::Ne => TextOp::Ne,
        CompareOp::Co => TextOp::Contains,
        CompareOp::Sw => TextOp::StartsWith,
        CompareOp::Ew => TextOp::EndsWith,
        CompareOp::Gt => TextOp::Gt,
        CompareOp::Ge => TextOp::Ge,
        CompareOp::Lt => TextOp::Lt,
        CompareOp::Le => TextOp::Le,
    }
}

fn plain(path: &AttrPath, name: &str) -> bool {
    path.sub_attr.is_none()
        && path
            .uri
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(USER))
        && path.name.eq_ignore_ascii_case(name)
}

/// Compiles a User filter for the store.
pub fn compile_users(f: &Filter) -> Compiled {
    match f {
        Filter::Attr(AttrExp::Present(p)) if plain(p, "userName") || plain(p, "id") => {
            exact(UserFilter::All)
        }
        Filter::Attr(AttrExp::Present(p)) if plain(p, "externalId") => {
            exact(UserFilter::HasExternalId)
        }
        Filter::Attr(AttrExp::Comparison(p, op, CompValue::Str(v))) if plain(p, "userName") => {
            // Emails are stored lowercase, and userName is compared case-insensitively.
            exact(UserFilter::Email(text_op(op), v.to_lowercase()))
        }
        Filter::Attr(AttrExp::Comparison(p, op, CompValue::Str(v))) if plain(p, "externalId") => {
            exact(UserFilter::ExternalId(text_op(op), v.clone()))
        }
        Filter::Attr(AttrExp::Comparison(
            p,
            op @ (CompareOp::Eq | CompareOp::Ne),
            CompValue::Str(v),
        )) if plain(p, "id") => {
            let one = match v.parse::<i64>() {
                Ok(n) if n.to_string() == *v => UserFilter::Id(n),
                _ => UserFilter::Or(Vec::new()),
            };
            exact(if *op == CompareOp::Eq {
                one
            } else {
                UserFilter::Not(Box::new(one))
            })
        }
        Filter::Attr(AttrExp::Comparison(
            p,
            op @ (CompareOp::Eq | CompareOp::Ne),
            b @ (CompValue::True | CompValue::False),
        )) if plain(p, "active") => {
            let want = (*b == CompValue::True) == (*op == CompareOp::Eq);
            exact(UserFilter::Active(want))
        }
        Filter::And(items) => {
            let parts: Vec<Compiled> = items.as_slice().iter().map(compile_users).collect();
            Compiled {
                exact: parts.iter().all(|p| p.exact),
                filter: UserFilter::And(
                    parts
                        .into_iter()
                        .map(|p| p.filter)
                        .filter(|f| *f != UserFilter::All)
                        .collect(),
                ),
            }
        }
        Filter::Or(items) => {
            let parts: Vec<Compiled> = items.as_slice().iter().map(compile_users).collect();
            if parts.iter().any(|p| p.filter == UserFilter::All) {
                Compiled {
                    exact: parts.iter().all(|p| p.exact),
                    filter: UserFilter::All,
                }
            } else {
                Compiled {
                    exact: parts.iter().all(|p| p.exact),
                    filter: UserFilter::Or(parts.into_iter().map(|p| p.filter).collect()),
                }
            }
        }
        Filter::Not(inner) => {
            let c = compile_users(inner);
            if c.exact {
                exact(UserFilter::Not(Box::new(c.filter)))
            } else {
                loose()
            }
        }
        _ => loose(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [USER, ENTERPRISE],
            "id": "42",
            "externalId": "Ext-1",
            "userName": "ann.lee@example.com",
            "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
            "displayName": "Ann Lee",
            "active": true,
            "title": "Engineer",
            "emails": [
                {"value": "ann.lee@example.com", "type": "work", "primary": true},
                {"value": "ann@home.example", "type": "home"}
            ],
            "groups": [{"value": "g1", "display": "Sales"}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": "7", "displayName": "Bo"}},
            "meta": {"created": "2026-01-02T03:04:05Z", "lastModified": "2026-02-01T00:00:00Z"}
        })
    }

    fn yes(f: &str) -> bool {
        matches(&user(), &parse(f).unwrap())
    }

    #[test]
    fn every_operator() {
        assert!(yes(r#"userName eq "ANN.LEE@example.com""#));
        assert!(!yes(r#"userName eq "bob@example.com""#));
        assert!(yes(r#"userName ne "bob@example.com""#));
        assert!(yes(r#"displayName co "nn l""#));
        assert!(yes(r#"userName sw "ann.""#));
        assert!(yes(r#"userName ew "@EXAMPLE.com""#));
        assert!(yes(r#"userName gt "a""#) && !yes(r#"userName gt "b""#));
        assert!(yes(r#"userName ge "ann.lee@example.com""#));
        assert!(yes(r#"userName lt "b""#) && yes(r#"userName le "ann.lee@example.com""#));
        assert!(yes("title pr") && !yes("nickName pr"));
        assert!(yes(r#"meta.created gt "2026-01-01T00:00:00Z""#));
        assert!(yes(r#"meta.lastModified lt "2026-02-01T00:00:01+00:00""#));
        assert!(yes("active eq true") && !yes("active eq false"));
    }

    #[test]
    fn logic_grouping_and_value_paths() {
        assert!(yes(
            r#"title eq "engineer" and (name.givenName sw "A" or userName eq "x")"#
        ));
        assert!(!yes(r#"not (title eq "engineer")"#));
        assert!(yes(r#"emails[type eq "work" and value co "lee"]"#));
        assert!(!yes(r#"emails[type eq "other"]"#));
        assert!(yes(r#"emails.value eq "ann@home.example""#));
        assert!(yes(r#"emails eq "ann@home.example""#));
        assert!(yes(r#"groups.display eq "sales""#));
        assert!(yes(&format!(r#"{ENTERPRISE}:department eq "r&d""#)));
        assert!(yes(&format!(r#"{ENTERPRISE}:manager.value eq "7""#)));
        assert!(yes(&format!(r#"{USER}:userName eq "ann.lee@example.com""#)));
        // caseExact: externalId and id.
        assert!(yes(r#"externalId eq "Ext-1""#) && !yes(r#"externalId eq "ext-1""#));
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for bad in [
            r#"userName eq "x"#,
            "userName xx 1",
            "active gt true",
            "(userName pr",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
            assert!(
                e.detail.contains("userName") || e.detail.contains("active"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn compiles_what_the_store_can_index() {
        let c = compile_users(&parse(r#"userName eq "Ann@X.com""#).unwrap());
        assert_eq!(c, exact(UserFilter::Email(TextOp::Eq, "ann@x.com".into())));
        let c = compile_users(&parse(r#"userName eq "a@x.com" and title eq "x""#).unwrap());
        assert!(!c.exact);
        assert_eq!(
            c.filter,
            UserFilter::And(vec![UserFilter::Email(TextOp::Eq, "a@x.com".into())])
        );
        let c = compile_users(&parse(r#"userName sw "a" or title eq "x""#).unwrap());
        assert_eq!(c, loose());
        let c = compile_users(&parse(r#"not (active eq false) and externalId pr"#).unwrap());
        assert!(c.exact);
        let c = compile_users(&parse(r#"not (title pr)"#).unwrap());
        assert_eq!(c, loose());
        let c = compile_users(&parse(r#"id eq "abc""#).unwrap());
        assert_eq!(c, exact(UserFilter::Or(vec![])));
    }

    #[test]
    fn fast_path_agrees_with_the_parser() {
        let raw = r#"userName eq "a.b@x.com""#;
        assert_eq!(fast_user_name_eq(raw), raw.parse::<Filter>().ok());
        assert_eq!(fast_user_name_eq(r#"userName eq "a\"b""#), None);
    }
}
