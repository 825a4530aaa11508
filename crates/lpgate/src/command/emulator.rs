//! `lpgate emulator`: the LastPass Enterprise API emulator as a process of its own, for
//! scripts, benchmarks and the Python baseline.

use std::io::Write;

use anyhow::Context;
use chrono::Utc;
use lpgate_emulator::{CompanySpec, Credentials, Emulator, FaultSpec, Fleet, Latency};

use crate::cli::EmulatorArgs;

/// Generates the company, serves it, prints the ready line, and runs until interrupted.
pub async fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let provhash = match args.provhash {
        Some(h) => h,
        None => random_hex(32).context("Failed to create a provisioning hash")?,
    };
    let spec_for = |seed: u64| {
        let mut spec = CompanySpec::new(args.users, seed);
        if let Some(g) = args.groups {
            spec.groups = g;
        }
        if let Some(f) = args.folders {
            spec.folders = f;
        }
        spec.events = args.events.or(spec.events);
        // Dates are generated relative to now (US/Eastern wall time, as LastPass reports it),
        // so "inactive for 90 days" means what it says and new events follow the generated ones.
        spec.anchor = lpgate_domain::AccountZone::default().to_local(Utc::now());
        spec
    };
    let faults = args.latency_ms.map(|ms| FaultSpec {
        latency: Some(Latency::Fixed(std::time::Duration::from_millis(ms))),
        ..FaultSpec::default()
    });
    let company = |i: u64| {
        let creds = Credentials {
            cid: args.cid + i,
            provhash: provhash.clone(),
        };
        let emulator = Emulator::generate(&spec_for(args.seed + i), creds);
        if let Some(f) = &faults {
            emulator.set_faults(None, f.clone());
        }
        emulator
    };
    let mut stdout = std::io::stdout();
    if args.companies > 1 {
        let running = Fleet::new((0..args.companies).map(company))
            .start(args.bind)
            .await
            .with_context(|| format!("Failed to listen on {}", args.bind))?;
        // The ready line names the first company; the others follow it (cid + i).
        writeln!(
            stdout,
            "emulator listening on {} cid={} provhash={}",
            running.base_url(),
            args.cid,
            provhash
        )?;
        stdout.flush()?;
        shutdown_signal().await;
        running.shutdown().await;
        return Ok(());
    }
    let running = company(0)
        .start(args.bind)
        .await
        .with_context(|| format!("Failed to listen on {}", args.bind))?;
    writeln!(
        stdout,
        "emulator listening on {} cid={} provhash={}",
        running.base_url(),
        args.cid,
        provhash
    )?;
    stdout.flush()?;
    shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `n` random bytes from the operating system, as lowercase hex.
pub fn random_hex(n: usize) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
