//! The API's error type and its JSON body `{"error": {"code", "message", "field"?}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lpgate_store::StoreError;
use serde_json::json;

/// An error answered to a client: an HTTP status, a stable machine code, a message for
/// people, and the request field at fault when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (`invalid_parameter`, `unauthorized`, …).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// The query parameter or body field at fault.
    pub field: Option<String>,
}

impl ApiError {
    /// A 400 naming the field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    /// A 404 that says nothing about whether the thing exists elsewhere (other accounts'
    /// items answer the same).
    pub fn not_found(what: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("no such {what}"),
            field: None,
        }
    }

    /// Any other status with a code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, .. } => ApiError::not_found(what),
            StoreError::Busy(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", m),
            other => {
                // The store's message may name files or SQL: log it, answer plainly.
                tracing::error!(error = %other, "store call failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the store failed; see the server log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        (self.status, axum::Json(json!({ "error": body }))).into_response()
    }
}

/// Unknown paths answer in the same envelope.
pub async fn not_found() -> ApiError {
    ApiError::not_found("endpoint")
}
