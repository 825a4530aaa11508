//! Users as serialized JSON, kept between requests while the store's data is unchanged.
//!
//! Users change only when a sync or an action commits, minutes apart, while API clients read
//! them many times in between; serializing the same row again on every request was most of
//! a request's cost. Every request first reads [`lpgate_store::Store::data_version`]; when it
//! differs from the version the cache holds, the cache is emptied, so an entry is never older
//! than the last commit a request has seen. Entries are only added under the version their
//! reader saw, so a row read before a commit cannot outlive it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Past this many bytes of JSON the cache starts over (about 100,000 users; it refills as
/// they are read again).
const MAX_BYTES: usize = 64 * 1024 * 1024;

/// One user's JSON and the account it belongs to (account isolation is checked on every
/// hit, as on a read from the store).
#[derive(Clone)]
pub(crate) struct CachedUser {
    pub account: Arc<str>,
    pub json: Bytes,
}

#[derive(Default)]
struct Entries {
    version: u64,
    bytes: usize,
    users: HashMap<i64, CachedUser>,
}

/// The cache; one per server.
#[derive(Default)]
pub(crate) struct UserCache {
    entries: Mutex<Entries>,
}

impl UserCache {
    /// The cached users among `ids` at `version` (the caller's fresh reading), in order;
    /// none when the store cannot tell its version.
    pub fn get_many(&self, version: Option<u64>, ids: &[i64]) -> Vec<Option<CachedUser>> {
        let (Some(version), Ok(mut e)) = (version, self.entries.lock()) else {
            return vec![None; ids.len()];
        };
        if e.version != version {
            *e = Entries {
                version,
                ..Entries::default()
            };
        }
        ids.iter().map(|id| e.users.get(id).cloned()).collect()
    }

    /// Keeps `user`, read after `version` was seen; dropped if the data changed since.
    pub fn put(&self, version: Option<u64>, id: i64, user: CachedUser) {
        let (Some(version), Ok(mut e)) = (version, self.entries.lock()) else {
            return;
        };
        if e.version != version {
            return;
        }
        if e.bytes + user.json.len() > MAX_BYTES {
            e.users.clear();
            e.bytes = 0;
        }
        e.bytes += user.json.len();
        if let Some(old) = e.users.insert(id, user) {
            e.bytes -= old.json.len();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user(json: &str) -> CachedUser {
        CachedUser {
            account: Arc::from("acme"),
            json: Bytes::from(json.to_string()),
        }
    }

    #[test]
    fn a_new_version_empties_the_cache_and_late_puts_are_dropped() {
        let cache = UserCache::default();
        assert!(cache.get_many(Some(1), &[7])[0].is_none());
        cache.put(Some(1), 7, user("{\"a\":1}"));
        assert_eq!(
            cache.get_many(Some(1), &[7])[0].as_ref().unwrap().json,
            "{\"a\":1}"
        );
        // The data changed: nothing read before survives, and a put from a reader that saw
        // the old version is ignored.
        assert!(cache.get_many(Some(2), &[7])[0].is_none());
        cache.put(Some(1), 7, user("{\"a\":1}"));
        assert!(cache.get_many(Some(2), &[7])[0].is_none());
        cache.put(Some(2), 7, user("{\"a\":2}"));
        assert_eq!(
            cache.get_many(Some(2), &[7])[0].as_ref().unwrap().json,
            "{\"a\":2}"
        );
    }

    #[test]
    fn replacing_an_entry_keeps_the_byte_count_right() {
        let cache = UserCache::default();
        cache.get_many(Some(1), &[]);
        cache.put(Some(1), 7, user("1234"));
        cache.put(Some(1), 7, user("12"));
        assert_eq!(cache.entries.lock().unwrap().bytes, 2);
    }
}

#[cfg(test)]
mod unknown_version {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A store that cannot tell its version gets no caching at all.
    #[test]
    fn nothing_is_kept_without_a_version() {
        let cache = UserCache::default();
        let user = CachedUser {
            account: Arc::from("acme"),
            json: Bytes::from_static(b"{}"),
        };
        cache.put(None, 7, user);
        assert!(cache.get_many(None, &[7])[0].is_none());
        assert!(cache.get_many(Some(0), &[7])[0].is_none());
    }
}
