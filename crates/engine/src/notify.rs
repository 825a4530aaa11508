//! Notification routing: which configured channels hear about which changes and findings,
//! and the notifications (outbox rows) that a sync or a rule evaluation queues. Delivery
//! itself is in `deliver.rs`.

use lpgate_domain::Change;
use lpgate_store::{AccountId, NewNotification};
use serde::{Deserialize, Serialize};

use crate::rules::Severity;

/// A place notifications go (`[[notifications.channels]]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Its name, used by subscriptions and shown in `notifications list`.
    pub name: String,
    /// `webhook` (JSON body signed with HMAC-SHA256) or `slack` (incoming-webhook format).
    pub kind: ChannelKind,
    /// Where to POST.
    pub url: String,
    /// The webhook signing secret (never logged). Required for `webhook`.
    #[serde(default)]
    pub secret: Option<String>,
}

/// The body format of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Generic signed JSON webhook.
    Webhook,
    /// Slack incoming webhook (`{"text": …}`).
    Slack,
}

/// What a channel hears about (`[[notifications.subscriptions]]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// The channel's name.
    pub channel: String,
    /// Findings opened or resolved at this severity or above; none when absent.
    #[serde(default)]
    pub findings: Option<Severity>,
    /// Change kinds (`user.admin_granted`, `user.deprovisioned`…); `*` for all.
    #[serde(default)]
    pub changes: Vec<String>,
}

/// The notification part of the configuration, checked once at load.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Routing {
    /// Channels.
    pub channels: Vec<Channel>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
}

/// A routing mistake in the configuration.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RoutingError {
    /// A subscription names a channel that is not defined.
    #[error("notifications.subscriptions: channel {0:?} is not defined in notifications.channels")]
    UnknownChannel(String),
    /// Two channels share a name.
    #[error("notifications.channels: the name {0:?} is used twice")]
    DuplicateChannel(String),
    /// A webhook without a secret.
    #[error(
        "notifications.channels: webhook {0:?} needs a secret (secret = \"…\" or secret_file = \"…\")"
    )]
    MissingSecret(String),
    /// A URL that is not http(s).
    #[error(
        "notifications.channels: channel {name:?} has url {url:?}: expected http:// or https://"
    )]
    BadUrl {
        /// Channel name.
        name: String,
        /// The value given.
        url: String,
    },
}

impl Routing {
    /// Checks names, secrets and URLs.
    pub fn validate(&self) -> Result<(), RoutingError> {
        let mut seen = std::collections::HashSet::new();
        for c in &self.channels {
            if !seen.insert(c.name.as_str()) {
                return Err(RoutingError::DuplicateChannel(c.name.clone()));
            }
            if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
                return Err(RoutingError::BadUrl {
                    name: c.name.clone(),
                    url: c.url.clone(),
                });
            }
            if c.kind == ChannelKind::Webhook && c.secret.as_deref().is_none_or(str::is_empty) {
                return Err(RoutingError::MissingSecret(c.name.clone()));
            }
        }
        for s in &self.subscriptions {
            if !seen.contains(s.channel.as_str()) {
                return Err(RoutingError::UnknownChannel(s.channel.clone()));
            }
        }
        Ok(())
    }

    /// The channel named so.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// Notifications for a sync's changes.
    pub fn for_changes(
        &self,
        account: AccountId,
        account_name: &str,
        changes: &[Change],
    ) -> Vec<NewNotification> {
        let mut out = Vec::new();
        for s in &self.subscriptions {
            if s.changes.is_empty() {
                continue;
            }
            for c in changes {
                let kind = c.kind.as_str();
                if s.changes.iter().any(|k| k == "*" || k == kind) {
                    out.push(NewNotification {
                        delivery_id: new_delivery_id(),
                        channel: s.channel.clone(),
                        event: kind.to_string(),
                        account: Some(account),
                        payload: serde_json::json!({
                            "account": account_name,
                            "kind": kind,
                            "subject": c.subject,
                            "related": c.related,
                            "before": c.before,
                            "after": c.after,
                        }),
                    });
                }
            }
        }
        out
    }

    /// Notifications for another event (`plan.held`…), to the channels whose `changes` list
    /// it (or `*`).
    pub fn for_event(
        &self,
        event: &str,
        account: AccountId,
        payload: serde_json::Value,
    ) -> Vec<NewNotification> {
        self.subscriptions
            .iter()
            .filter(|s| s.changes.iter().any(|k| k == "*" || k == event))
            .map(|s| NewNotification {
                delivery_id: new_delivery_id(),
                channel: s.channel.clone(),
                event: event.to_string(),
                account: Some(account),
                payload: payload.clone(),
            })
            .collect()
    }

    /// Notifications for a finding that opened (`opened` true) or resolved.
    pub fn for_finding(
        &self,
        account: AccountId,
        account_name: &str,
        finding: &FindingNotice<'_>,
    ) -> Vec<NewNotification> {
        let event = if finding.opened {
            "finding.opened"
        } else {
            "finding.resolved"
        };
        self.subscriptions
            .iter()
            .filter(|s| s.findings.is_some_and(|min| finding.severity >= min))
            .map(|s| NewNotification {
                delivery_id: new_delivery_id(),
                channel: s.channel.clone(),
                event: event.to_string(),
                account: Some(account),
                payload: serde_json::json!({
                    "account": account_name,
                    "rule": finding.rule,
                    "severity": finding.severity.as_str(),
                    "description": finding.description,
                    "key": finding.key,
                    "row": finding.row,
                }),
            })
            .collect()
    }
}

/// What a finding notification says.
#[derive(Debug, Clone)]
pub struct FindingNotice<'a> {
    /// Opened (true) or resolved.
    pub opened: bool,
    /// Rule name.
    pub rule: &'a str,
    /// Rule severity.
    pub severity: Severity,
    /// Rule description.
    pub description: &'a str,
    /// The row's identity.
    pub key: &'a str,
    /// The row.
    pub row: &'a serde_json::Value,
}

/// A fresh delivery id: 128 random bits, hex. Receivers drop a second delivery with an id
/// they have seen.
pub fn new_delivery_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}
