//! The company id and provisioning hash the emulator accepts.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// The pair LastPass checks on every Enterprise API call: company id (`cid`) and provisioning
/// hash (`provhash`).
///
/// `Debug` prints the hash as `***` so it never lands in logs or test output by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The company id ("account number" on the admin dashboard).
    pub cid: u64,
    /// The provisioning hash ("API secret"), 64 lowercase hex characters in practice.
    pub provhash: String,
}

impl Credentials {
    /// Credentials from a company id and a provisioning hash.
    pub fn new(cid: u64, provhash: impl Into<String>) -> Self {
        Self {
            cid,
            provhash: provhash.into(),
        }
    }

    /// Deterministic credentials derived from a seed (an 8-digit cid and a 64-hex hash), so a
    /// demo or script started twice with the same seed can reuse the same credentials.
    pub fn from_seed(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x6c70_6761_7465_6964);
        let cid = 10_000_000 + rng.below(89_999_999);
        Self {
            cid,
            provhash: hex64(&mut rng),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("cid", &self.cid)
            .field("provhash", &"***")
            .finish()
    }
}

/// 64 lowercase hex characters drawn from `rng`, the observed shape of a provisioning hash.
pub(crate) fn hex64(rng: &mut SplitMix64) -> String {
    (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
}
