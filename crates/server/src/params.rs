//! Query-string parsing that names the parameter at fault: unknown parameters, repeated ones,
//! bad limits and cursors are 400s, never silently ignored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size.
pub const MAX_LIMIT: usize = 1000;

/// The parsed query string of one request.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `raw`, refusing parameters not in `allowed` and parameters given twice.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::invalid("query", format!("malformed query string: {e}")))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::invalid(
                    k,
                    format!(
                        "unknown parameter {k:?}; this endpoint takes: {}",
                        allowed.join(", ")
                    ),
                ));
            }
            if pairs[..i].iter().any(|(p, _)| p == k) {
                return Err(ApiError::invalid(
                    k,
                    format!("{k:?} is given more than once"),
                ));
            }
        }
        Ok(Params(pairs))
    }

    /// A parameter's value, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `limit`: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(ApiError::invalid(
                    "limit",
                    format!("invalid limit {v:?}: expected a whole number from 1 to {MAX_LIMIT}"),
                )),
            },
        }
    }

    /// A boolean parameter (`true` or `false`).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid(
                key,
                format!("invalid {key} {v:?}: expected true or false"),
            )),
        }
    }
}

const CURSOR_VERSION: &str = "u1";

/// Encodes the keyset position after `(account, email)` as an opaque cursor.
pub fn encode_cursor(account: &str, email: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}\n{account}\n{email}"))
}

/// Decodes a cursor made by [`encode_cursor`]; anything else is a 400 naming `cursor`.
pub fn decode_cursor(text: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::invalid(
            "cursor",
            "invalid cursor: pass the next_cursor of a previous page unchanged",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = s.splitn(3, '\n');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(CURSOR_VERSION), Some(a), Some(e)) if !a.is_empty() && !e.is_empty() => {
            Ok((a.to_string(), e.to_string()))
        }
        _ => Err(bad()),
    }
}

/// Encodes a position in one newest-first list (`list` names it, so a cursor of one list is
/// refused by another) as an opaque cursor.
pub fn encode_position(list: &str, parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(format!("{list}1\n{}", parts.join("\n")))
}

/// Decodes a cursor made by [`encode_position`] for `list` with `n` parts; anything else is
/// a 400 naming `cursor`.
pub fn decode_position(text: &str, list: &str, n: usize) -> Result<Vec<String>, ApiError> {
    let bad = || {
        ApiError::invalid(
            "cursor",
            "invalid cursor: pass the next_cursor of a previous page of this list unchanged",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = s.split('\n');
    if parts.next() != Some(format!("{list}1").as_str()) {
        return Err(bad());
    }
    let parts: Vec<String> = parts.map(str::to_string).collect();
    if parts.len() != n || parts.iter().any(String::is_empty) {
        return Err(bad());
    }
    Ok(parts)
}

/// The id of a cursor made by [`encode_position`] for `list` from one id.
pub fn decode_id_position(text: &str, list: &str) -> Result<i64, ApiError> {
    let parts = decode_position(text, list, 1)?;
    parts[0].parse().map_err(|_| {
        ApiError::invalid(
            "cursor",
            "invalid cursor: pass the next_cursor of a previous page of this list unchanged",
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = encode_cursor("acme", "a.b@x.io");
        assert_eq!(
            decode_cursor(&c).unwrap(),
            ("acme".into(), "a.b@x.io".into())
        );
        for bad in ["", "!!", "dTE", &URL_SAFE_NO_PAD.encode("u2\na\nb")] {
            assert_eq!(
                decode_cursor(bad).unwrap_err().field.as_deref(),
                Some("cursor")
            );
        }
    }

    #[test]
    fn positions_round_trip_and_belong_to_one_list() {
        let c = encode_position("changes", &["42"]);
        assert_eq!(decode_id_position(&c, "changes").unwrap(), 42);
        for (text, list) in [
            (c.as_str(), "audit"),
            (&encode_position("changes", &["x"]), "changes"),
            (&encode_position("changes", &["1", "2"]), "changes"),
            (&encode_cursor("acme", "a@b.c"), "changes"),
            ("!!", "changes"),
        ] {
            assert_eq!(
                decode_id_position(text, list).unwrap_err().field.as_deref(),
                Some("cursor")
            );
        }
        let e = encode_position("events", &["2026-01-01T00:00:00Z", "7"]);
        assert_eq!(
            decode_position(&e, "events", 2).unwrap(),
            ["2026-01-01T00:00:00Z", "7"]
        );
    }

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        let e = Params::parse(Some("limit=5&colour=red"), &["limit"]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("colour"));
        let e = Params::parse(Some("limit=5&limit=6"), &["limit"]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        for bad in ["limit=0", "limit=5000", "limit=x", "limit=-1"] {
            let p = Params::parse(Some(bad), &["limit"]).unwrap();
            assert_eq!(p.limit().unwrap_err().field.as_deref(), Some("limit"));
        }
    }
}
