//! Master passwords LastPass reports expired (`expiredmasterpwlist`): a list read in full at
//! each sync and replaced whole, so it always says what LastPass said at its last read.

use chrono::{DateTime, NaiveDateTime, Utc};

/// One user whose master password has expired under the account's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredPassword {
    /// LastPass user id.
    pub lastpass_id: String,
    /// Email (lowercase).
    pub email: String,
    /// When the master password was last changed, as LastPass printed it (account zone).
    pub last_pw_change_local: Option<NaiveDateTime>,
    /// The same instant in UTC.
    pub last_pw_change_at: Option<DateTime<Utc>>,
}

/// A digest of a list as read, independent of its order (items are hashed sorted by email):
/// a sync that reads the same list again, as most do, then records only the read time
/// instead of rewriting tens of thousands of rows.
pub fn expired_digest(items: &[ExpiredPassword]) -> i64 {
    let mut sorted: Vec<&ExpiredPassword> = items.iter().collect();
    sorted.sort_unstable_by(|a, b| {
        a.email
            .cmp(&b.email)
            .then(a.lastpass_id.cmp(&b.lastpass_id))
    });
    let mut f = lpgate_domain::fingerprint::Fingerprint::default();
    f.u64(sorted.len() as u64);
    for i in sorted {
        f.str(&i.email)
            .str(&i.lastpass_id)
            .opt_i64(i.last_pw_change_local.map(|t| t.and_utc().timestamp()))
            .opt_i64(i.last_pw_change_at.map(|t| t.timestamp()));
    }
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(email: &str, id: &str, secs: Option<i64>) -> ExpiredPassword {
        let at = secs.and_then(|s| DateTime::from_timestamp(s, 0));
        ExpiredPassword {
            lastpass_id: id.into(),
            email: email.into(),
            last_pw_change_local: at.map(|t| t.naive_utc()),
            last_pw_change_at: at,
        }
    }

    #[test]
    fn digest_ignores_order_and_sees_every_field() {
        let a = item("a@x.com", "1", Some(100));
        let b = item("b@x.com", "2", None);
        let base = expired_digest(&[a.clone(), b.clone()]);
        assert_eq!(base, expired_digest(&[b.clone(), a.clone()]));
        assert_ne!(base, expired_digest(std::slice::from_ref(&a)));
        assert_ne!(
            base,
            expired_digest(&[a.clone(), item("b@x.com", "3", None)])
        );
        assert_ne!(
            base,
            expired_digest(&[a.clone(), item("b@x.com", "2", Some(0))])
        );
        assert_ne!(base, expired_digest(&[item("a@x.com", "1", Some(101)), b]));
        assert_ne!(expired_digest(&[]), base);
    }
}
