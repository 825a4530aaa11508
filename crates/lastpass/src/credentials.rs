//! The two values that identify and authorize a LastPass business account.
//!
//! The provisioning hash is a bearer secret: whoever holds it can create, disable and delete
//! every user of the company. It therefore lives in a type that never prints itself, so it
//! cannot leak through `{:?}`, an error message, a log line or a panic.

use std::fmt;

use crate::error::Error;

/// The company ID ("account number" on the Admin Console dashboard).
///
/// Kept as a number because the documentation calls it an integer and its samples send it as
/// one; the emulator and the real service also accept it as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid(u64);

impl Cid {
    /// Wraps an already-numeric company ID.
    pub fn new(value: u64) -> Self {
        Cid(value)
    }

    /// Parses a company ID as typed by a person or read from a file.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let trimmed = text.trim();
        match trimmed.parse::<u64>() {
            Ok(v) if v > 0 => Ok(Cid(v)),
            _ => Err(Error::InvalidInput {
                field: "cid",
                value: text.to_string(),
                reason: "the account number must be a positive whole number",
            }),
        }
    }

    /// The number sent on the wire.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The provisioning hash ("API secret") of a business account.
///
/// `Debug` and `Display` print `***`; the only way to read the value is [`expose`], which the
/// request builder calls once per request body.
///
/// [`expose`]: ProvisioningHash::expose
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisioningHash(String);

impl ProvisioningHash {
    /// Accepts a hash as pasted from the Admin Console or read from a file.
    ///
    /// Surrounding white space (a trailing newline in a file) is removed. The real hashes seen
    /// are 64 lowercase hex characters, but that is an observation, not a documented rule, so
    /// only obviously broken values are refused. The error never contains the value itself.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value: String = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(Error::InvalidInput {
                field: "provhash",
                value: String::new(),
                reason: "the provisioning hash is empty",
            });
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidInput {
                field: "provhash",
                value: "***".to_string(),
                reason: "the provisioning hash contains white space or control characters",
            });
        }
        Ok(ProvisioningHash(trimmed.to_string()))
    }

    /// The secret itself, for the request body and for encryption at rest only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProvisioningHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProvisioningHash(***)")
    }
}

impl fmt::Display for ProvisioningHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_never_prints() {
        let h = ProvisioningHash::new("abc123secret\n").unwrap();
        assert_eq!(h.expose(), "abc123secret");
        assert!(!format!("{h:?}").contains("abc123secret"));
        assert!(!format!("{h}").contains("abc123secret"));
    }

    #[test]
    fn cid_parse_names_field_and_value() {
        let err = Cid::parse("12ab").unwrap_err().to_string();
        assert!(err.contains("cid") && err.contains("12ab"), "{err}");
        assert_eq!(Cid::parse(" 8771312 ").unwrap().get(), 8771312);
        assert!(Cid::parse("0").is_err());
    }

    #[test]
    fn empty_or_spaced_hash_refused() {
        assert!(ProvisioningHash::new("  ").is_err());
        let err = ProvisioningHash::new("ab cd").unwrap_err().to_string();
        assert!(err.contains("provhash") && !err.contains("ab cd"), "{err}");
    }
}
