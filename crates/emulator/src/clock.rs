//! The emulator's notion of "now", and conversions between US/Eastern wall time (what LastPass
//! prints) and epoch microseconds (what reporting's `next` cursor carries).
//!
//! This is the only module that reads the system clock.

use chrono::{NaiveDateTime, SubsecRound, TimeDelta, TimeZone, Utc};
use chrono_tz::America::New_York;

/// Where the emulator takes "now" from. Every write and every event uses it.
///
/// All times are US/Eastern wall time, as LastPass prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The machine's clock, converted to US/Eastern.
    #[default]
    System,
    /// A frozen instant, for fully deterministic tests.
    Fixed(NaiveDateTime),
    /// The machine's clock shifted by this much (e.g. "pretend it is 100 days later").
    Offset(TimeDelta),
}

impl Clock {
    /// The current US/Eastern wall time according to this clock.
    pub fn now(&self) -> NaiveDateTime {
        match self {
            Clock::System => system_eastern(),
            Clock::Fixed(t) => *t,
            // An offset past the calendar's end saturates instead of panicking.
            Clock::Offset(d) => {
                let now = system_eastern();
                now.checked_add_signed(*d)
                    .unwrap_or(if d.num_seconds() < 0 {
                        NaiveDateTime::MIN
                    } else {
                        NaiveDateTime::MAX
                    })
            }
        }
    }

    /// [`Clock::now`] cut to whole seconds, the precision of LastPass user fields.
    pub(crate) fn now_secs(&self) -> NaiveDateTime {
        self.now().trunc_subsecs(0)
    }
}

fn system_eastern() -> NaiveDateTime {
    Utc::now().with_timezone(&New_York).naive_local()
}

/// Epoch microseconds of a US/Eastern wall time. In the autumn overlap the earlier instant is
/// taken; a time inside the spring-forward gap is read as if the clock had not jumped yet.
pub(crate) fn eastern_to_micros(t: NaiveDateTime) -> i64 {
    match New_York.from_local_datetime(&t).earliest() {
        Some(dt) => dt.timestamp_micros(),
        None => match New_York
            .from_local_datetime(&(t - TimeDelta::hours(1)))
            .earliest()
        {
            Some(dt) => dt.timestamp_micros() + 3_600_000_000,
            None => t.and_utc().timestamp_micros(),
        },
    }
}

/// The US/Eastern wall time of an epoch-microsecond instant.
pub(crate) fn micros_to_eastern(micros: i64) -> NaiveDateTime {
    match Utc.timestamp_micros(micros).single() {
        Some(dt) => dt.with_timezone(&New_York).naive_local(),
        None => NaiveDateTime::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, mi, s))
            .unwrap()
    }

    #[test]
    fn eastern_round_trip() {
        for t in [
            at(2026, 1, 15, 12, 0, 0),
            at(2026, 7, 4, 23, 59, 59),
            at(2026, 11, 1, 9, 0, 0),
        ] {
            assert_eq!(micros_to_eastern(eastern_to_micros(t)), t);
        }
    }

    #[test]
    fn winter_is_utc_minus_five() {
        let t = at(2026, 1, 15, 12, 0, 0);
        assert_eq!(
            eastern_to_micros(t),
            at(2026, 1, 15, 17, 0, 0).and_utc().timestamp_micros()
        );
    }

    #[test]
    fn spring_gap_does_not_panic() {
        let gap = at(2026, 3, 8, 2, 30, 0);
        let m = eastern_to_micros(gap);
        assert!(m > eastern_to_micros(at(2026, 3, 8, 1, 59, 0)));
    }

    #[test]
    fn fixed_clock_is_fixed() {
        let t = at(2026, 11, 1, 9, 0, 0);
        assert_eq!(Clock::Fixed(t).now(), t);
        assert_eq!(Clock::Fixed(t).now_secs(), t);
    }
}
