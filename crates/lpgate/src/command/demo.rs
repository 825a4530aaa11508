//! `lpgate demo`: the newcomer's first run. An emulated LastPass company on loopback, read
//! through the same client a real account uses, shown as tables.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use chrono::{NaiveDateTime, Utc};
use lpgate_domain::{AccountStatus, LastPassFacts, Role};
use lpgate_emulator::{CompanySpec, Credentials, Emulator};
use lpgate_lastpass::{
    BaseUrl, Cid, Client, ClientConfig, Directory, EventQuery, ProvisioningHash, User, UserFilter,
};

use crate::cli::DemoArgs;
use crate::command::emulator::random_hex;
use crate::output::Table;

const DEMO_CID: u64 = 8771312;

/// Runs the demo end to end and prints what it did.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let provhash = random_hex(32).context("Failed to create a provisioning hash")?;
    let mut spec = CompanySpec::new(args.users, args.seed);
    spec.anchor = lpgate_domain::AccountZone::default().to_local(Utc::now());
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
    println!(
        "lpgate demo: an emulated LastPass business account is listening on {} (CID {DEMO_CID}).",
        running.base_url()
    );
    println!(
        "Everything below was read through lpgate's Enterprise API client, exactly as from lastpass.com.\n"
    );

    let client = Client::new(ClientConfig::new(
        BaseUrl::custom(&running.base_url())?,
        Cid::new(DEMO_CID),
        ProvisioningHash::new(provhash)?,
    ))?;
    let total = client
        .check()
        .await
        .context("Failed to check the demo credentials")?;
    let dir = client.get_user_data(UserFilter::All).await?;
    let folders = client.get_shared_folders().await?;
    let events = client
        .reporting(&EventQuery {
            limit: Some(10),
            ..EventQuery::default()
        })
        .await?;

    print_summary(&dir);
    print_users(&dir);
    print_groups(&dir);

    println!("Shared folders: {} (largest first)", folders.len());
    let mut by_size: Vec<_> = folders.iter().collect();
    by_size.sort_by(|a, b| b.users.len().cmp(&a.users.len()).then(a.name.cmp(&b.name)));
    let mut t = Table::new(&["folder", "members", "administrators", "score"]);
    for f in by_size.iter().take(5) {
        let admins = f.users.iter().filter(|m| m.can_administer).count();
        t.row(vec![
            f.name.clone(),
            f.users.len().to_string(),
            admins.to_string(),
            f.score.map(|s| format!("{s:.0}")).unwrap_or_default(),
        ]);
    }
    println!("{}", t.render());

    println!("Latest events (US/Eastern):");
    let mut t = Table::new(&["time", "who", "action", "detail"]);
    for e in &events {
        t.row(vec![
            e.time.to_string(),
            e.username.clone(),
            e.action.clone(),
            e.data.clone(),
        ]);
    }
    println!("{}", t.render());

    running.shutdown().await;
    println!("What the demo did:");
    println!(
        "  1. generated a company of {} users (seed {}) and served it on loopback;",
        args.users, args.seed
    );
    println!("  2. checked the credentials with one getuserdata call ({total} users reported);");
    println!(
        "  3. read all users and groups page by page (getuserdata), {} shared folders (getsfdata) and the {} latest events (reporting);",
        folders.len(),
        events.len()
    );
    println!(
        "  4. derived each user's status and role the way lpgate stores them; then stopped the emulator."
    );
    println!("Done in {:.2} s.", started.elapsed().as_secs_f64());
    Ok(())
}

fn status_of(u: &User, invited: &[String]) -> AccountStatus {
    AccountStatus::derive(LastPassFacts {
        disabled: u.disabled,
        never_logged_in: u.never_logged_in,
        invited_only: invited.iter().any(|i| i.eq_ignore_ascii_case(&u.username)),
        present: true,
    })
}

fn print_summary(dir: &Directory) {
    let mut by_status: BTreeMap<AccountStatus, usize> = BTreeMap::new();
    for u in &dir.users {
        *by_status.entry(status_of(u, &dir.invited)).or_default() += 1;
    }
    let admins = dir.users.iter().filter(|u| u.admin).count();
    let active: Vec<&User> = dir
        .users
        .iter()
        .filter(|u| status_of(u, &dir.invited) == AccountStatus::Active)
        .collect();
    let no_mfa = active.iter().filter(|u| u.multifactor.is_none()).count();
    let weak = active
        .iter()
        .filter(|u| u.mpstrength.is_some_and(|s| s < 50))
        .count();
    println!("Users: {}", dir.users.len());
    let parts: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
    println!("  by status: {}", parts.join(", "));
    println!(
        "  admins: {admins}; pending invitations: {}",
        dir.invited.len()
    );
    println!(
        "  active users without MFA: {no_mfa} of {}; with a weak master password (<50): {weak}",
        active.len()
    );
    println!("  groups: {}\n", dir.groups.len());
}

fn print_users(dir: &Directory) {
    println!("Users (first 15 by email):");
    let mut users: Vec<&User> = dir.users.iter().collect();
    users.sort_by(|a, b| a.username.cmp(&b.username));
    let mut t = Table::new(&[
        "email",
        "name",
        "status",
        "role",
        "last login",
        "mfa",
        "groups",
    ]);
    for u in users.iter().take(15) {
        t.row(vec![
            u.username.clone(),
            u.fullname.clone(),
            status_of(u, &dir.invited).to_string(),
            Role::from_admin_flag(u.admin).to_string(),
            u.last_login
                .map(|d: NaiveDateTime| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "never".into()),
            u.multifactor.clone().unwrap_or_else(|| "none".into()),
            u.groups.len().to_string(),
        ]);
    }
    println!("{}", t.render());
}

fn print_groups(dir: &Directory) {
    println!("Groups (largest first):");
    let mut groups: Vec<(&String, &Vec<String>)> = dir.groups.iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let mut t = Table::new(&["group", "members"]);
    for (name, members) in groups.iter().take(8) {
        t.row(vec![name.to_string(), members.len().to_string()]);
    }
    println!("{}", t.render());
}
