//! `lpgate scim token create|reset --account A`: the token an identity provider's SCIM
//! connector uses (scope `scim`, bound to the account, named `scim-ACCOUNT`). Like LastPass's
//! own provisioning token, it is shown once, and a reset invalidates the old one at once (a
//! running server re-checks SCIM tokens whenever the store changes).

use anyhow::bail;
use chrono::Utc;
use lpgate_engine::generate_token;
use lpgate_store::{NewToken, StoreError, TokenScope};

use crate::cli::{GlobalArgs, ScimCommand, ScimTokenArgs, ScimTokenCommand};
use crate::context::{Ctx, OpenStore};

/// Runs a `scim` subcommand.
pub async fn run<S: OpenStore>(global: &GlobalArgs, cmd: ScimCommand) -> anyhow::Result<()> {
    match cmd {
        ScimCommand::Token(ScimTokenCommand::Create(a)) => issue::<S>(global, a, false).await,
        ScimCommand::Token(ScimTokenCommand::Reset(a)) => issue::<S>(global, a, true).await,
    }
}

async fn issue<S: OpenStore>(
    global: &GlobalArgs,
    a: ScimTokenArgs,
    reset: bool,
) -> anyhow::Result<()> {
    let ctx = Ctx::<S>::open(global).await?;
    let account = match ctx.store.account(&a.account).await {
        Ok(acc) => acc,
        Err(StoreError::NotFound { .. }) => {
            bail!(
                "no account named {:?}; `lpgate account list` shows the names",
                a.account
            )
        }
        Err(e) => return Err(e.into()),
    };
    let name = format!("scim-{}", account.name);
    let now = Utc::now();
    if reset {
        match ctx.store.revoke_token(&name, now).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let token = generate_token();
    let new = NewToken {
        name: name.clone(),
        scope: TokenScope::Scim,
        account: Some(account.name.clone()),
        expires_at: None,
        hash: ctx.key.token_key().hash(&token),
        now,
    };
    match ctx.store.create_token(new).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => bail!(
            "account {:?} has a SCIM token already; `lpgate scim token reset --account {}` replaces it",
            account.name,
            account.name
        ),
        Err(e) => return Err(e.into()),
    }
    eprintln!(
        "SCIM token {name:?} {} for account {}; it is shown once, below. In the identity provider: Tenant URL https://HOST/scim/v2, Secret Token the line below",
        if reset {
            "reset (the old one no longer works)"
        } else {
            "created"
        },
        account.name
    );
    println!("{token}");
    Ok(())
}
