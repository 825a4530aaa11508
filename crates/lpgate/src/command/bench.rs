//! `lpgate bench`: measurements reported as figures for a benchmark script to compare with a
//! baseline measured in the same run (see `benches/`).

use std::time::Instant;

use anyhow::Context;
use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, ProvisioningHash, UserFilter};

use crate::cli::FetchBenchArgs;

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
