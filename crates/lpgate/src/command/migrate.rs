//! `lpgate migrate --from sqlite:PATH --to postgres://…`: copies an installation's store into
//! another store, table by table, keeping every row, id and audit hash.

use anyhow::{Context as _, bail};

use crate::cli::{GlobalArgs, MigrateArgs};
use crate::context::StoreUrl;

/// Copies every table of the source store into the (empty) target store.
pub async fn run(_global: &GlobalArgs, a: MigrateArgs) -> anyhow::Result<()> {
    let from = StoreUrl::parse(&a.from)?;
    let to = StoreUrl::parse(&a.to)?;
    let (StoreUrl::Sqlite(path), StoreUrl::Postgres(url)) = (&from, &to) else {
        bail!(crate::command::UsageError(format!(
            "lpgate migrate copies a SQLite store into PostgreSQL (--from sqlite:PATH --to postgres://…); got {from} → {to}"
        )));
    };
    if !path.exists() {
        bail!("{from}: no such store file");
    }
    let counts = lpgate_store_postgres::migrate::copy_from_sqlite(path, url)
        .await
        .with_context(|| format!("Failed to copy {from} into {to}"))?;
    for (table, n) in &counts {
        eprintln!("{table}: {n} rows");
    }
    println!(
        "copied {} rows of {} tables from {from} to {to}",
        counts.iter().map(|(_, n)| n).sum::<u64>(),
        counts.len()
    );
    Ok(())
}
