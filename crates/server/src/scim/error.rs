//! SCIM errors (RFC 7644 §3.12): the body `{"schemas": [Error], "status": "400",
//! "scimType": "invalidValue", "detail": "…"}`, served as `application/scim+json`, with
//! `Retry-After` when the request may succeed later (a change awaiting approval, a busy
//! account).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;

/// The SCIM error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// An error answered to an identity provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ScimError {
    /// HTTP status.
    pub status: StatusCode,
    /// RFC 7644 `scimType` (`invalidFilter`, `uniqueness`, `mutability`…), when one applies.
    pub scim_type: Option<&'static str>,
    /// What went wrong, for people.
    pub detail: String,
    /// Seconds after which a retry may succeed.
    pub retry_after: Option<u64>,
}

impl ScimError {
    /// Any status with a detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type: None,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// A 400 with a `scimType`.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError {
            scim_type: Some(scim_type),
            ..ScimError::new(StatusCode::BAD_REQUEST, detail)
        }
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad("invalidValue", detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad("invalidFilter", detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad("invalidPath", detail)
    }

    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad("mutability", detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad("noTarget", detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad("invalidSyntax", detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError {
            scim_type: Some("uniqueness"),
            ..ScimError::new(StatusCode::CONFLICT, detail)
        }
    }

    /// 404 for a resource that does not exist (or belongs to another account).
    pub fn not_found(what: &str, id: &str) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, format!("{what} {id:?} not found"))
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(detail: impl Into<String>, retry_after: u64) -> Self {
        ScimError {
            retry_after: Some(retry_after),
            ..ScimError::new(StatusCode::SERVICE_UNAVAILABLE, detail)
        }
    }
}

impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        let mut s = ScimError::new(e.status, e.message);
        if e.status == StatusCode::SERVICE_UNAVAILABLE {
            s.retry_after = Some(5);
        }
        s
    }
}

impl From<lpgate_store::StoreError> for ScimError {
    fn from(e: lpgate_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut r = (self.status, super::resource::scim_json(&body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}
