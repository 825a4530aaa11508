//! Generated reporting history: plausible events spread over the 30 days before the anchor,
//! each with its own microsecond.

use super::CompanySpec;
use super::names::{POLICIES, TOPICS};
use crate::clock::eastern_to_micros;
use crate::rng::SplitMix64;
use crate::state::Company;
use crate::state::events::action;

const WINDOW_MICROS: i64 = 30 * 86_400 * 1_000_000;

/// Who did what, with weights.
const MIX: &[(&str, u32, bool)] = &[
    // (action, weight, done by an admin)
    (action::LOGIN, 50, false),
    (action::FAILED_LOGIN, 10, false),
    (action::MASTER_PASSWORD_CHANGED, 4, false),
    (action::ENABLE_MULTIFACTOR, 3, false),
    (action::MASTER_PASSWORD_REUSE, 2, false),
    (action::ADD_TO_SHARED_FOLDER, 6, true),
    (action::ACCOUNT_CREATED, 5, true),
    (action::ADD_TO_GROUP, 5, true),
    (action::EDIT_USER, 2, true),
    (action::REQUIRE_PASSWORD_CHANGE, 2, true),
    (action::DEACTIVATED, 2, true),
    (action::REACTIVATED, 1, true),
    (action::ACCOUNT_DELETED, 1, true),
    (action::MAKE_ADMIN, 1, true),
    (action::REMOVE_ADMIN, 1, true),
    (action::SUPER_ADMIN_PASSWORD_RESET, 1, true),
    (action::PASSWORD_RESET_EMAIL, 1, true),
    (action::EDIT_POLICY, 1, true),
];

/// Adds `spec.event_count()` events, oldest first.
pub(super) fn events(c: &mut Company, spec: &CompanySpec, rng: &mut SplitMix64) {
    let count = spec.event_count();
    if c.users.is_empty() || count == 0 {
        return;
    }
    let end = eastern_to_micros(spec.anchor);
    let mut times: Vec<i64> = (0..count)
        .map(|_| end - 1 - rng.below(WINDOW_MICROS as u64) as i64)
        .collect();
    times.sort_unstable();
    let admins: Vec<usize> = (0..c.users.len())
        .filter(|i| c.users.get(*i).is_some_and(|u| u.admin))
        .collect();
    let active: Vec<usize> = (0..c.users.len())
        .filter(|i| c.users.get(*i).is_some_and(|u| u.last_login.is_some()))
        .collect();
    let total: u32 = MIX.iter().map(|(_, w, _)| w).sum();
    for t in times {
        let mut roll = rng.below(u64::from(total)) as u32;
        let mut chosen = MIX[0];
        for entry in MIX {
            if roll < entry.1 {
                chosen = *entry;
                break;
            }
            roll -= entry.1;
        }
        let (act, _, by_admin) = chosen;
        let user_pool = if active.is_empty() { &admins } else { &active };
        let subject = rng.pick(user_pool).and_then(|i| c.users.get(*i));
        let Some(subject) = subject else { continue };
        let (actor_id, actor, data) = if by_admin {
            let admin = rng
                .pick(&admins)
                .and_then(|i| c.users.get(*i))
                .unwrap_or(subject);
            let target = rng.pick(&c.users).unwrap_or(subject);
            let data = match act {
                action::ADD_TO_SHARED_FOLDER => format!(
                    "{} (Shared-{})",
                    target.username,
                    rng.pick(TOPICS).copied().unwrap_or("Misc").replace(' ', "")
                ),
                action::ADD_TO_GROUP => format!(
                    "{} ({})",
                    target.username,
                    target.groups.first().map_or("Everyone", String::as_str)
                ),
                action::EDIT_POLICY => rng.pick(POLICIES).copied().unwrap_or("").to_owned(),
                _ => target.username.clone(),
            };
            (admin.id, admin.username.clone(), data)
        } else {
            let data = match act {
                action::ENABLE_MULTIFACTOR if !subject.multifactor.is_empty() => {
                    subject.multifactor.clone()
                }
                action::ENABLE_MULTIFACTOR => "lastpass_authenticator".to_owned(),
                _ => String::new(),
            };
            (subject.id, subject.username.clone(), data)
        };
        let ip = crate::state::user_ip(actor_id);
        c.events.push(t, actor, ip, act, data, by_admin);
    }
}
