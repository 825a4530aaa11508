//! The success envelope: `{"result": [...], "next_cursor": "…" | null}` for lists and
//! `{"result": {...}}` for one item.

use axum::Json;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

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

    /// A page of a list read with one row more than `limit`: that extra row only says
    /// another page exists, and `cursor` makes its cursor from the page's last row.
    pub fn of(mut rows: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Self {
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(cursor)
        } else {
            None
        };
        Page {
            result: rows,
            next_cursor,
        }
    }
}

/// The list envelope on the wire, serialized straight from the rows (going through
/// `serde_json::Value` first cost more than the rows' own serialization).
#[derive(Serialize)]
struct PageBody<'a, T> {
    result: &'a [T],
    next_cursor: Option<&'a str>,
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        Json(PageBody {
            result: &self.result,
            next_cursor: self.next_cursor.as_deref(),
        })
        .into_response()
    }
}

/// The single-item envelope on the wire.
#[derive(Serialize)]
struct OneBody<'a, T> {
    result: &'a T,
}

/// A single-item reply.
pub struct One<T>(pub T);

impl<T: Serialize> IntoResponse for One<T> {
    fn into_response(self) -> Response {
        Json(OneBody { result: &self.0 }).into_response()
    }
}

/// A list reply whose items are JSON already (see `usercache.rs`): the same bytes as a
/// [`Page`] of the items they were serialized from.
pub struct JsonPage {
    /// Each item's JSON.
    pub result: Vec<Bytes>,
    /// Where the next page starts.
    pub next_cursor: Option<String>,
}

impl IntoResponse for JsonPage {
    fn into_response(self) -> Response {
        let items: usize = self.result.iter().map(|b| b.len() + 1).sum();
        let mut body = Vec::with_capacity(items + 64);
        body.extend_from_slice(b"{\"result\":[");
        for (i, item) in self.result.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(item);
        }
        body.extend_from_slice(b"],\"next_cursor\":");
        match &self.next_cursor {
            // A string always serializes.
            Some(c) => body.extend_from_slice(
                serde_json::to_string(c)
                    .unwrap_or_else(|_| "null".into())
                    .as_bytes(),
            ),
            None => body.extend_from_slice(b"null"),
        }
        body.push(b'}');
        ([(CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// A single-item reply whose item is JSON already: the same bytes as a [`One`].
pub struct JsonOne(pub Bytes);

impl IntoResponse for JsonOne {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.0.len() + 12);
        body.extend_from_slice(b"{\"result\":");
        body.extend_from_slice(&self.0);
        body.push(b'}');
        ([(CONTENT_TYPE, "application/json")], body).into_response()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    async fn body(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    /// The pre-serialized replies are byte for byte what the typed ones give.
    #[tokio::test]
    async fn json_replies_match_the_typed_ones() {
        let items = vec![
            json!({"id": 1, "name": "a\"b"}),
            json!({"id": 2, "name": "ü"}),
        ];
        let bytes: Vec<Bytes> = items
            .iter()
            .map(|i| Bytes::from(serde_json::to_vec(i).unwrap()))
            .collect();
        for cursor in [None, Some("dTEK\"x".to_string())] {
            let typed = Page {
                result: items.clone(),
                next_cursor: cursor.clone(),
            };
            let raw = JsonPage {
                result: bytes.clone(),
                next_cursor: cursor,
            };
            assert_eq!(
                body(typed.into_response()).await,
                body(raw.into_response()).await
            );
        }
        let empty = JsonPage {
            result: vec![],
            next_cursor: None,
        };
        assert_eq!(
            body(empty.into_response()).await,
            br#"{"result":[],"next_cursor":null}"#
        );
        assert_eq!(
            body(One(items[0].clone()).into_response()).await,
            body(JsonOne(bytes[0].clone()).into_response()).await
        );
    }
}
