//! API tokens: generation and the keyed hash the store keeps instead of the token.
//!
//! A token is `lpg_` followed by 43 base64url characters of 256 random bits. Checking one is
//! one HMAC-SHA256 and one indexed lookup: the tokens are random, so a slow KDF would add
//! nothing but latency, and the key (derived from the master key) means a stolen database
//! cannot be used to test guesses offline.

use std::fmt;

use aes_gcm::aead::Generate;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// What every lpgate token starts with, so secret scanners and people can recognise one.
pub const TOKEN_PREFIX: &str = "lpg_";

const DERIVE_LABEL: &[u8] = b"lpgate api token hashing v1";

/// A fresh token: `lpg_` + 43 base64url characters (256 bits from the OS's CSPRNG).
pub fn generate_token() -> String {
    let bytes = <[u8; 32]>::generate();
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether a text has the shape of a token (cheap pre-check before hashing).
pub fn looks_like_token(text: &str) -> bool {
    text.len() == TOKEN_PREFIX.len() + 43
        && text.starts_with(TOKEN_PREFIX)
        && text[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The key tokens are hashed with (see [`crate::MasterKey::token_key`]). Never printed.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so the fallback is unreachable; it would only make
    // every hash wrong (no token matches), never make a wrong token match.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => Hmac::<Sha256>::new(&Default::default()),
    }
}

impl TokenKey {
    /// Derives the token key from master key bytes.
    pub(crate) fn derive(master: &[u8]) -> Self {
        let mut mac = hmac(master);
        mac.update(DERIVE_LABEL);
        TokenKey(mac.finalize().into_bytes().into())
    }

    /// The stored form of a token: HMAC-SHA256 under this key, as 64 hex characters.
    pub fn hash(&self, token: &str) -> String {
        let mut mac = hmac(&self.0);
        mac.update(token.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::MasterKey;

    #[test]
    fn tokens_are_random_and_well_formed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 47);
        assert!(looks_like_token(&a), "{a}");
        assert!(!looks_like_token("lpg_short"));
    }

    #[test]
    fn hash_depends_on_the_master_key() {
        let k1 = MasterKey::generate().token_key();
        let k2 = MasterKey::generate().token_key();
        let t = generate_token();
        assert_eq!(k1.hash(&t), k1.hash(&t));
        assert_ne!(k1.hash(&t), k2.hash(&t));
        assert_eq!(k1.hash(&t).len(), 64);
        assert!(!k1.hash(&t).contains(&t[4..]));
        assert_eq!(format!("{k1:?}"), "TokenKey(***)");
    }
}
