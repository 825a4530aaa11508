//! The SCIM parsers as the fuzz targets and their corpus tests call them (see `fuzz/`):
//! each takes arbitrary input and must return, never panic or hang.

use axum::body::Bytes;
use serde_json::{Value, json};

use super::filter;
use super::patch;
use super::resource;
use super::users::ListParams;

/// A user resource as the SCIM server serves one, for filters and patches to work on.
fn sample_user() -> Value {
    json!({
        "schemas": [super::schemas::USER, super::schemas::ENTERPRISE],
        "id": "42",
        "externalId": "ext-42",
        "userName": "ada@example.com",
        "name": {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "active": true,
        "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        "groups": [{"value": "7", "display": "Engineering"}],
        super::schemas::ENTERPRISE: {"department": "R&D", "employeeNumber": "1"},
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-06-01T12:00:00Z", "version": "W/\"1\""}
    })
}

/// A `filter=` parameter: parsed, checked, compiled for the store, evaluated and printed.
pub fn filter_text(text: &str) {
    if let Ok(f) = filter::parse(text) {
        let _ = filter::compile_users(&f);
        let _ = filter::matches(&sample_user(), &f);
        let _ = f.to_string();
    }
    let _ = ListParams::from_query(Some(text));
}

/// A PATCH body: its operations read, then applied to a user.
pub fn patch_body(bytes: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let _ = patch::operations(&body);
    let mut user = sample_user();
    if patch::apply(&mut user, &body, &["id", "meta"]).is_ok() {
        let _ = resource::user_input(&user);
    }
}

/// A POST/PUT body (user or group) and a `/.search` body.
pub fn resource_body(bytes: &[u8]) {
    let body = Bytes::copy_from_slice(bytes);
    let _ = ListParams::from_body(&body);
    if let Ok(doc) = super::users::json_body(&body) {
        let _ = resource::user_input(&doc);
        let _ = super::groups::group_input(&doc);
        let _ = resource::project(doc, &["userName".into()], &["emails".into()]);
    }
}
