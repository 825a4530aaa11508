//! Provisioning hashes are sealed with AES-256-GCM under a master key before they reach the
//! store, so the database file alone never reveals one.
//!
//! The master key comes from `LPGATE_MASTER_KEY` (64 hex characters) or from a key file that
//! `lpgate init` creates with mode 0600. Sealed form: `1 || nonce (12 bytes) || ciphertext+tag`.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use lpgate_lastpass::ProvisioningHash;

const VERSION: u8 = 1;
const AAD: &[u8] = b"lpgate provisioning hash v1";

/// Errors of key handling and sealing; none carries secret material.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key text is not 64 hex characters.
    #[error("invalid master key from {source_name}: expected 64 hexadecimal characters (32 bytes)")]
    BadKey {
        /// Where it came from (`LPGATE_MASTER_KEY` or a file path).
        source_name: String,
    },
    /// The key file could not be read or written.
    #[error("master key file {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The sealed value does not open with this key (another key, or damaged).
    #[error(
        "the stored provisioning hash cannot be decrypted with this master key (was the key file or LPGATE_MASTER_KEY changed?)"
    )]
    Unseal,
}

/// The installation's 256-bit master key. Never printed.
#[derive(Clone)]
pub struct MasterKey(Key<Aes256Gcm>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        MasterKey(Key::<Aes256Gcm>::generate())
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str, source_name: &str) -> Result<Self, SecretError> {
        let bad = || SecretError::BadKey {
            source_name: source_name.to_string(),
        };
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, chunk) in t.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).map_err(|_| bad())?;
            bytes[i] = u8::from_str_radix(s, 16).map_err(|_| bad())?;
        }
        Ok(MasterKey(Key::<Aes256Gcm>::from(bytes)))
    }

    fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Loads the key from `LPGATE_MASTER_KEY` if set, else from `path`.
    pub fn load(env_value: Option<String>, path: &Path) -> Result<Self, SecretError> {
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            return Self::from_hex(&v, "LPGATE_MASTER_KEY");
        }
        let text = std::fs::read_to_string(path).map_err(|e| SecretError::Io {
            path: path.display().to_string(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "not found; run `lpgate init` first or set LPGATE_MASTER_KEY".to_string()
            } else {
                e.to_string()
            },
        })?;
        Self::from_hex(&text, &path.display().to_string())
    }

    /// Writes a new key file readable by its owner only; refuses to overwrite one.
    pub fn create_file(path: &Path) -> Result<Self, SecretError> {
        let io = |e: std::io::Error| SecretError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let key = Self::generate();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(path).map_err(io)?;
        file.write_all(key.to_hex().as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(key)
    }

    /// The key API tokens are hashed with, derived from this one (HMAC-SHA256 of a fixed
    /// label), so the database alone cannot confirm a guessed token and tokens need no key
    /// of their own to back up.
    pub fn token_key(&self) -> crate::token::TokenKey {
        crate::token::TokenKey::derive(self.0.as_slice())
    }

    /// Seals a provisioning hash for storage.
    pub fn seal(&self, hash: &ProvisioningHash) -> Vec<u8> {
        let cipher = Aes256Gcm::new(&self.0);
        let nonce = Nonce::generate();
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: hash.expose().as_bytes(),
                    aad: AAD,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + nonce.len() + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a sealed provisioning hash.
    pub fn unseal(&self, sealed: &[u8]) -> Result<ProvisioningHash, SecretError> {
        if sealed.len() < 1 + 12 + 16 || sealed[0] != VERSION {
            return Err(SecretError::Unseal);
        }
        let nonce = Nonce::try_from(&sealed[1..13]).map_err(|_| SecretError::Unseal)?;
        let cipher = Aes256Gcm::new(&self.0);
        let clear = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed[13..],
                    aad: AAD,
                },
            )
            .map_err(|_| SecretError::Unseal)?;
        let text = String::from_utf8(clear).map_err(|_| SecretError::Unseal)?;
        ProvisioningHash::new(text).map_err(|_| SecretError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_wrong_key() {
        let key = MasterKey::generate();
        let hash = ProvisioningHash::new("a".repeat(64)).unwrap();
        let sealed = key.seal(&hash);
        assert!(!sealed.windows(16).any(|w| w == &b"aaaaaaaaaaaaaaaa"[..]));
        assert_eq!(key.unseal(&sealed).unwrap(), hash);
        assert_ne!(key.seal(&hash), sealed, "a fresh nonce each time");
        assert!(matches!(
            MasterKey::generate().unseal(&sealed),
            Err(SecretError::Unseal)
        ));
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(key.unseal(&damaged).is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(***)");
    }

    #[test]
    fn key_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::create_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = MasterKey::load(None, &path).unwrap();
        let hash = ProvisioningHash::new("b".repeat(64)).unwrap();
        assert_eq!(again.unseal(&key.seal(&hash)).unwrap(), hash);
        assert!(
            MasterKey::create_file(&path).is_err(),
            "never overwrites a key"
        );
        let err = MasterKey::load(Some("zz".into()), &path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("LPGATE_MASTER_KEY"), "{err}");
    }
}
