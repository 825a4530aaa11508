//! `lpgate bench`: measurements reported as figures for a benchmark script to compare with a
//! baseline measured in the same run (see `benches/`).

use std::time::Instant;

use anyhow::Context;
use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, ProvisioningHash, UserFilter};

use crate::cli::{FetchBenchArgs, SyncBenchArgs};

/// Fetches the whole directory `repeat` times and prints the times and the peak memory.
pub async fn fetch(args: FetchBenchArgs) -> anyhow::Result<()> {
    let hash = std::fs::read_to_string(&args.provhash_file)
        .with_context(|| format!("Failed to read {}", args.provhash_file.display()))?;
    let mut config = ClientConfig::new(
        BaseUrl::custom(&args.url)?,
        Cid::parse(&args.cid)?,
        ProvisioningHash::new(hash)?,
    );
    config.page_size = args.page_size;
    config.page_concurrency = args.concurrency;
    let client = Client::new(config)?;
    let mut times = Vec::new();
    let mut users = 0;
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        let dir = client.get_user_data(UserFilter::All).await?;
        times.push(started.elapsed().as_secs_f64());
        users = dir.users.len();
        drop(dir);
    }
    times.sort_by(f64::total_cmp);
    let best = times[0];
    let median = times[times.len() / 2];
    let rss = peak_rss_mb().unwrap_or(f64::NAN);
    eprintln!(
        "fetched {users} users: best {best:.3} s, median {median:.3} s over {} runs; peak RSS {rss:.1} MB",
        times.len()
    );
    println!(
        "bench=fetch users={users} best_s={best:.4} median_s={median:.4} peak_rss_mb={rss:.1}"
    );
    Ok(())
}

/// The process's peak resident set size (VmHWM), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Times the three syncs the targets name and checks the change rows are exact.
pub async fn sync(args: SyncBenchArgs) -> anyhow::Result<()> {
    use lpgate_domain::{AccountZone, ChangeKind};
    use lpgate_engine::{MasterKey, SyncOptions, sync_account};
    use lpgate_lastpass::GroupChange;
    use lpgate_store::{AccountEndpoint, NewAccount, Store};
    use lpgate_store_sqlite::SqliteStore;

    let hash = ProvisioningHash::new(
        std::fs::read_to_string(&args.provhash_file)
            .with_context(|| format!("Failed to read {}", args.provhash_file.display()))?,
    )?;
    let cid = Cid::parse(&args.cid)?;
    let client = Client::new(ClientConfig::new(
        BaseUrl::custom(&args.url)?,
        cid,
        hash.clone(),
    ))?;
    let dir = std::env::temp_dir().join(format!("lpgate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::open(dir.join("bench.sqlite")).await?;
    let key = MasterKey::generate();
    let account = store
        .add_account(NewAccount {
            name: "bench".into(),
            cid: cid.get(),
            endpoint: AccountEndpoint::Url(args.url.clone()),
            provhash_sealed: key.seal(&hash),
            time_zone: "America/New_York".into(),
            sync_interval_secs: 900,
            now: chrono::Utc::now(),
        })
        .await?;
    let options = SyncOptions::default();
    let zone = AccountZone::default();
    let run = |label: &'static str| {
        let (store, client, account, options) = (&store, &client, &account, &options);
        async move {
            let started = Instant::now();
            let report = sync_account(
                store,
                client,
                account,
                zone,
                options,
                chrono::Utc::now,
                |_| {},
            )
            .await?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "{label}: {:.3} s — {} users, {} groups, {} folders, {} events, {} changes",
                secs,
                report.run.users,
                report.run.groups,
                report.run.folders,
                report.run.events,
                report.run.changes
            );
            anyhow::Ok((secs, report))
        }
    };
    let (first, _) = run("first sync").await?;
    let rss_first = peak_rss_mb().unwrap_or(f64::NAN);
    let (resync, r2) = run("resync, no change").await?;
    anyhow::ensure!(
        r2.run.changes == 0,
        "a resync with no change wrote {} change rows",
        r2.run.changes
    );

    // Change `churn` of the users through the real API: each joins a new group (named for this
    // process, so runs against the same emulator stay comparable).
    let churn_group = format!("Bench Churn {}", std::process::id());
    let users = store.list_users(Default::default()).await?;
    let n = ((users.len() as f64) * args.churn).round() as usize;
    let changes: Vec<GroupChange> = users
        .iter()
        .filter(|u| u.lastpass_id.is_some() && u.status != "deprovisioned")
        .step_by((users.len() / n.max(1)).max(1))
        .take(n)
        .map(|u| GroupChange {
            username: u.email.clone(),
            add: vec![churn_group.clone()],
            del: vec![],
        })
        .collect();
    let changed = changes.len();
    for chunk in changes.chunks(1000) {
        let out = client.batch_change_groups(chunk).await?;
        anyhow::ensure!(out.is_clean(), "batchchangegrp warned: {:?}", out.warnings);
    }
    let (churn, r3) = run("resync, churn").await?;
    let added = r3
        .changes_by_kind
        .get(&ChangeKind::GroupMemberAdded)
        .copied()
        .unwrap_or(0);
    let created = r3
        .changes_by_kind
        .get(&ChangeKind::GroupCreated)
        .copied()
        .unwrap_or(0);
    anyhow::ensure!(
        added == changed && created == 1 && r3.run.changes as usize == changed + 1,
        "expected exactly {changed} group.member_added and 1 group.created, got {:?}",
        r3.changes_by_kind
    );
    let rss = peak_rss_mb().unwrap_or(f64::NAN);
    drop(store);
    if std::env::var_os("LPGATE_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "bench=sync users={} first_s={first:.4} first_peak_rss_mb={rss_first:.1} resync_s={resync:.4} churn_users={changed} churn_s={churn:.4} churn_changes={} peak_rss_mb={rss:.1}",
        users.len(),
        r3.run.changes
    );
    Ok(())
}
