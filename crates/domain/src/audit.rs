//! The audit log's tamper evidence: each entry's hash covers its fields and the previous
//! entry's hash, so editing, removing or reordering any entry breaks every hash after it.

use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFields<'a> {
    /// Entry number (1, 2, …).
    pub seq: i64,
    /// When, as stored (UTC text).
    pub at: &'a str,
    /// Who: a local user, an API token's name or a SCIM client.
    pub actor: &'a str,
    /// Account name, if any.
    pub account: Option<&'a str>,
    /// What (`suspend`, `plan.approve`…).
    pub action: &'a str,
    /// On whom or what.
    pub target: &'a str,
    /// The plan, if any.
    pub plan_id: Option<i64>,
    /// What was asked (never a secret).
    pub summary: &'a str,
    /// How it ended (`done`, `failed: …`).
    pub outcome: &'a str,
}

/// The entry's hash: SHA-256 over the previous hash and every field, each length-prefixed so
/// no two different entries serialize alike. Lowercase hex.
pub fn chain_hash(prev: &str, f: &AuditFields<'_>) -> String {
    let mut h = Sha256::new();
    let mut put = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    put(prev);
    put(&f.seq.to_string());
    put(f.at);
    put(f.actor);
    put(f.account.unwrap_or("\u{0}"));
    put(f.action);
    put(f.target);
    put(&f.plan_id.map(|p| p.to_string()).unwrap_or_default());
    put(f.summary);
    put(f.outcome);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a chain stops verifying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {reason}")]
pub struct ChainBroken {
    /// The first entry that does not verify.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// One stored entry as the verifier reads it: its fields, the previous hash it claims and its
/// own hash.
pub struct StoredEntry<'a> {
    /// The fields.
    pub fields: AuditFields<'a>,
    /// The previous hash it records.
    pub prev_hash: &'a str,
    /// Its own hash.
    pub hash: &'a str,
}

/// Checks a whole chain, oldest first: numbering without gaps from 1, each entry pointing at
/// the previous one's hash, each hash matching its fields. Returns the number of entries.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = StoredEntry<'a>>,
) -> Result<usize, ChainBroken> {
    let mut prev = GENESIS.to_string();
    let mut n = 0;
    for e in entries {
        n += 1;
        let seq = e.fields.seq;
        if seq != n as i64 {
            return Err(ChainBroken {
                seq,
                reason: format!("expected entry {n}: an entry was removed or inserted"),
            });
        }
        if e.prev_hash != prev {
            return Err(ChainBroken {
                seq,
                reason: "it does not follow the entry before it (removed or reordered)".into(),
            });
        }
        let expected = chain_hash(&prev, &e.fields);
        if e.hash != expected {
            return Err(ChainBroken {
                seq,
                reason: "its contents do not match its hash (edited)".into(),
            });
        }
        prev = expected;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(outcome: &str) -> AuditFields<'_> {
        AuditFields {
            seq: 1,
            at: "2026-03-01T00:00:00.000000Z",
            actor: "alice",
            account: Some("acme"),
            action: "suspend",
            target: "bob@example.com",
            plan_id: Some(7),
            summary: "deluser 0",
            outcome,
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let a = chain_hash(GENESIS, &fields("done"));
        assert_eq!(a.len(), 64);
        assert_eq!(a, chain_hash(GENESIS, &fields("done")));
        assert_ne!(a, chain_hash(GENESIS, &fields("failed")));
        assert_ne!(a, chain_hash(&a, &fields("done")));
    }

    #[test]
    fn verification_finds_the_edited_entry() {
        let f1 = fields("done");
        let h1 = chain_hash(GENESIS, &f1);
        let mut f2 = fields("done");
        f2.seq = 2;
        let h2 = chain_hash(&h1, &f2);
        let chain = |f2: AuditFields<'static>| {
            verify_chain(vec![
                StoredEntry {
                    fields: fields("done"),
                    prev_hash: GENESIS,
                    hash: Box::leak(h1.clone().into_boxed_str()),
                },
                StoredEntry {
                    fields: f2,
                    prev_hash: Box::leak(h1.clone().into_boxed_str()),
                    hash: Box::leak(h2.clone().into_boxed_str()),
                },
            ])
        };
        assert_eq!(chain(f2.clone()), Ok(2));
        let mut edited = f2;
        edited.outcome = "failed";
        assert_eq!(chain(edited).unwrap_err().seq, 2);
    }
}
