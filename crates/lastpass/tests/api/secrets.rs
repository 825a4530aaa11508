//! The provisioning hash never appears in an error, a log line, a `Debug` dump or a panic.

use std::io::Write;
use std::sync::{Arc, Mutex};

use lpgate_emulator::{FaultSpec, Rate};
use lpgate_lastpass::{Client, DeleteAction, NewUser, ProvisioningHash, UserFilter};

use crate::helpers::{HASH, config, emulator};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn hash_never_leaks() {
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = emulator(20, 1).await;
    let e = emu.emulator();
    let cfg = config(&emu.base_url());
    let client = Client::new(cfg.clone()).unwrap();
    let mut texts = vec![format!("{cfg:?}"), format!("{client:?}")];

    // Successful calls, retried calls, failed calls of every kind.
    client.get_user_data(UserFilter::All).await.unwrap();
    e.set_faults(
        None,
        FaultSpec {
            http_500: Rate::next(1),
            truncate: Rate::next(1),
            drop: Rate::next(1),
            ..Default::default()
        },
    );
    client.get_user_data(UserFilter::All).await.unwrap();
    e.set_faults(
        None,
        FaultSpec {
            truncate: Rate::share(1.0),
            ..Default::default()
        },
    );
    texts.push(format!(
        "{:?}",
        client
            .batch_add(&[NewUser::new("a@example.com")])
            .await
            .unwrap_err()
    ));
    e.clear_faults();
    for err in [
        client
            .delete_user("ghost@example.com", DeleteAction::Delete)
            .await
            .unwrap_err(),
        client
            .batch_add(&[NewUser::new("bad email")])
            .await
            .unwrap_err(),
    ] {
        texts.push(err.to_string());
        texts.push(format!("{err:?}"));
    }
    e.rotate_provhash();
    let err = client.check().await.unwrap_err();
    texts.push(err.to_string());
    texts.push(format!("{err:?}"));
    let err = ProvisioningHash::new(format!("{HASH} x")).unwrap_err();
    texts.push(format!("{err} {err:?}"));

    // A panic message built from the client and an error.
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        panic!("sync failed: {client:?} {err:?}");
    }))
    .unwrap_err();
    texts.push(panic.downcast_ref::<String>().cloned().unwrap_or_default());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "logs were captured: {logs}");
    texts.push(logs);
    for t in &texts {
        assert!(!t.contains(HASH), "hash leaked in: {t}");
        assert!(!t.contains(&HASH[..16]), "part of the hash leaked in: {t}");
    }
}
