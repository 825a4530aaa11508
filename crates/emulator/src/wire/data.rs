//! Lenient reading of a command's `data`: the real service and its clients use numbers and
//! numeric strings, `1`/`"1"`/`true` flags, objects or arrays interchangeably.

use serde_json::Value;

/// A command's `data`, which may be absent, a string (`"all"`), an object or an array.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Data<'a>(Option<&'a Value>);

impl<'a> Data<'a> {
    /// Wraps the request's `data`.
    pub(crate) fn new(v: Option<&'a Value>) -> Self {
        Self(v)
    }

    /// A key of an object `data`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.0?.as_object()?.get(key).filter(|v| !v.is_null())
    }

    /// A string value.
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key)?.as_str()
    }

    /// A flag (`1`, `"1"`, `true` mean on).
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(value_flag).unwrap_or(false)
    }

    /// The elements of an array `data`; an object counts as a one-element array.
    pub(crate) fn items(&self) -> Vec<&'a Value> {
        match self.0 {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => Vec::new(),
        }
    }

    /// The raw value.
    pub(crate) fn raw(&self) -> Option<&'a Value> {
        self.0
    }
}

/// A flag as clients send it: `true`/`1`/`"1"`/`"true"` → on, `false`/`0`/`"0"`/`"false"`/`""`
/// → off, anything else → `None`.
pub(crate) fn value_flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "yes" => Some(true),
            "0" | "false" | "off" | "no" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A non-negative integer from a number or a numeric string.
pub(crate) fn value_uint(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_in_all_spellings() {
        for on in [json!(1), json!("1"), json!(true), json!("true")] {
            assert_eq!(value_flag(&on), Some(true));
        }
        for off in [json!(0), json!("0"), json!(false), json!("")] {
            assert_eq!(value_flag(&off), Some(false));
        }
        assert_eq!(value_flag(&json!("maybe")), None);
    }

    #[test]
    fn uints() {
        assert_eq!(value_uint(&json!(5)), Some(5));
        assert_eq!(value_uint(&json!("5")), Some(5));
        assert_eq!(value_uint(&json!(-5)), None);
        assert_eq!(value_uint(&json!("x")), None);
    }

    #[test]
    fn data_shapes() {
        let obj = json!({"username":"a@b.c","admin":"1","n":null});
        let d = Data::new(Some(&obj));
        assert_eq!(d.str("username"), Some("a@b.c"));
        assert!(d.flag("admin"));
        assert!(d.get("n").is_none());
        assert_eq!(d.items().len(), 1);
        let all = json!("all");
        assert!(Data::new(Some(&all)).get("username").is_none());
        assert!(Data::new(None).items().is_empty());
    }
}
