//! Failed-authentication rate limiting per client IP: after `max` failures in a window, every
//! authenticated request from that address gets 429 until the window ends. Guessing tokens
//! is hopeless anyway (256 bits); this keeps the store from being hammered by a script.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures per address in fixed windows.
#[derive(Debug)]
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(10, Duration::from_secs(60))
    }
}

/// Entries kept before stale ones are swept.
const SWEEP_AT: usize = 10_000;

impl FailureLimiter {
    /// `max` failures per `window` per address.
    pub fn new(max: u32, window: Duration) -> Self {
        FailureLimiter {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` when the address is blocked now.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let seen = self.seen.lock().ok()?;
        let (start, count) = seen.get(&ip)?;
        let end = *start + self.window;
        (*count >= self.max && end > now).then(|| end.duration_since(now).as_secs().max(1))
    }

    /// Records one failure.
    pub fn fail(&self, ip: IpAddr, now: Instant) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.len() >= SWEEP_AT {
            let window = self.window;
            seen.retain(|_, (start, _)| *start + window > now);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn blocks_after_max_and_forgets_after_the_window() {
        let l = FailureLimiter::new(3, Duration::from_secs(60));
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [127, 0, 0, 2].into();
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.blocked(ip, t).is_none());
            l.fail(ip, t);
        }
        assert!(l.blocked(ip, t).is_some());
        assert!(l.blocked(other, t).is_none());
        assert!(l.blocked(ip, t + Duration::from_secs(61)).is_none());
    }
}
