//! Reads against the emulator: what the client returns is exactly what the company holds.

use lpgate_lastpass::{EventQuery, UserFilter};

use crate::helpers::{client, client_with, emulator};

#[tokio::test]
async fn full_directory_matches_the_company() {
    let emu = emulator(300, 11).await;
    let view = emu.emulator().view();
    let dir = client_with(&emu.base_url(), |c| c.page_size = 64)
        .get_user_data(UserFilter::All)
        .await
        .unwrap();
    assert_eq!(dir.users.len(), view.users.len());
    assert_eq!(dir.total as usize, view.users.len());
    for (got, want) in dir.users.iter().zip(&view.users) {
        assert_eq!(got.id, want.id.to_string());
        assert_eq!(got.username, want.username);
        assert_eq!(got.fullname, want.fullname);
        assert_eq!(got.disabled, want.disabled);
        assert_eq!(got.admin, want.admin);
        assert_eq!(got.never_logged_in, want.neverloggedin);
        assert_eq!(
            got.last_login,
            want.last_login.map(|d| d.with_nanosecond_zero())
        );
        assert_eq!(got.groups, want.groups, "{}", want.username);
        assert_eq!(got.multifactor.as_deref().unwrap_or(""), want.multifactor);
        assert_eq!(got.password_reset_required, want.password_reset_required);
        assert_eq!(got.sites, want.sites);
        if !want.neverloggedin {
            assert_eq!(got.mpstrength, Some(want.mpstrength));
        }
    }
    // Rebuilt from paged replies, members come in user id order, as the company lists them.
    assert_eq!(dir.groups, view.groups);
    let mut invited = view.invited.clone();
    invited.sort();
    assert_eq!(dir.invited, invited);
    // A realistic company has every kind of user the rules care about.
    assert!(dir.users.iter().any(|u| u.disabled));
    assert!(dir.users.iter().any(|u| u.admin));
    assert!(dir.users.iter().any(|u| u.never_logged_in));
    assert!(
        dir.users
            .iter()
            .any(|u| u.multifactor.is_none() && !u.never_logged_in)
    );
}

trait ZeroNanos {
    fn with_nanosecond_zero(self) -> Self;
}
impl ZeroNanos for chrono::NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

#[tokio::test]
async fn filters_disabled_and_admins() {
    let emu = emulator(200, 3).await;
    let view = emu.emulator().view();
    let c = client_with(&emu.base_url(), |c| c.page_size = 7);
    let disabled = c.get_user_data(UserFilter::Disabled).await.unwrap();
    let want = view.users.iter().filter(|u| u.disabled).count();
    assert!(want > 0);
    assert_eq!(disabled.users.len(), want);
    assert!(disabled.users.iter().all(|u| u.disabled));
    let admins = c.get_user_data(UserFilter::Admins).await.unwrap();
    assert_eq!(
        admins.users.len(),
        view.users.iter().filter(|u| u.admin).count()
    );
    assert!(admins.users.iter().all(|u| u.admin));
}

#[tokio::test]
async fn one_user_known_and_unknown() {
    let emu = emulator(50, 5).await;
    let view = emu.emulator().view();
    let c = client(&emu.base_url());
    let target = &view.users[10];
    let got = c.get_user(&target.username).await.unwrap().unwrap();
    assert_eq!(got.id, target.id.to_string());
    assert_eq!(got.groups, target.groups);
    assert_eq!(c.get_user("nobody.here@example.org").await.unwrap(), None);
    assert_eq!(c.check().await.unwrap(), view.users.len() as u64);
}

#[tokio::test]
async fn shared_folders_plain_and_detailed() {
    let emu = emulator(120, 9).await;
    let view = emu.emulator().view();
    let c = client_with(&emu.base_url(), |c| c.page_size = 4);
    let folders = c.get_shared_folders().await.unwrap();
    assert_eq!(folders.len(), view.folders.len());
    for (got, want) in folders.iter().zip(&view.folders) {
        assert_eq!(got.id, want.id.to_string());
        assert_eq!(got.name, want.name);
        assert_eq!(got.users.len(), want.members.len());
        for (m, w) in got.users.iter().zip(&want.members) {
            assert_eq!(m.username, w.username);
            assert_eq!(m.readonly, w.perms.readonly);
            assert_eq!(m.give, w.perms.give);
            assert_eq!(m.can_administer, w.perms.can_administer);
        }
    }
    let detailed = c.get_detailed_shared_folders().await.unwrap();
    assert_eq!(
        detailed.len(),
        view.folders.len(),
        "paged by 4 folders, each once"
    );
    assert!(
        detailed
            .iter()
            .any(|f| f.users.iter().any(|u| !u.sites.is_empty()))
    );
}

#[tokio::test]
async fn reporting_reads_every_event_once_newest_first() {
    let emu = emulator(60, 2).await;
    let view = emu.emulator().view();
    let c = client(&emu.base_url());
    let events = c.reporting(&EventQuery::default()).await.unwrap();
    assert_eq!(events.len(), view.event_count);
    assert!(
        events.windows(2).all(|w| w[0].time >= w[1].time),
        "newest first"
    );
    let limited = c
        .reporting(&EventQuery {
            limit: Some(5),
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(limited, events[..5].to_vec());
    let user = events[0].username.clone();
    let mine = c
        .reporting(&EventQuery {
            user: Some(user.clone()),
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert!(!mine.is_empty() && mine.iter().all(|e| e.username == user));
    let from = events[events.len() / 2].time;
    let recent = c
        .reporting(&EventQuery {
            from: Some(from),
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert!(!recent.is_empty() && recent.iter().all(|e| e.time >= from));
}

#[tokio::test]
async fn reporting_follows_next_past_ten_thousand() {
    let mut spec = lpgate_emulator::CompanySpec::new(40, 4);
    spec.events = Some(23_456);
    let emu = lpgate_emulator::Emulator::generate(&spec, crate::helpers::creds())
        .start(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let c = client(&emu.base_url());
    let events = c.reporting(&EventQuery::default()).await.unwrap();
    assert_eq!(events.len(), emu.emulator().view().event_count);
    assert!(events.len() >= 23_456);
    assert_eq!(emu.emulator().requests("reporting"), 3, "10,000 a page");
}

#[tokio::test]
async fn expired_master_passwords_all_pages() {
    let emu = emulator(1500, 8).await;
    let c = client(&emu.base_url());
    let expired = c.expired_master_passwords().await.unwrap();
    let view = emu.emulator().view();
    let mut ids: Vec<&str> = expired.iter().map(|e| e.user_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expired.len(), "each user once");
    for e in &expired {
        let u = view
            .users
            .iter()
            .find(|u| u.id.to_string() == e.user_id)
            .unwrap();
        assert_eq!(u.username, e.user_name);
    }
}

// Clients over one pool of connections each read their own account (a worker's scheduled
// syncs share one pool; see `Connections`).
#[tokio::test]
async fn clients_over_shared_connections_read_their_own_accounts() {
    let (a, b) = (emulator(40, 3).await, emulator(25, 4).await);
    let shared = lpgate_lastpass::Connections::new(
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    for _ in 0..2 {
        for emu in [&a, &b] {
            let client =
                lpgate_lastpass::Client::over(crate::helpers::config(&emu.base_url()), &shared)
                    .unwrap();
            let dir = client.get_user_data(UserFilter::All).await.unwrap();
            let want: Vec<String> = emu
                .emulator()
                .view()
                .users
                .iter()
                .map(|u| u.username.clone())
                .collect();
            let got: Vec<String> = dir.users.iter().map(|u| u.username.clone()).collect();
            assert_eq!(got, want);
        }
    }
}
