//! `lpgate demo`: the newcomer's first run. An emulated LastPass company on loopback, linked
//! as an account, synced into a temporary store through the same client and engine a real
//! account uses; then the company changes and a second sync shows exactly what changed.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use lpgate_domain::AccountZone;
use lpgate_emulator::{CompanySpec, Credentials, Emulator};
use lpgate_engine::{MasterKey, SyncOptions, sync_account};
use lpgate_lastpass::{
    BaseUrl, Cid, Client, ClientConfig, DeleteAction, NewUser, ProvisioningHash,
};
use lpgate_store::{AccountEndpoint, NewAccount, Store, UserQuery};
use lpgate_store_sqlite::SqliteStore;

use crate::cli::DemoArgs;
use crate::command::emulator::random_hex;
use crate::output::Table;

const DEMO_CID: u64 = 8771312;

/// Runs the demo end to end and prints what it did.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let zone = AccountZone::default();
    let provhash = random_hex(32).context("Failed to create a provisioning hash")?;
    let mut spec = CompanySpec::new(args.users, args.seed);
    spec.anchor = zone.to_local(Utc::now());
    let emulator = Emulator::generate(
        &spec,
        Credentials {
            cid: DEMO_CID,
            provhash: provhash.clone(),
        },
    );
    let running = emulator
        .start(([127, 0, 0, 1], 0).into())
        .await
        .context("Failed to start the emulator on 127.0.0.1")?;
    let url = running.base_url();
    println!("lpgate demo");
    println!("===========");
    println!(
        "An emulated LastPass business account (CID {DEMO_CID}, {} users) is listening on {url}.",
        args.users
    );
    println!(
        "lpgate talks to it exactly as to lastpass.com: only the URL and credentials differ.\n"
    );

    let dir = std::env::temp_dir().join(format!("lpgate-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let outcome = demo(&url, &provhash, &dir, &running, zone).await;
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;
    println!(
        "Done in {:.2} s. The emulator is stopped and the temporary store removed.",
        started.elapsed().as_secs_f64()
    );
    println!(
        "\nNext: `lpgate init`, then `lpgate account add NAME --cid N --provhash-file F` for a real account,"
    );
    println!(
        "or `lpgate emulator` to keep an emulated one running and try every command against it."
    );
    Ok(())
}

async fn demo(
    url: &str,
    provhash: &str,
    dir: &std::path::Path,
    running: &lpgate_emulator::RunningEmulator,
    zone: AccountZone,
) -> anyhow::Result<()> {
    let hash = ProvisioningHash::new(provhash)?;
    let client = Client::new(ClientConfig::new(
        BaseUrl::custom(url)?,
        Cid::new(DEMO_CID),
        hash.clone(),
    ))?;
    let store = SqliteStore::open(dir.join("lpgate.sqlite")).await?;
    let key = MasterKey::generate();
    let account = store
        .add_account(NewAccount {
            name: "demo".into(),
            cid: DEMO_CID,
            endpoint: AccountEndpoint::Url(url.to_string()),
            provhash_sealed: key.seal(&hash),
            time_zone: zone.name().into(),
            sync_interval_secs: 900,
            now: Utc::now(),
        })
        .await?;
    let users = client
        .check()
        .await
        .context("Failed to check the demo credentials")?;
    println!(
        "1. Linked the account as \"demo\" (provisioning hash encrypted at rest); one getuserdata call confirmed {users} users."
    );

    let options = SyncOptions::default();
    let first = sync_account(&store, &client, &account, zone, &options, Utc::now, |_| {}).await?;
    println!(
        "2. First sync: {} users, {} groups, {} shared folders, {} events in {:.2} s (a baseline: changes count from the next sync).\n",
        first.run.users,
        first.run.groups,
        first.run.folders,
        first.run.events,
        first.elapsed.as_secs_f64()
    );
    print_directory(&store).await?;

    // The company changes between polls, as a real one does.
    let view = running.emulator().view();
    let staged = view
        .users
        .iter()
        .find(|u| u.neverloggedin && !u.disabled)
        .map(|u| u.username.clone());
    let regular: Vec<String> = view
        .users
        .iter()
        .filter(|u| !u.disabled && !u.neverloggedin && !u.admin)
        .map(|u| u.username.clone())
        .collect();
    let domain = view.domain.clone();
    let mut did = Vec::new();
    if let Some(s) = &staged {
        running.emulator().login(s)?;
        did.push(format!("{s} logged in for the first time"));
    }
    let hire = format!("new.hire@{domain}");
    client
        .batch_add(&[NewUser {
            fullname: Some("New Hire".into()),
            groups: vec!["Engineering".into()],
            ..NewUser::new(hire.clone())
        }])
        .await?;
    did.push(format!(
        "{hire} was provisioned into Engineering (batchadd)"
    ));
    if let Some(leaver) = regular.first() {
        client.delete_user(leaver, DeleteAction::Remove).await?;
        did.push(format!("{leaver} left the company (deluser, remove)"));
    }
    if let Some(promoted) = regular.get(1) {
        running.emulator().set_admin(promoted, true)?;
        did.push(format!("{promoted} was made an admin in the Admin Console"));
    }
    if let Some(mfa) = view.users.iter().find(|u| {
        !u.multifactor.is_empty()
            && !u.disabled
            && !u.admin
            && !regular[..2.min(regular.len())].contains(&u.username)
    }) {
        running.emulator().set_multifactor(&mfa.username, None)?;
        did.push(format!(
            "{} turned off multifactor authentication",
            mfa.username
        ));
    }
    println!("3. Meanwhile, in LastPass:");
    for d in &did {
        println!("   - {d}");
    }

    let second = sync_account(&store, &client, &account, zone, &options, Utc::now, |_| {}).await?;
    println!(
        "\n4. Second sync: {} changes in {:.2} s — {}",
        second.run.changes,
        second.elapsed.as_secs_f64(),
        second.kinds_summary()
    );
    let changes = store.list_changes(None, None, None, None, 50).await?;
    let mut t = Table::new(&["kind", "subject", "related", "before", "after"]);
    for c in changes.iter().rev() {
        t.row(vec![
            c.kind.clone(),
            c.subject.clone(),
            c.related.clone().unwrap_or_default(),
            c.before.clone().unwrap_or_default(),
            c.after.clone().unwrap_or_default(),
        ]);
    }
    println!("{}", t.render());

    // 5. Watch: the built-in rules over the store, and a free-text search.
    store.settled().await?;
    let config = lpgate_engine::rules::RuleConfig::default();
    let summary = lpgate_engine::rules::check_account(
        &store,
        account.id,
        &account.name,
        &config,
        &Default::default(),
        Utc::now(),
    )
    .await?;
    let findings = store
        .list_findings(lpgate_store::FindingQuery {
            before: None,
            open_only: true,
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    let mut by_rule: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in &findings {
        *by_rule
            .entry((f.severity.clone(), f.rule.clone()))
            .or_default() += 1;
    }
    println!(
        "\n5. The built-in rules found {} things to look at (`lpgate findings`):",
        summary.opened
    );
    let mut t = Table::new(&["severity", "rule", "findings"]);
    for ((severity, rule), n) in by_rule {
        t.row(vec![severity, rule, n.to_string()]);
    }
    println!("{}", t.render());
    if let Some(u) = store
        .list_users(UserQuery::default())
        .await?
        .into_iter()
        .filter(|u| u.fullname.chars().take(3).all(char::is_alphabetic) && u.fullname.len() >= 3)
        .nth(3)
    {
        let word: String = u.fullname.chars().take(3).collect();
        let hits = store.search(word.clone(), None, 5).await?;
        println!("   `lpgate search {word}` finds:");
        for h in hits {
            println!("   - {} {} ({}, {})", h.kind, h.title, h.key, h.detail);
        }
    }
    Ok(())
}

async fn print_directory(store: &SqliteStore) -> anyhow::Result<()> {
    let users = store.list_users(UserQuery::default()).await?;
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &users {
        *by_status.entry(u.status.as_str()).or_default() += 1;
    }
    let active: Vec<_> = users.iter().filter(|u| u.status == "active").collect();
    let admins = users
        .iter()
        .filter(|u| u.role == "admin" && u.status != "deprovisioned")
        .count();
    let no_mfa = active.iter().filter(|u| u.multifactor.is_none()).count();
    let weak = active
        .iter()
        .filter(|u| u.mp_strength.is_some_and(|s| s < 50))
        .count();
    let parts: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
    println!("   The store now answers, without asking LastPass again:");
    println!("   users by status: {}; admins: {admins}", parts.join(", "));
    println!(
        "   active users without MFA: {no_mfa} of {} ({:.0} % covered); weak master passwords (<50): {weak}\n",
        active.len(),
        if active.is_empty() {
            100.0
        } else {
            100.0 * (active.len() - no_mfa) as f64 / active.len() as f64
        }
    );
    let mut t = Table::new(&[
        "email",
        "name",
        "status",
        "role",
        "last login",
        "mfa",
        "groups",
    ]);
    for u in users.iter().take(10) {
        t.row(vec![
            u.email.clone(),
            u.fullname.clone(),
            u.status.clone(),
            u.role.clone(),
            u.last_login
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "never".into()),
            u.multifactor.clone().unwrap_or_else(|| "none".into()),
            u.groups.join(", "),
        ]);
    }
    println!("{}", t.render());
    let groups = store.list_groups(None).await?;
    let mut t = Table::new(&["group", "members"]);
    let mut sorted: Vec<_> = groups.iter().collect();
    sorted.sort_by_key(|g| std::cmp::Reverse(g.members));
    for g in sorted.iter().take(6) {
        t.row(vec![g.name.clone(), g.members.to_string()]);
    }
    println!("{}", t.render());
    Ok(())
}
