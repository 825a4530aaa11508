//! A test bed: an emulated company, a fresh store of either backend, an account linked to it.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use lpgate_domain::AccountZone;
use lpgate_emulator::{CompanySpec, Credentials, Emulator, RunningEmulator};
use lpgate_engine::{MasterKey, SyncError, SyncOptions, SyncReport, sync_account};
use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, ProvisioningHash, RetryPolicy};
use lpgate_store::{AccountEndpoint, AccountRow, NewAccount};
use lpgate_store_testkit::TestStore;

pub const HASH: &str = "9d6c1f0e2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5";

pub struct Bed<S> {
    pub emu: RunningEmulator,
    pub store: S,
    pub account: AccountRow,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub key: MasterKey,
}

pub fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

pub fn client_for(base: &str, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut c = ClientConfig::new(
        BaseUrl::custom(base).unwrap(),
        Cid::new(424242),
        ProvisioningHash::new(HASH).unwrap(),
    );
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    };
    c.page_size = 50;
    tweak(&mut c);
    Client::new(c).unwrap()
}

/// `None` when the backend's tests are skipped (`LPGATE_TEST_POSTGRES=skip`).
pub async fn bed<S: TestStore>(users: usize, seed: u64) -> Option<Bed<S>> {
    let fresh = S::fresh().await?;
    let spec = CompanySpec::new(users, seed);
    let emu = Emulator::generate(
        &spec,
        Credentials {
            cid: 424242,
            provhash: HASH.into(),
        },
    )
    .start(([127, 0, 0, 1], 0).into())
    .await
    .unwrap();
    let (store, dir) = (fresh.store, fresh.dir);
    let key = MasterKey::generate();
    let account = store
        .add_account(NewAccount {
            name: "acme".into(),
            cid: 424242,
            endpoint: AccountEndpoint::Url(emu.base_url()),
            provhash_sealed: key.seal(&ProvisioningHash::new(HASH).unwrap()),
            time_zone: "America/New_York".into(),
            sync_interval_secs: 900,
            now: t(1, 0),
        })
        .await
        .unwrap();
    let client = client_for(&emu.base_url(), |_| {});
    Some(Bed {
        emu,
        store,
        account,
        client,
        dir,
        key,
    })
}

impl<S: TestStore> Bed<S> {
    pub async fn sync_at(&self, at: DateTime<Utc>) -> Result<SyncReport, SyncError> {
        self.sync_with(at, &self.client, &SyncOptions::default())
            .await
    }

    pub async fn sync_with(
        &self,
        at: DateTime<Utc>,
        client: &Client,
        options: &SyncOptions,
    ) -> Result<SyncReport, SyncError> {
        sync_account(
            &self.store,
            client,
            &self.account,
            AccountZone::default(),
            options,
            move || at,
            |_| {},
        )
        .await
    }

    pub fn emulator(&self) -> &Emulator {
        self.emu.emulator()
    }

    /// The emulator's company members plus pending invitations without an account.
    pub fn expected_users(&self) -> usize {
        let v = self.emulator().view();
        let members: std::collections::HashSet<String> =
            v.users.iter().map(|u| u.username.clone()).collect();
        v.users.len() + v.invited.iter().filter(|i| !members.contains(*i)).count()
    }
}
