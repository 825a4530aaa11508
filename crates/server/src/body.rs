//! JSON request bodies: [`JsonBody`] reads a body and answers every way it can be wrong in the
//! API's envelope, before any handler runs — so a bad body never reaches LastPass or the
//! store.
//!
//! - wrong or missing `Content-Type` (not `application/json`): 400 `invalid_body`;
//! - malformed JSON or trailing data: 400 `invalid_body`;
//! - wrong type, missing field, unknown field (bodies are `deny_unknown_fields`): 400
//!   `invalid_body` with `field` naming it as a path (`actions[1].email`);
//! - larger than the configured limit (default [`crate::MAX_BODY_BYTES`]): 413
//!   `body_too_large`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body deserialized into `T`, or a 400/413 naming what is wrong.
pub struct JsonBody<T>(pub T);

/// A 400 `invalid_body`, naming the field when there is one.
pub fn invalid_body(field: Option<&str>, message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_body",
        message: message.into(),
        field: field.filter(|f| !f.is_empty()).map(str::to_string),
    }
}

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let limit = req
            .extensions()
            .get::<crate::BodyLimit>()
            .map_or(crate::MAX_BODY_BYTES, |l| l.0);
        let bytes = match Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the request body is larger than {limit} bytes"),
                ));
            }
            Err(rejection) => {
                return Err(invalid_body(
                    None,
                    format!("could not read the body: {}", rejection.body_text()),
                ));
            }
        };
        if !is_json(&content_type) {
            return Err(invalid_body(
                None,
                format!(
                    "expected Content-Type: application/json, got {:?}",
                    if content_type.is_empty() {
                        "nothing"
                    } else {
                        content_type.as_str()
                    }
                ),
            ));
        }
        parse(&bytes).map(JsonBody)
    }
}

/// Deserializes `bytes`, naming the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            return Err(if inner.is_syntax() || inner.is_eof() {
                invalid_body(None, format!("malformed JSON: {inner}"))
            } else {
                let message = inner.to_string();
                invalid_body(Some(&field_of(&path, &message)), message)
            });
        }
    };
    de.end()
        .map_err(|e| invalid_body(None, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// The field a serde error is about: the path where it happened, plus the field a
/// `missing field` / `unknown field` message names (serde reports those at the parent).
fn field_of(path: &str, message: &str) -> String {
    let base = if path == "." { "" } else { path };
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match named {
        Some(name) if !base.ends_with(name) => {
            if base.is_empty() {
                name.to_string()
            } else {
                format!("{base}.{name}")
            }
        }
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        n: Option<u32>,
        items: Vec<Inner>,
    }

    fn field(body: &str) -> Option<String> {
        parse::<Outer>(body.as_bytes()).unwrap_err().field
    }

    #[test]
    fn fields_are_named() {
        assert_eq!(field(r#"{"items": []}"#).as_deref(), Some("name"));
        assert_eq!(
            field(r#"{"name": "a", "items": [], "colour": 1}"#).as_deref(),
            Some("colour")
        );
        assert_eq!(
            field(r#"{"name": "a", "n": "x", "items": []}"#).as_deref(),
            Some("n")
        );
        assert_eq!(
            field(r#"{"name": "a", "items": [{"email": "a"}, {"email": 3}]}"#).as_deref(),
            Some("items[1].email")
        );
        assert_eq!(
            field(r#"{"name": "a", "items": [{}]}"#).as_deref(),
            Some("items[0].email")
        );
        assert_eq!(
            field(r#"{"name": "a", "items": [{"email": "a", "x": 1}]}"#).as_deref(),
            Some("items[0].x")
        );
        assert_eq!(field(r#"{"name": "a""#), None);
        assert_eq!(field(r#"{"name": "a", "items": []} x"#), None);
        assert!(is_json("application/json; charset=utf-8"));
        assert!(!is_json("text/plain"));
    }
}
