//! `--store postgres://…` and `lpgate migrate`: the same commands on the PostgreSQL store,
//! and an installation moved from SQLite with every table's rows intact.

use lpgate_store_postgres::migrate::TABLES;
use lpgate_store_testkit::{fresh_database, server_url};

use crate::helpers::{env, path};

/// A fresh PostgreSQL database's URL; `None` when the PostgreSQL tests are skipped.
async fn database() -> Option<String> {
    Some(fresh_database(&server_url()?).await)
}

#[tokio::test]
async fn every_command_runs_on_a_postgres_store() {
    let Some(url) = database().await else {
        return;
    };
    let e = env(60).await;
    e.ok(&["--store", &url, "init"]).await;
    let hash = e.hash_file();
    let base = e.emu.base_url();
    e.ok(&[
        "--store",
        &url,
        "account",
        "add",
        "acme",
        "--cid",
        &crate::helpers::CID.to_string(),
        "--provhash-file",
        path(&hash),
        "--url",
        &base,
    ])
    .await;
    let first = e.json(&["--store", &url, "sync", "acme"]).await;
    assert_eq!(first[0]["outcome"], "succeeded");
    assert_eq!(first[0]["users"], 60);
    let users = e.json(&["--store", &url, "users"]).await;
    assert!(users.len() >= 60);
    let admins = e
        .json(&[
            "--store",
            &url,
            "query",
            "SELECT email FROM users WHERE admin = 1",
        ])
        .await;
    let view = e.emu.emulator().view();
    assert_eq!(admins.len(), view.users.iter().filter(|u| u.admin).count());
    // Nothing was written to the data directory's SQLite file.
    assert!(!e.data().join("lpgate.sqlite").exists());
    // The environment variable works as the option does.
    let out = e
        .cmd(&["users", "--format", "json"])
        .env("LPGATE_STORE", &url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let via_env: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(via_env, users);
    let bad = e.run(&["--store", "mysql://x", "users"]).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

/// Every copied table's rows, as text, from the SQLite file.
fn sqlite_rows(
    file: &std::path::Path,
    table: &str,
    columns: &[(String, String)],
) -> Vec<Vec<String>> {
    use rusqlite::types::Value;
    let db = rusqlite::Connection::open(file).unwrap();
    let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
    let order: Vec<String> = (1..=names.len()).map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT {} FROM {table} ORDER BY {}",
        names.join(", "),
        order.join(", ")
    );
    let mut stmt = db.prepare(&sql).unwrap();
    stmt.query_map([], |r| {
        Ok((0..names.len())
            .map(|i| match r.get::<_, Value>(i).unwrap() {
                Value::Null => "NULL".to_string(),
                Value::Integer(v) => v.to_string(),
                Value::Real(v) => v.to_string(),
                Value::Text(t) => t,
                Value::Blob(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
            })
            .collect())
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[tokio::test]
async fn migrate_copies_every_table_row_for_row() {
    let Some(url) = database().await else {
        return;
    };
    let e = env(80).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let view = e.emu.emulator().view();
    let target = view
        .users
        .iter()
        .find(|u| !u.admin && !u.disabled)
        .unwrap()
        .username
        .clone();
    e.emu.emulator().set_admin(&target, true).unwrap();
    e.ok(&["sync", "acme"]).await;
    e.ok(&["rules", "check"]).await;
    e.ok(&["token", "create", "ci", "--scope", "read"]).await;
    let plan = e
        .run(&["plan", "suspend", &target, "--account", "acme"])
        .await;
    assert!(
        plan.status.success() || plan.status.code() == Some(3),
        "{plan:?}"
    );
    let sqlite_users = e.json(&["users"]).await;
    let sqlite_audit = e.json(&["audit"]).await;

    let file = e.data().join("lpgate.sqlite");
    let from = format!("sqlite:{}", file.display());
    e.ok(&["migrate", "--from", &from, "--to", &url]).await;

    let (pg, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut nonempty = 0;
    for table in TABLES {
        let cols: Vec<(String, String)> = pg
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
                   AND data_type <> 'tsvector'
                 ORDER BY ordinal_position",
                &[table],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let select: Vec<String> = cols
            .iter()
            .map(|(c, t)| match t.as_str() {
                "boolean" => format!("COALESCE(({c})::int::text, 'NULL')"),
                "bytea" => format!("COALESCE(encode({c}, 'hex'), 'NULL')"),
                _ => format!("COALESCE(({c})::text, 'NULL')"),
            })
            .collect();
        // Order by the columns themselves (not their text), as the SQLite side does.
        let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        let rows: Vec<Vec<String>> = pg
            .query(
                &format!(
                    "SELECT {} FROM {table} ORDER BY {}",
                    select.join(", "),
                    names.join(", ")
                ),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (0..cols.len()).map(|i| r.get::<_, String>(i)).collect())
            .collect();
        let expected = sqlite_rows(&file, table, &cols);
        assert_eq!(rows, expected, "table {table}");
        if !rows.is_empty() {
            nonempty += 1;
        }
    }
    assert!(
        nonempty >= 12,
        "the installation filled only {nonempty} tables"
    );
    // Users' search vectors are not in SQLite's rows: the copy computes them.
    let unindexed: i64 = pg
        .query_one("SELECT COUNT(*) FROM users WHERE search IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(unindexed, 0);
    // The copy reads the same through the command line, and continues the audit chain.
    assert_eq!(e.json(&["--store", &url, "users"]).await, sqlite_users);
    assert_eq!(e.json(&["--store", &url, "audit"]).await, sqlite_audit);
    e.ok(&["--store", &url, "audit", "verify"]).await;
    e.ok(&["--store", &url, "sync", "acme"]).await;
    // A second migrate into the same database is refused.
    let again = e.run(&["migrate", "--from", &from, "--to", &url]).await;
    assert!(!again.status.success());
}

/// Three `lpgate serve` workers on one PostgreSQL store share the schedule of 200 accounts:
/// every account is synced, none twice within its interval, and one worker killed with
/// SIGKILL in the middle of the run loses nothing (its claims are taken over when their
/// lease ends, and the run it was in is recorded as interrupted).
#[tokio::test]
async fn workers_sharing_a_postgres_store_sync_each_account_once() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    const ACCOUNTS: usize = 200;
    let Some(url) = database().await else {
        return;
    };
    let e = env(5).await;
    e.ok(&["--store", &url, "init"]).await;
    let hash = e.hash_file();
    let base = e.emu.base_url();
    let cid = crate::helpers::CID.to_string();
    let names: Vec<String> = (0..ACCOUNTS).map(|i| format!("client-{i:03}")).collect();
    // Added eight at a time; an interval of two minutes makes the lease one minute, so the
    // dead worker's claims come back within the test and nothing is due twice before it ends.
    for chunk in names.chunks(8) {
        let children: Vec<_> = chunk
            .iter()
            .map(|name| {
                e.cmd(&[
                    "--store",
                    &url,
                    "account",
                    "add",
                    name,
                    "--cid",
                    &cid,
                    "--provhash-file",
                    path(&hash),
                    "--url",
                    &base,
                    "--interval-secs",
                    "120",
                    "--no-check",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for child in children {
            let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "account add failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let count = || async {
        e.json(&[
            "--store",
            &url,
            "query",
            "SELECT account, COUNT(*) AS runs,
                    SUM(CASE WHEN outcome = 'succeeded' THEN 1 ELSE 0 END) AS ok,
                    SUM(CASE WHEN outcome = 'interrupted' THEN 1 ELSE 0 END) AS interrupted,
                    SUM(CASE WHEN outcome = 'running' THEN 1 ELSE 0 END) AS running
             FROM sync_runs GROUP BY account ORDER BY account",
        ])
        .await
    };
    let mut workers = Vec::new();
    for _ in 0..3 {
        let mut cmd = e.cmd(&["--store", &url, "serve", "--bind", "127.0.0.1:0"]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        assert!(line.starts_with("lpgate serving on "), "{line:?}");
        workers.push(child);
    }
    // The first worker dies mid-run, whatever it holds: once the three have started some
    // syncs, and before they have finished them all.
    let started = Instant::now();
    loop {
        let runs: i64 = count()
            .await
            .iter()
            .filter_map(|r| r["runs"].as_i64())
            .sum();
        if runs >= 20 {
            assert!(
                runs < ACCOUNTS as i64,
                "the run ended before the kill: {runs} runs"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the workers did not start syncing: {runs} runs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    workers[0].kill().unwrap();
    let _ = workers[0].wait();
    let killed_at = Instant::now();
    loop {
        let rows = count().await;
        if rows.len() == names.len() && rows.iter().all(|r| r["ok"].as_i64() >= Some(1)) {
            break;
        }
        // A claim the killed worker held ends with its lease (one minute), and the next
        // tick of a live worker (five seconds) takes it.
        assert!(
            killed_at.elapsed() < Duration::from_secs(150),
            "not every account was synced: {:?}",
            rows.iter()
                .filter(|r| r["ok"].as_i64() < Some(1))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Two more scheduler ticks, then the live workers stop gracefully (finishing the syncs
    // they are in). Nothing was synced twice within its interval (on a loaded machine the
    // run may outlast the two minutes: a second sync is then due, and fine), no run is left
    // running, and the runs that did not succeed are those the kill cut short.
    tokio::time::sleep(Duration::from_secs(11)).await;
    for w in workers.into_iter().skip(1) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status();
        let status = tokio::task::spawn_blocking(move || w.wait_with_output())
            .await
            .unwrap()
            .unwrap()
            .status;
        assert!(status.success(), "a worker stopped with {status}");
    }
    let rows = count().await;
    assert_eq!(rows.len(), ACCOUNTS);
    let mut cut = 0;
    for r in &rows {
        assert_eq!(r["running"], 0, "{r:?}");
        let interrupted = r["interrupted"].as_i64().unwrap();
        assert_eq!(
            r["runs"].as_i64().unwrap(),
            r["ok"].as_i64().unwrap() + interrupted,
            "{r:?}"
        );
        cut += interrupted;
    }
    // A worker is in at most `[serve] sync_concurrency` (6) syncs when it dies.
    assert!(cut <= 6, "{cut} runs were interrupted");
    let runs = e
        .json(&[
            "--store",
            &url,
            "query",
            "SELECT account, started_at FROM sync_runs WHERE outcome = 'succeeded'
             ORDER BY account, started_at",
        ])
        .await;
    let started = |r: &serde_json::Value| {
        chrono::NaiveDateTime::parse_from_str(
            r["started_at"].as_str().unwrap(),
            "%Y-%m-%d %H:%M:%S",
        )
        .unwrap()
    };
    for pair in runs.windows(2) {
        if pair[0]["account"] == pair[1]["account"] {
            let gap = started(&pair[1]) - started(&pair[0]);
            assert!(
                gap >= chrono::Duration::seconds(119),
                "{} was synced twice {gap} apart, within its two-minute interval",
                pair[0]["account"]
            );
        }
    }
}

/// `lpgate sync --all` syncs several accounts at once on PostgreSQL and one after another on
/// SQLite: with every LastPass call held for 1.2 s, the PostgreSQL runs overlap in time (each
/// starts before any ends), and the SQLite runs do not.
#[tokio::test]
async fn lpgate_sync_runs_accounts_at_once_on_postgresql() {
    use lpgate_emulator::{FaultSpec, Latency};
    use std::time::Duration;

    let Some(url) = database().await else {
        return;
    };
    let e = env(5).await;
    e.ok(&["init"]).await;
    e.ok(&["--store", &url, "init"]).await;
    let hash = e.hash_file();
    let base = e.emu.base_url();
    let cid = crate::helpers::CID.to_string();
    let stores = [None, Some(url.as_str())];
    for store in stores {
        for name in ["client-a", "client-b", "client-c"] {
            let mut args = store.map_or(vec![], |u| vec!["--store", u]);
            args.extend([
                "account",
                "add",
                name,
                "--cid",
                &cid,
                "--provhash-file",
                path(&hash),
                "--url",
                &base,
                "--no-check",
            ]);
            e.ok(&args).await;
        }
    }
    e.emu.emulator().set_faults(
        None,
        FaultSpec {
            latency: Some(Latency::Fixed(Duration::from_millis(1200))),
            ..FaultSpec::default()
        },
    );
    for store in stores {
        let with = |rest: &[&'static str]| {
            let mut args = store.map_or(vec![], |u| vec!["--store", u]);
            args.extend(rest);
            args
        };
        let synced = e.json(&with(&["sync", "--all"])).await;
        let names: Vec<&str> = synced
            .iter()
            .map(|r| r["account"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["client-a", "client-b", "client-c"], "{store:?}");
        assert!(
            synced.iter().all(|r| r["outcome"] == "succeeded"),
            "{synced:?}"
        );
        let runs = e
            .json(&with(&[
                "query",
                "SELECT account, started_at, finished_at FROM sync_runs ORDER BY started_at",
            ]))
            .await;
        assert_eq!(runs.len(), 3, "{runs:?}");
        let text = |r: &serde_json::Value, k: &str| r[k].as_str().unwrap().to_string();
        let last_start = runs.iter().map(|r| text(r, "started_at")).max().unwrap();
        let first_end = runs.iter().map(|r| text(r, "finished_at")).min().unwrap();
        // Times are to the second; each sync waits at least 1.2 s on LastPass.
        if store.is_some() {
            assert!(
                last_start < first_end,
                "PostgreSQL runs did not overlap: {runs:?}"
            );
        } else {
            assert!(last_start >= first_end, "SQLite runs overlapped: {runs:?}");
        }
    }
}
