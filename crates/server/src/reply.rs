//! The success envelope: `{"result": [...], "next_cursor": "…" | null}` for lists and
//! `{"result": {...}}` for one item.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// A list reply; `next_cursor` is `None` on the last page.
pub struct Page<T> {
    /// The items.
    pub result: Vec<T>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A complete list (no further page).
    pub fn all(result: Vec<T>) -> Self {
        Page {
            result,
            next_cursor: None,
        }
    }
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        Json(json!({"result": self.result, "next_cursor": self.next_cursor})).into_response()
    }
}

/// A single-item reply.
pub struct One<T>(pub T);

impl<T: Serialize> IntoResponse for One<T> {
    fn into_response(self) -> Response {
        Json(json!({ "result": self.0 })).into_response()
    }
}
