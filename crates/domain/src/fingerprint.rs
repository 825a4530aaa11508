//! A stable 64-bit fingerprint (FNV-1a) of a record, so a resync can tell which of 100,000
//! users changed by comparing one number per user instead of loading every old row.
//!
//! Hand-written rather than `DefaultHasher` because the value is stored: it must not change
//! between Rust releases. A collision only costs a missed change until the next difference in
//! that record, and at 2^-64 per record that is accepted.

/// An FNV-1a hasher fed field by field.
#[derive(Debug, Clone, Copy)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Adds a string, length-prefixed so that ("ab","c") and ("a","bc") differ.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(&(s.len() as u64).to_le_bytes());
        self.bytes(s.as_bytes());
        self
    }

    /// Adds an optional string (absent differs from empty).
    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.bytes(&[0]),
            Some(s) => {
                self.bytes(&[1]);
                self.str(s);
            }
        }
        self
    }

    /// Adds a number.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes());
        self
    }

    /// Adds an optional number.
    pub fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            None => self.bytes(&[0]),
            Some(v) => {
                self.bytes(&[1]);
                self.bytes(&v.to_le_bytes());
            }
        }
        self
    }

    /// Adds a flag.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.bytes(&[u8::from(v)]);
        self
    }

    /// The fingerprint as a signed integer, the type SQL stores natively.
    pub fn finish(&self) -> i64 {
        self.0 as i64
    }
}
