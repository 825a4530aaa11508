//! `lpgate bench`: measurements reported as figures for a benchmark script to compare with a
//! baseline measured in the same run (see `benches/`).

use std::time::Instant;

use anyhow::Context;
use lpgate_lastpass::{BaseUrl, Cid, Client, ClientConfig, ProvisioningHash, UserFilter};

use crate::cli::{FetchBenchArgs, GlobalArgs, SyncBenchArgs};
use crate::context::{OpenStore, StoreUrl};

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

/// CPU seconds (user and system) the whole process has used, all threads counted, including
/// ended ones: a steadier figure than wall time on a shared machine, for comparing builds.
/// `/proc/self/stat` counts in clock ticks, which Linux fixes at 100 a second (USER_HZ).
fn cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Times the three syncs the targets name and checks the change rows are exact.
pub async fn sync<S: OpenStore>(global: &GlobalArgs, args: SyncBenchArgs) -> anyhow::Result<()> {
    use lpgate_domain::{AccountZone, ChangeKind};
    use lpgate_engine::{SyncOptions, sync_account};
    use lpgate_lastpass::GroupChange;

    let (dir, store, client, account) = setup::<S>(global, &args).await?;
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
    let cpu_before = cpu_s().unwrap_or(f64::NAN);
    let (first, _) = run("first sync").await?;
    let first_cpu = cpu_s().unwrap_or(f64::NAN) - cpu_before;
    let rss_synced = peak_rss_mb().unwrap_or(f64::NAN);
    // The search index is built just after the snapshot commits, off the sync's path; the
    // resyncs are measured once it is done (as they would run minutes later).
    let t = Instant::now();
    OpenStore::settled(&store).await?;
    let index_s = t.elapsed().as_secs_f64();
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
        "bench=sync users={} first_s={first:.4} first_cpu_s={first_cpu:.2} search_index_s={index_s:.4} first_peak_rss_mb={rss_first:.1} synced_peak_rss_mb={rss_synced:.1} resync_s={resync:.4} churn_users={changed} churn_s={churn:.4} churn_changes={} peak_rss_mb={rss:.1}",
        users.len(),
        r3.run.changes
    );
    Ok(())
}

/// [`setup`], then a first sync of the account (its search index may still be building).
async fn setup_synced<S: OpenStore>(
    global: &GlobalArgs,
    args: &SyncBenchArgs,
) -> anyhow::Result<(std::path::PathBuf, S, Client, lpgate_store::AccountRow)> {
    let (dir, store, client, account) = setup::<S>(global, args).await?;
    lpgate_engine::sync_account(
        &store,
        &client,
        &account,
        lpgate_domain::AccountZone::default(),
        &lpgate_engine::SyncOptions::default(),
        chrono::Utc::now,
        |_| {},
    )
    .await?;
    Ok((dir, store, client, account))
}

/// A store with one account pointing at the benchmark's endpoint: a temporary SQLite file,
/// or the (empty) database `--store` names.
async fn setup<S: OpenStore>(
    global: &GlobalArgs,
    args: &SyncBenchArgs,
) -> anyhow::Result<(std::path::PathBuf, S, Client, lpgate_store::AccountRow)> {
    use lpgate_engine::MasterKey;
    use lpgate_store::{AccountEndpoint, NewAccount};

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
    let url = match global.store.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => StoreUrl::parse(s)?,
        None => StoreUrl::Sqlite(dir.join("bench.sqlite")),
    };
    let store = S::open_url(&url).await?;
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
    Ok((dir, store, client, account))
}

