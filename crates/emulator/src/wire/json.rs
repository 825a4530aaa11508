//! Small serialization helpers that keep the hot path allocation-free (dates and numbers as
//! strings written from stack buffers) plus the common status bodies.

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Serialize, Serializer};

/// A date as LastPass prints it: `"YYYY-MM-DD HH:MM:SS"`, no zone.
pub(crate) struct Ts(pub(crate) NaiveDateTime);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let buf = format_ts(&self.0);
        s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

/// `"YYYY-MM-DD HH:MM:SS"` into a stack buffer (much faster than chrono's formatter).
pub(crate) fn format_ts(t: &NaiveDateTime) -> [u8; 19] {
    let mut b = *b"0000-00-00 00:00:00";
    let year = t.year().clamp(0, 9999) as u32;
    put(&mut b[0..4], year);
    put(&mut b[5..7], t.month());
    put(&mut b[8..10], t.day());
    put(&mut b[11..13], t.hour());
    put(&mut b[14..16], t.minute());
    put(&mut b[17..19], t.second());
    b
}

fn put(dst: &mut [u8], mut v: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// The text form of [`format_ts`].
#[cfg(test)]
pub(crate) fn ts_string(t: &NaiveDateTime) -> String {
    String::from_utf8_lossy(&format_ts(t)).into_owned()
}

/// An unsigned number sent as a JSON string (`"100"`), as `mpstrength` and `totalscore` are.
pub(crate) struct NumStr(pub(crate) u64);

impl Serialize for NumStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 20];
        let mut v = self.0;
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        s.serialize_str(std::str::from_utf8(&buf[i..]).unwrap_or_default())
    }
}

/// PHP serialises an empty associative array as `[]`; so does the emulator wherever a map
/// would be empty.
pub(crate) struct EmptyArray;

impl Serialize for EmptyArray {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [(); 0].serialize(s)
    }
}

/// Serializes a reply body. Our reply types cannot fail to serialize; should one ever, the
/// client gets a FAIL body rather than a panic.
pub(crate) fn to_body<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    match serde_json::to_writer(&mut out, v) {
        Ok(()) => out,
        Err(e) => fail(&[format!("Internal error: {e}")]),
    }
}

/// `{"status":"OK"}`
pub(crate) fn ok() -> Vec<u8> {
    br#"{"status":"OK"}"#.to_vec()
}

/// A status word with its error list. A struct rather than `json!` because serde_json's maps
/// sort keys, and the real service sends `status` first.
#[derive(Serialize)]
struct StatusErrors<'a> {
    status: &'a str,
    errors: &'a [String],
}

/// `{"status":"FAIL","errors":[...]}`
pub(crate) fn fail(errors: &[String]) -> Vec<u8> {
    serde_json::to_vec(&StatusErrors {
        status: "FAIL",
        errors,
    })
    .unwrap_or_else(|_| br#"{"status":"FAIL","errors":[]}"#.to_vec())
}

/// A batch outcome: OK when nothing failed, FAIL when everything failed, WARN in between.
pub(crate) fn batch_status(errors: &[String], attempted: usize) -> Vec<u8> {
    if errors.is_empty() {
        ok()
    } else if errors.len() >= attempted {
        fail(errors)
    } else {
        to_body(&StatusErrors {
            status: "WARN",
            errors,
        })
    }
}

/// Dotted-quad text of an IPv4 address.
pub(crate) fn format_ip(ip: u32) -> String {
    let [a, b, c, d] = ip.to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn timestamps_match_lastpass_format() {
        let t = NaiveDate::from_ymd_opt(2022, 5, 1)
            .and_then(|d| d.and_hms_opt(9, 2, 6))
            .unwrap();
        assert_eq!(ts_string(&t), "2022-05-01 09:02:06");
        assert_eq!(
            serde_json::to_string(&Ts(t)).unwrap(),
            "\"2022-05-01 09:02:06\""
        );
        assert_eq!(ts_string(&t), t.format("%Y-%m-%d %H:%M:%S").to_string());
    }

    #[test]
    fn numbers_as_strings() {
        for n in [0u64, 7, 100, u64::MAX] {
            assert_eq!(
                serde_json::to_string(&NumStr(n)).unwrap(),
                format!("\"{n}\"")
            );
        }
        assert_eq!(serde_json::to_string(&EmptyArray).unwrap(), "[]");
    }

    #[test]
    fn status_bodies() {
        assert_eq!(ok(), br#"{"status":"OK"}"#);
        let e = vec!["a@b.c does not exist".to_owned()];
        assert_eq!(
            batch_status(&e, 2),
            br#"{"status":"WARN","errors":["a@b.c does not exist"]}"#
        );
        assert_eq!(
            batch_status(&e, 1),
            br#"{"status":"FAIL","errors":["a@b.c does not exist"]}"#
        );
        assert_eq!(format_ip(0x0a00_0001), "10.0.0.1");
    }
}
