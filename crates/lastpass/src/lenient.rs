//! Deserializers for the loosely typed values LastPass sends.
//!
//! The same field arrives as a number, a numeric string, a boolean, `""` or `null` depending on
//! the command, the user and the age of the account (spec §7, "Numbers as strings"). These
//! visitors accept every variant seen and turn it into one Rust type, without the buffering an
//! `#[serde(untagged)]` enum would cost on a 100,000-user listing.

use std::fmt;
use std::marker::PhantomData;

use chrono::NaiveDateTime;
use serde::de::{self, Deserializer, Visitor};

/// The date format of every LastPass timestamp (no zone; the account's zone applies).
pub const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean, 0/1, or \"0\"/\"1\"")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        Ok(v != 0)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        Ok(v != 0)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        Ok(v != 0.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

/// A flag sent as `true`, `1`, `"1"`, `"true"`; `null` and `""` mean false.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// A number type the lenient number visitor can produce.
pub trait FromLenient: Sized {
    /// From an unsigned integer, if it fits.
    fn from_u64(v: u64) -> Option<Self>;
    /// From a float, if it fits.
    fn from_f64(v: f64) -> Option<Self>;
    /// From text.
    fn from_text(v: &str) -> Option<Self>;
}

macro_rules! lenient_int {
    ($($t:ty),*) => {$(
        impl FromLenient for $t {
            fn from_u64(v: u64) -> Option<Self> { <$t>::try_from(v).ok() }
            fn from_f64(v: f64) -> Option<Self> {
                (v.fract() == 0.0 && v >= 0.0 && v <= <$t>::MAX as f64).then_some(v as $t)
            }
            fn from_text(v: &str) -> Option<Self> {
                v.parse::<$t>().ok().or_else(|| v.parse::<f64>().ok().and_then(Self::from_f64))
            }
        }
    )*};
}
lenient_int!(u8, u32, u64);

impl FromLenient for f64 {
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_f64(v: f64) -> Option<Self> {
        v.is_finite().then_some(v)
    }
    fn from_text(v: &str) -> Option<Self> {
        v.parse::<f64>().ok().filter(|x| x.is_finite())
    }
}

struct NumVisitor<T>(PhantomData<T>);

impl<'de, T: FromLenient> Visitor<'de> for NumVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, a numeric string, \"\" or null")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::from_u64(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::from_f64(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(None);
        }
        T::from_text(t)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(E::invalid_type(de::Unexpected::Bool(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// An optional number sent as a number, a numeric string, `""` or `null`.
pub fn number<'de, D: Deserializer<'de>, T: FromLenient>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_any(NumVisitor(PhantomData))
}

struct DateVisitor;

impl<'de> Visitor<'de> for DateVisitor {
    type Value = Option<NaiveDateTime>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a date \"YYYY-MM-DD HH:MM:SS\", \"\" or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = v.trim();
        if t.is_empty() || t.starts_with("0000-00-00") {
            return Ok(None);
        }
        parse_date(t)
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(DateVisitor)
    }
}

/// Parses a LastPass timestamp; fractional seconds, if ever sent, are accepted.
///
/// The common exact form is read byte by byte: a 100,000-user listing carries 300,000 of
/// these, and a format-string parser costs more than the rest of the user together.
pub fn parse_date(text: &str) -> Option<NaiveDateTime> {
    fast_date(text.as_bytes()).or_else(|| {
        NaiveDateTime::parse_from_str(text, DATE_FORMAT)
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
            .ok()
    })
}

fn fast_date(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(NaiveDateTime::new(date, time))
}

/// An optional timestamp; `""`, `null` and PHP's zero date mean "never".
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
    d.deserialize_any(DateVisitor)
}

/// A required timestamp (event times).
pub fn required_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
    date(d)?.ok_or_else(|| de::Error::custom("missing event time"))
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then(|| v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then_some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

/// Optional text where `""`, `null` (and PHP's `false`) all mean "not set".
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextVisitor)
}

/// Text that must be there but may be `null` (treated as empty).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(text(d)?.unwrap_or_default())
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of strings, or null")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element::<Option<String>>()? {
            if let Some(v) = v {
                out.push(v);
            }
        }
        Ok(out)
    }
    /// PHP serialises a list with gaps as an object; its values are what counts.
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((_k, v)) = map.next_entry::<de::IgnoredAny, Option<String>>()? {
            if let Some(v) = v {
                out.push(v);
            }
        }
        Ok(out)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(if v.is_empty() {
            Vec::new()
        } else {
            vec![v.to_string()]
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ListVisitor)
    }
}

/// A list of strings that may come as an array, a PHP object with numeric keys, or `null`.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(ListVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "flag", default)]
        b: bool,
        #[serde(deserialize_with = "number", default)]
        n: Option<u8>,
        #[serde(deserialize_with = "number", default)]
        f: Option<f64>,
        #[serde(deserialize_with = "date", default)]
        d: Option<NaiveDateTime>,
        #[serde(deserialize_with = "list", default)]
        l: Vec<String>,
    }

    fn t(s: &str) -> T {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn flags() {
        for (s, want) in [
            ("1", true),
            ("0", false),
            ("true", true),
            ("\"1\"", true),
            ("\"0\"", false),
            ("null", false),
            ("\"\"", false),
        ] {
            assert_eq!(t(&format!("{{\"b\":{s}}}")).b, want, "{s}");
        }
        assert!(serde_json::from_str::<T>("{\"b\":\"maybe\"}").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(t("{\"n\":\"100\"}").n, Some(100));
        assert_eq!(t("{\"n\":75}").n, Some(75));
        assert_eq!(t("{\"n\":null}").n, None);
        assert_eq!(t("{\"n\":\"\"}").n, None);
        assert_eq!(t("{\"f\":\"72.5\"}").f, Some(72.5));
        assert_eq!(t("{\"f\":99}").f, Some(99.0));
        let err = serde_json::from_str::<T>("{\"n\":\"abc\"}")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("abc"), "{err}");
        assert!(serde_json::from_str::<T>("{\"n\":300}").is_err());
    }

    #[test]
    fn dates_and_lists() {
        assert!(t("{\"d\":\"\"}").d.is_none());
        assert!(t("{\"d\":\"0000-00-00 00:00:00\"}").d.is_none());
        assert_eq!(
            t("{\"d\":\"2022-06-21 17:58:11\"}").d.unwrap().to_string(),
            "2022-06-21 17:58:11"
        );
        assert!(serde_json::from_str::<T>("{\"d\":\"yesterday\"}").is_err());
        assert!(serde_json::from_str::<T>("{\"d\":\"2022-13-01 00:00:00\"}").is_err());
        assert!(serde_json::from_str::<T>("{\"d\":\"2022-02-30 00:00:00\"}").is_err());
        assert!(serde_json::from_str::<T>("{\"d\":\"2022-01-01 25:00:00\"}").is_err());
        assert_eq!(
            t("{\"d\":\"2022-06-21 17:58:11.250\"}")
                .d
                .unwrap()
                .to_string(),
            "2022-06-21 17:58:11.250"
        );
        assert_eq!(t("{\"l\":[\"a\",null,\"b\"]}").l, vec!["a", "b"]);
        assert_eq!(t("{\"l\":{\"0\":\"a\",\"3\":\"b\"}}").l, vec!["a", "b"]);
        assert!(t("{\"l\":null}").l.is_empty());
    }
}
