//! LastPass timestamps carry no zone; lpgate stores UTC, converting from the account's zone
//! (the reporting docs say US/Eastern, the default).

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::DomainError;

/// The IANA time zone LastPass's wall-clock times are read in, per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountZone(Tz);

impl Default for AccountZone {
    fn default() -> Self {
        AccountZone(chrono_tz::America::New_York)
    }
}

impl AccountZone {
    /// Parses an IANA zone name such as `America/New_York` or `Europe/Dublin`.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        name.trim()
            .parse::<Tz>()
            .map(AccountZone)
            .map_err(|_| DomainError::Invalid {
                field: "time_zone",
                value: name.to_string(),
                reason: "expected an IANA time zone such as America/New_York",
            })
    }

    /// The zone's IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Converts a LastPass wall-clock time to UTC. In the autumn hour that happens twice the
    /// earlier instant is taken; a time in the spring gap is read as if the clock had not
    /// jumped yet (one hour later in UTC terms), so no timestamp is ever lost.
    pub fn to_utc(self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            LocalResult::None => {
                let shifted = local + chrono::Duration::hours(1);
                match self.0.from_local_datetime(&shifted) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                    LocalResult::None => Utc.from_utc_datetime(&local),
                }
            }
        }
    }

    /// Converts a UTC instant to this zone's wall-clock time (for `from`/`to` in reporting).
    pub fn to_local(self, utc: DateTime<Utc>) -> NaiveDateTime {
        utc.with_timezone(&self.0).naive_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn eastern_to_utc_across_dst() {
        let z = AccountZone::default();
        assert_eq!(
            z.to_utc(t("2022-06-21 17:58:11")).to_rfc3339(),
            "2022-06-21T21:58:11+00:00"
        );
        assert_eq!(
            z.to_utc(t("2022-01-10 08:00:00")).to_rfc3339(),
            "2022-01-10T13:00:00+00:00"
        );
        // 2022-11-06 01:30 happens twice in New York: the earlier (EDT) instant.
        assert_eq!(
            z.to_utc(t("2022-11-06 01:30:00")).to_rfc3339(),
            "2022-11-06T05:30:00+00:00"
        );
        // 2022-03-13 02:30 does not exist in New York.
        assert_eq!(
            z.to_utc(t("2022-03-13 02:30:00")).to_rfc3339(),
            "2022-03-13T07:30:00+00:00"
        );
        let back = z.to_local(z.to_utc(t("2022-06-21 17:58:11")));
        assert_eq!(back, t("2022-06-21 17:58:11"));
    }

    #[test]
    fn zone_names() {
        assert_eq!(
            AccountZone::parse("Europe/Dublin").unwrap().name(),
            "Europe/Dublin"
        );
        let e = AccountZone::parse("Mars/Olympus").unwrap_err().to_string();
        assert!(e.contains("time_zone") && e.contains("Mars/Olympus"), "{e}");
    }
}
