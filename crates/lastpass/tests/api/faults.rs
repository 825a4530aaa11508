//! Injected faults: what is retried, what is not, and that a failed page never yields a
//! shorter list.

use std::time::{Duration, Instant};

use lpgate_emulator::{FaultSpec, Latency, Rate};
use lpgate_lastpass::{DeleteAction, Error, NewUser, UserFilter};

use crate::helpers::{client, client_with, emulator, fast_retry};

#[tokio::test]
async fn http_500_is_retried_for_reads() {
    let emu = emulator(50, 1).await;
    let e = emu.emulator();
    e.set_faults(
        Some("getuserdata"),
        FaultSpec {
            http_500: Rate::next(2),
            ..Default::default()
        },
    );
    let dir = client(&emu.base_url())
        .get_user_data(UserFilter::All)
        .await
        .unwrap();
    assert_eq!(dir.users.len(), 50);
    assert_eq!(e.requests("getuserdata"), 3);
}

#[tokio::test]
async fn persistent_500_gives_up_with_the_status() {
    let emu = emulator(10, 1).await;
    emu.emulator().set_faults(
        None,
        FaultSpec {
            http_500: Rate::share(1.0),
            ..Default::default()
        },
    );
    let err = client(&emu.base_url()).check().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn throttling_honours_retry_after() {
    let emu = emulator(10, 1).await;
    emu.emulator().set_faults(
        Some("getsfdata"),
        FaultSpec {
            http_429: Rate::next(1),
            retry_after_secs: 1,
            ..Default::default()
        },
    );
    let started = Instant::now();
    client(&emu.base_url()).get_shared_folders().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(emu.emulator().requests("getsfdata"), 2);
}

#[tokio::test]
async fn retry_after_longer_than_allowed_fails_at_once() {
    let emu = emulator(10, 1).await;
    emu.emulator().set_faults(
        Some("getdetailedsfdata"),
        FaultSpec {
            http_429: Rate::share(1.0),
            retry_after_secs: 3600,
            ..Default::default()
        },
    );
    let err = client(&emu.base_url())
        .get_detailed_shared_folders()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 1, retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
    assert!(err.to_string().contains("rate limiting"));
}

#[tokio::test]
async fn writes_are_retried_on_429_even_when_unsafe_to_repeat() {
    let emu = emulator(10, 1).await;
    emu.emulator().set_faults(
        Some("batchadd"),
        FaultSpec {
            http_429: Rate::next(1),
            retry_after_secs: 0,
            ..Default::default()
        },
    );
    client(&emu.base_url())
        .batch_add(&[NewUser::new("x.y@example.com")])
        .await
        .unwrap();
    assert_eq!(emu.emulator().requests("batchadd"), 2);
}

#[tokio::test]
async fn truncated_body_retried_for_reads_not_for_batchadd() {
    let emu = emulator(30, 1).await;
    let e = emu.emulator();
    e.set_faults(
        Some("getuserdata"),
        FaultSpec {
            truncate: Rate::next(1),
            ..Default::default()
        },
    );
    let dir = client(&emu.base_url())
        .get_user_data(UserFilter::All)
        .await
        .unwrap();
    assert_eq!(dir.users.len(), 30);
    assert_eq!(e.requests("getuserdata"), 2);

    e.set_faults(
        Some("batchadd"),
        FaultSpec {
            truncate: Rate::next(1),
            ..Default::default()
        },
    );
    let err = client(&emu.base_url())
        .batch_add(&[NewUser::new("once.only@example.com")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(e.requests("batchadd"), 1, "a create is never sent twice");
}

#[tokio::test]
async fn dropped_connection_retried_for_safe_writes_not_for_delete() {
    let emu = emulator(30, 2).await;
    let e = emu.emulator();
    let view = e.view();
    let user = view
        .users
        .iter()
        .find(|u| !u.disabled)
        .unwrap()
        .username
        .clone();
    e.set_faults(
        Some("disableuser"),
        FaultSpec {
            drop: Rate::next(1),
            ..Default::default()
        },
    );
    let out = client(&emu.base_url())
        .disable_users(std::slice::from_ref(&user))
        .await
        .unwrap();
    // The first attempt was applied before the connection was cut: the retry finds it done.
    assert_eq!(out.unchanged, vec![user.clone()]);
    assert_eq!(e.requests("disableuser"), 2);

    let other = view
        .users
        .iter()
        .rev()
        .find(|u| !u.disabled)
        .unwrap()
        .username
        .clone();
    e.set_faults(
        Some("deluser"),
        FaultSpec {
            drop: Rate::next(1),
            ..Default::default()
        },
    );
    let err = client(&emu.base_url())
        .delete_user(&other, DeleteAction::Delete)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(e.requests("deluser"), 1);
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_a_timeout() {
    let emu = emulator(10, 1).await;
    emu.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(800))),
            ..Default::default()
        },
    );
    let c = client_with(&emu.base_url(), |c| {
        c.request_timeout = Duration::from_millis(150);
        c.retry.max_attempts = 2;
    });
    let err = c.check().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err:?}");
    // Latency within the timeout is only slow.
    emu.emulator().set_faults(
        Some("getuserdata"),
        FaultSpec {
            latency: Some(Latency::Uniform(
                Duration::from_millis(5),
                Duration::from_millis(20),
            )),
            ..Default::default()
        },
    );
    assert_eq!(c.check().await.unwrap(), 10);
}

#[tokio::test]
async fn a_page_failing_after_retries_fails_the_listing() {
    let emu = emulator(100, 3).await;
    let e = emu.emulator();
    // Half the requests fail and nothing is retried: whatever page fails, the listing is an
    // error, never a shorter list.
    e.set_faults(
        Some("getuserdata"),
        FaultSpec {
            http_500: Rate::share(0.5),
            ..Default::default()
        },
    );
    let c = client_with(&emu.base_url(), |c| {
        c.page_size = 10;
        c.retry.max_attempts = 1;
    });
    let mut failures = 0;
    for _ in 0..6 {
        match c.get_user_data(UserFilter::All).await {
            Ok(dir) => assert_eq!(dir.users.len(), 100),
            Err(err) => {
                assert!(matches!(err, Error::Http { status: 500, .. }), "{err:?}");
                failures += 1;
            }
        }
    }
    assert!(failures > 0);
    // With retries, flaky pages are absorbed and the listing is whole.
    e.set_faults(
        Some("getuserdata"),
        FaultSpec {
            http_500: Rate::share(0.2),
            drop: Rate::share(0.1),
            ..Default::default()
        },
    );
    let c = client_with(&emu.base_url(), |c| {
        c.page_size = 10;
        c.retry = lpgate_lastpass::RetryPolicy {
            max_attempts: 12,
            ..fast_retry()
        };
    });
    let dir = c.get_user_data(UserFilter::All).await.unwrap();
    assert_eq!(dir.users.len(), 100);
}
