//! Running the binary against an emulator in this process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lpgate_emulator::{CompanySpec, Credentials, Emulator, RunningEmulator};

pub const HASH: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const CID: u64 = 5550101;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub emu: RunningEmulator,
}

pub async fn env(users: usize) -> Env {
    // Generated history ends now, as it would for a real company synced today.
    let mut spec = CompanySpec::new(users, 77);
    spec.anchor = lpgate_domain::AccountZone::default().to_local(chrono::Utc::now());
    env_with(Emulator::generate(
        &spec,
        Credentials {
            cid: CID,
            provhash: HASH.into(),
        },
    ))
    .await
}

/// An account with no users, for tests that make every state themselves.
pub async fn env_empty() -> Env {
    env_with(Emulator::empty(Credentials {
        cid: CID,
        provhash: HASH.into(),
    }))
    .await
}

async fn env_with(emulator: Emulator) -> Env {
    let emu = emulator.start(([127, 0, 0, 1], 0).into()).await.unwrap();
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        emu,
    };
    std::fs::write(env.hash_file(), format!("{HASH}\n")).unwrap();
    env
}

impl Env {
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn hash_file(&self) -> PathBuf {
        self.dir.path().join("hash.txt")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lpgate"));
        c.arg("--data-dir").arg(self.data()).args(args);
        c.env_remove("LPGATE_MASTER_KEY").env_remove("LPGATE_LOG");
        c
    }

    /// Runs the binary off the async runtime's threads (the emulator lives on them).
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut c = self.cmd(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "lpgate {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub async fn json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(&a).await).unwrap()
    }

    /// `init` and `account add acme` against the emulator.
    pub async fn linked(&self) {
        self.ok(&["init"]).await;
        self.add_acme().await;
    }

    /// `account add acme` against the emulator (after `init`).
    pub async fn add_acme(&self) {
        let url = self.emu.base_url();
        let hash = self.hash_file();
        self.ok(&[
            "account",
            "add",
            "acme",
            "--cid",
            &CID.to_string(),
            "--provhash-file",
            path(&hash),
            "--url",
            &url,
        ])
        .await;
    }
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