/// Syncs the company once, then measures free-text searches (a mix of name prefixes, full
/// names and address words taken from the stored users) and the built-in rules. Leaves the
/// store in place when LPGATE_BENCH_KEEP is set, for a baseline to query the same index.
pub async fn watch<S: OpenStore>(global: &GlobalArgs, args: SyncBenchArgs) -> anyhow::Result<()> {
    use lpgate_engine::rules::{self, RuleConfig};

    let (dir, store, _client, account) = setup_synced::<S>(global, &args).await?;
    // The index is built just after the first snapshot commits: wait for it.
    let waited = Instant::now();
    while store.search("a".into(), None, 1).await?.is_empty() {
        anyhow::ensure!(
            waited.elapsed().as_secs() < 60,
            "the search index never appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let index_wait = waited.elapsed().as_secs_f64();

    let (times, hits, queries) = search_latency(&store, 400).await?;
    let (median, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    // The baseline of benches/watch.sh runs the same queries.
    std::fs::write(dir.join("queries.txt"), queries.join("\n"))?;

    let config = RuleConfig::default();
    let routing = Default::default();
    let t = Instant::now();
    let first = rules::check_account(
        &store,
        account.id,
        "bench",
        &config,
        &routing,
        chrono::Utc::now(),
    )
    .await?;
    let rules_first = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = rules::check_account(
        &store,
        account.id,
        "bench",
        &config,
        &routing,
        chrono::Utc::now(),
    )
    .await?;
    let rules_again = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        again.opened == 0 && again.resolved == 0,
        "a second evaluation changed findings: {again:?}"
    );
    drop(store);
    if std::env::var_os("LPGATE_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "bench=watch searches={} hits={hits} search_median_ms={median:.3} search_p99_ms={p99:.3} index_wait_s={index_wait:.3} rules_first_s={rules_first:.4} rules_again_s={rules_again:.4} findings={} dir={}",
        times.len(),
        first.opened,
        dir.display()
    );
    Ok(())
}

/// Queries a person would type, taken from the stored users themselves (deterministic: users
/// whose LastPass id is a multiple of 97, at most `samples`): three-letter first-name
/// prefixes, full names, surnames and address words in turn.
async fn search_queries<S: OpenStore>(store: &S, samples: usize) -> anyhow::Result<Vec<String>> {
    use lpgate_store::QueryRequest;
    let sample = store
        .query(QueryRequest {
            sql: format!(
                "SELECT fullname, email FROM users WHERE CAST(lastpass_id AS INTEGER) % 97 = 0 LIMIT {samples}"
            ),
            ..Default::default()
        })
        .await?;
    let mut queries = Vec::new();
    for (i, row) in sample.rows.iter().enumerate() {
        let name = row[0].as_str().unwrap_or_default().to_lowercase();
        let email = row[1].as_str().unwrap_or_default().to_lowercase();
        let words: Vec<&str> = name.split_whitespace().collect();
        let q = match i % 4 {
            0 => words
                .first()
                .map(|w| w.chars().take(3).collect())
                .unwrap_or_default(),
            1 => name.clone(),
            2 => words.last().map(|w| w.to_string()).unwrap_or_default(),
            _ => email.split('@').next().unwrap_or_default().to_string(),
        };
        if !q.trim().is_empty() {
            queries.push(q);
        }
    }
    Ok(queries)
}

/// Runs each query three times through `Store::search` (top 20, every account); returns the
/// sorted latencies in milliseconds, the hits seen and the queries.
async fn search_latency<S: OpenStore>(
    store: &S,
    samples: usize,
) -> anyhow::Result<(Vec<f64>, usize, Vec<String>)> {
    let queries = search_queries(store, samples).await?;
    anyhow::ensure!(!queries.is_empty(), "no users to take queries from");
    let mut times = Vec::with_capacity(queries.len() * 3);
    let mut hits = 0usize;
    for _ in 0..3 {
        for q in &queries {
            let t = Instant::now();
            hits += store.search(q.clone(), None, 20).await?.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok((times, hits, queries))
}

/// The `p` quantile (0..=1) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Measures free-text search over the installation's store as it is, every account at once.
pub async fn search<S: OpenStore>(
    global: &GlobalArgs,
    args: crate::cli::SearchBenchArgs,
) -> anyhow::Result<()> {
    let store = S::open_url(&StoreUrl::from_args(global)?).await?;
    OpenStore::settled(&store).await?;
    let users = store
        .query(lpgate_store::QueryRequest {
            sql: "SELECT COUNT(*) FROM users".into(),
            ..Default::default()
        })
        .await?;
    let users = users.rows.first().and_then(|r| r[0].as_i64()).unwrap_or(0);
    let (times, hits, _) = search_latency(&store, args.samples).await?;
    println!(
        "bench=search users={users} searches={} hits={hits} search_median_ms={:.3} search_p99_ms={:.3}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
    );
    Ok(())
}

/// Syncs the company, then plans adding 10,000 users (or `churn` of them, whichever is
/// smaller) to a new group and applies the plan with the rate limit lifted; prints how long
/// planning and applying took.
pub async fn act<S: OpenStore>(global: &GlobalArgs, args: SyncBenchArgs) -> anyhow::Result<()> {
    use lpgate_domain::{Action, ActionKind, ActionParams, SafetyLimits};
    use lpgate_engine::act::{self, ApplyPolicy, PlanRequest};

    let (dir, store, client, account) = setup_synced::<S>(global, &args).await?;
    OpenStore::settled(&store).await?;
    let group = format!("Bench Act {}", std::process::id());
    let users = store.list_users(Default::default()).await?;
    let targets: Vec<Action> = users
        .iter()
        .filter(|u| u.status == "active")
        .take(10_000)
        .map(|u| Action {
            kind: ActionKind::AddToGroup,
            email: u.email.clone(),
            params: ActionParams {
                groups: vec![group.clone()],
                ..ActionParams::default()
            },
        })
        .collect();
    let n = targets.len();
    let routing = Default::default();
    let t = Instant::now();
    let (plan, items) = act::make_plan(
        &store,
        PlanRequest {
            account: account.clone(),
            actions: targets,
            actor: "bench".into(),
            source: "bench".into(),
            allow_admins: false,
            exclude: Vec::new(),
            limits: SafetyLimits::default(),
        },
        &routing,
        chrono::Utc::now(),
    )
    .await?;
    let plan_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        items.len() == n && plan.pending as usize == n,
        "plan has {} pending of {n}",
        plan.pending
    );
    let policy = ApplyPolicy {
        requests_per_sec: 1000.0,
        ..ApplyPolicy::default()
    };
    let t = Instant::now();
    let report = act::apply_plan(
        &store,
        &client,
        plan.id,
        "bench",
        &policy,
        &routing,
        &chrono::Utc::now,
    )
    .await?;
    let apply_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(report.done == n && report.failed == 0, "apply: {report:?}");
    let members = store
        .list_users(lpgate_store::UserQuery {
            group: Some(group.clone()),
            ..Default::default()
        })
        .await?
        .len();
    anyhow::ensure!(
        members == n,
        "{members} of {n} users are in the group in the store"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "bench=act users={n} plan_s={plan_s:.4} apply_s={apply_s:.4} batches={} changes={}",
        n.div_ceil(policy.batch_size),
        report.changes
    );
    Ok(())
}
