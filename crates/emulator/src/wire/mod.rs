//! The Enterprise API wire format: reading a request body (JSON or form-encoded) into an
//! envelope, reading `data` leniently, and the fixed replies (XML errors, status bodies).

mod data;
pub(crate) mod json;

pub(crate) use data::{Data, value_flag, value_uint};

use serde_json::{Map, Value};

/// `Content-Type` of every Enterprise API reply, JSON included, as the real service sends it.
pub(crate) const CONTENT_TYPE: &str = "text/xml;charset=UTF-8";

/// The reply to a bad cid or provhash (fixtures/auth-error.xml, byte for byte).
pub(crate) const AUTH_ERROR_XML: &[u8] =
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lastpass rc=\"Authorization Error\"/>\n";

/// The reply to a body that is neither JSON nor a form (inferred: same XML family as the auth
/// error).
pub(crate) const INVALID_REQUEST_XML: &[u8] =
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lastpass rc=\"Invalid Request\"/>\n";

/// The parts of a request the emulator reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Envelope {
    /// `cid`, from a number or a numeric string.
    pub(crate) cid: Option<u64>,
    pub(crate) provhash: Option<String>,
    pub(crate) cmd: Option<String>,
    /// `data`; absent and `null` both become `None`.
    pub(crate) data: Option<Value>,
    /// Every top-level key (unknown ones such as `apiuser` or `user` are kept but ignored,
    /// except where a command reads a paging key from the top level).
    pub(crate) top: Map<String, Value>,
}

impl Envelope {
    /// `data` as a lenient reader.
    pub(crate) fn data(&self) -> Data<'_> {
        Data::new(self.data.as_ref())
    }
}

/// Reads a request body. JSON when the body starts with `{`, otherwise
/// `application/x-www-form-urlencoded`; the Content-Type header is not consulted. `None` when
/// the body is neither (or is a form without any envelope key).
pub(crate) fn parse_envelope(body: &[u8]) -> Option<Envelope> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let top = if body.get(start) == Some(&b'{') {
        match serde_json::from_slice::<Value>(body).ok()? {
            Value::Object(m) => m,
            _ => return None,
        }
    } else {
        parse_form(body)?
    };
    let cid = top.get("cid").and_then(value_uint);
    let provhash = top
        .get("provhash")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let cmd = top.get("cmd").and_then(Value::as_str).map(str::to_owned);
    let data = top.get("data").filter(|v| !v.is_null()).cloned();
    Some(Envelope {
        cid,
        provhash,
        cmd,
        data,
        top,
    })
}

/// A form body as a JSON object: `data` is parsed as JSON when it is JSON (else kept as a
/// string such as `all`); PHP-style `data[key]=v` and `data[]=v` build an object or array.
fn parse_form(body: &[u8]) -> Option<Map<String, Value>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let mut top = Map::new();
    let mut data_obj = Map::new();
    let mut data_arr = Vec::new();
    for (k, v) in pairs {
        if k == "data" {
            let parsed = serde_json::from_str::<Value>(&v).unwrap_or(Value::String(v));
            top.insert(k, parsed);
        } else if k == "data[]" {
            data_arr.push(Value::String(v));
        } else if let Some(inner) = k.strip_prefix("data[").and_then(|r| r.strip_suffix(']')) {
            data_obj.insert(inner.to_owned(), Value::String(v));
        } else {
            top.insert(k, Value::String(v));
        }
    }
    if !data_obj.is_empty() {
        top.insert("data".into(), Value::Object(data_obj));
    } else if !data_arr.is_empty() {
        top.insert("data".into(), Value::Array(data_arr));
    }
    ["cmd", "cid", "provhash"]
        .iter()
        .any(|k| top.contains_key(*k))
        .then_some(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_with_string_cid_and_extra_keys() {
        let e = parse_envelope(
            br#" {"cid":"8771312","provhash":"h","cmd":"getuserdata","apiuser":"x","data":"all"}"#,
        )
        .unwrap();
        assert_eq!(e.cid, Some(8_771_312));
        assert_eq!(e.provhash.as_deref(), Some("h"));
        assert_eq!(e.cmd.as_deref(), Some("getuserdata"));
        assert_eq!(e.data, Some(Value::String("all".into())));
    }

    #[test]
    fn json_null_data_is_none() {
        let e = parse_envelope(br#"{"cid":1,"provhash":"h","cmd":"x","data":null}"#).unwrap();
        assert_eq!(e.cid, Some(1));
        assert!(e.data.is_none());
    }

    #[test]
    fn form_with_json_data() {
        let e = parse_envelope(
            b"cid=12&provhash=abc&cmd=getuserdata&data=%7B%22username%22%3A%22a%40b.c%22%7D",
        )
        .unwrap();
        assert_eq!(e.cid, Some(12));
        assert_eq!(e.data().str("username"), Some("a@b.c"));
    }

    #[test]
    fn form_php_style_data() {
        let e = parse_envelope(b"cid=12&provhash=abc&cmd=x&data%5Busername%5D=a%40b.c").unwrap();
        assert_eq!(e.data().str("username"), Some("a@b.c"));
        let e = parse_envelope(b"cid=12&provhash=abc&cmd=x&data[]=a&data[]=b").unwrap();
        assert_eq!(e.data().items().len(), 2);
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(parse_envelope(b"").is_none());
        assert!(parse_envelope(b"{not json").is_none());
        assert!(parse_envelope(b"[1,2]").is_none());
        assert!(parse_envelope(b"hello world").is_none());
        assert!(parse_envelope(br#"{"cid":1"#).is_none());
    }
}
