//! The deterministic company generator: the same [`CompanySpec`] always yields the same
//! company, from a self-written PRNG, so tests and benchmarks can rely on exact output.
//!
//! Distributions (see docs/emulator.md): about 8 % never logged in, 4 % disabled, 3 % admins,
//! 15 % weak master passwords, 30 % without MFA, 10 % last login older than 90 days; users in
//! 0–5 groups with skewed group sizes; folders shared with 1–30 users; a few invitations;
//! historical events over the 30 days before the anchor.

mod folders;
mod history;
mod names;
mod people;

use chrono::{NaiveDate, NaiveDateTime};

use crate::rng::SplitMix64;
use crate::state::Company;

/// What company to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanySpec {
    /// Company members to create.
    pub users: usize,
    /// Group names available; groups nobody joined do not exist, so a small company may show
    /// fewer.
    pub groups: usize,
    /// Shared folders to create.
    pub folders: usize,
    /// Fixes every random choice.
    pub seed: u64,
    /// "Now" for generated dates (US/Eastern wall time): logins, password changes and events
    /// are placed relative to it.
    pub anchor: NaiveDateTime,
    /// Historical events; `None` means two per user, at most 100,000.
    pub events: Option<usize>,
}

impl CompanySpec {
    /// A company of `users` with groups (users/50, 3..=2000) and folders (users/20, 2..=5000)
    /// scaled to it, anchored at 2026-11-01 09:00:00.
    pub fn new(users: usize, seed: u64) -> Self {
        let scaled = |div: usize, lo: usize, hi: usize| {
            if users == 0 {
                0
            } else {
                (users / div).clamp(lo, hi)
            }
        };
        Self {
            users,
            groups: scaled(50, 3, 2_000),
            folders: scaled(20, 2, 5_000),
            seed,
            anchor: default_anchor(),
            events: None,
        }
    }

    /// The number of historical events this spec asks for.
    pub fn event_count(&self) -> usize {
        self.events
            .unwrap_or_else(|| self.users.saturating_mul(2).min(100_000))
    }
}

/// 2026-11-01 09:00:00, the fixed default anchor.
fn default_anchor() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap_or_default()
}

/// Builds the company a spec describes.
pub(crate) fn company(spec: &CompanySpec) -> Company {
    let mut rng = SplitMix64::new(spec.seed);
    let company_name = rng.pick(names::COMPANIES).copied().unwrap_or("acme");
    let domain = format!("{company_name}.example.com");
    let mut c = Company::new(&domain, spec.seed);
    let mut emails = people::EmailBook::new(&domain);
    people::users(&mut c, spec, &mut rng.fork(1), &mut emails);
    people::invitations(&mut c, spec, &mut rng.fork(2), &mut emails);
    folders::folders(&mut c, spec, &mut rng.fork(3));
    history::events(&mut c, spec, &mut rng.fork(4));
    if let Some(first_admin) = c.users.iter().find(|u| u.admin) {
        c.api_actor.username = first_admin.username.clone();
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::view::CompanyView;

    #[test]
    fn same_spec_same_company() {
        let spec = CompanySpec::new(300, 42);
        assert_eq!(
            CompanyView::from(&company(&spec)),
            CompanyView::from(&company(&spec))
        );
    }

    #[test]
    fn different_seed_different_company() {
        assert_ne!(
            CompanyView::from(&company(&CompanySpec::new(50, 1))),
            CompanyView::from(&company(&CompanySpec::new(50, 2)))
        );
    }

    #[test]
    fn distributions_are_roughly_right() {
        let spec = CompanySpec::new(4_000, 7);
        let v = CompanyView::from(&company(&spec));
        let n = v.users.len() as f64;
        let share = |f: &dyn Fn(&crate::UserView) -> bool| {
            v.users.iter().filter(|u| f(u)).count() as f64 / n
        };
        let near = |x: f64, want: f64| (x - want).abs() < want * 0.35 + 0.005;
        assert_eq!(v.users.len(), 4_000);
        assert!(near(share(&|u| u.neverloggedin), 0.08));
        assert!(near(share(&|u| u.disabled), 0.04));
        assert!(near(share(&|u| u.admin), 0.03));
        assert!(near(
            share(&|u| !u.neverloggedin && u.mpstrength < 50),
            0.15 * 0.92
        ));
        assert!(near(
            share(&|u| !u.neverloggedin && u.multifactor.is_empty()),
            0.30 * 0.92
        ));
        let old = spec.anchor - chrono::TimeDelta::days(90);
        assert!(near(
            share(&|u| u.last_login.is_some_and(|t| t < old)),
            0.10 * 0.92
        ));
        assert!(v.users.iter().all(|u| u.groups.len() <= 5));
        assert!(!v.invited.is_empty());
        assert_eq!(v.event_count, 8_000);
        assert_eq!(v.folders.len(), 200);
        assert!(
            v.folders
                .iter()
                .all(|f| (1..=30).contains(&f.members.len()))
        );
        let with_admin = v
            .folders
            .iter()
            .filter(|f| f.members.iter().any(|m| m.perms.can_administer))
            .count();
        assert!(with_admin as f64 > 0.8 * 200.0);
        let mut emails: Vec<&str> = v.users.iter().map(|u| u.username.as_str()).collect();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), 4_000);
        // Group sizes are skewed: the largest group is much bigger than the median.
        let mut sizes: Vec<usize> = v.groups.values().map(Vec::len).collect();
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        assert!(*sizes.last().unwrap() > 4 * median.max(1));
    }

    #[test]
    fn empty_spec_is_empty() {
        let v = CompanyView::from(&company(&CompanySpec::new(0, 1)));
        assert!(v.users.is_empty() && v.folders.is_empty() && v.groups.is_empty());
        assert_eq!(v.event_count, 0);
    }
}
