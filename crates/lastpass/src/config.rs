//! Where the client connects and how patient it is.

use std::time::Duration;

use crate::credentials::{Cid, ProvisioningHash};
use crate::error::Error;

/// The LastPass data centre that hosts a business account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// `https://lastpass.com`: the default, and the route for AU/SG/IN storage too.
    Us,
    /// `https://lastpass.eu`: accounts in the EU data centre.
    Eu,
}

impl Region {
    /// The origin of this region's Enterprise API.
    pub fn origin(self) -> &'static str {
        match self {
            Region::Us => "https://lastpass.com",
            Region::Eu => "https://lastpass.eu",
        }
    }

    /// Parses `us` or `eu` (any case), naming the field on error.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "us" => Ok(Region::Us),
            "eu" => Ok(Region::Eu),
            _ => Err(Error::InvalidInput {
                field: "region",
                value: text.to_string(),
                reason: "expected \"us\" or \"eu\"",
            }),
        }
    }
}

/// The base the client posts to: a region, or any URL (the emulator, a proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseUrl {
    /// One of LastPass's data centres.
    Region(Region),
    /// A custom origin such as `http://127.0.0.1:8765`; `/enterpriseapi.php` is appended.
    Custom(String),
}

impl BaseUrl {
    /// Validates a custom base URL: http or https, a host, no query or fragment.
    pub fn custom(url: &str) -> Result<Self, Error> {
        let trimmed = url.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"));
        let ok = match rest {
            Some(r) => !r.is_empty() && !r.contains(['?', '#', ' ']) && !r.starts_with('/'),
            None => false,
        };
        if !ok {
            return Err(Error::InvalidInput {
                field: "url",
                value: url.to_string(),
                reason: "expected an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080",
            });
        }
        let without_script = trimmed.trim_end_matches("/enterpriseapi.php");
        Ok(BaseUrl::Custom(without_script.to_string()))
    }

    /// The full endpoint URL the client posts every command to.
    pub fn endpoint(&self) -> String {
        match self {
            BaseUrl::Region(r) => format!("{}/enterpriseapi.php", r.origin()),
            BaseUrl::Custom(u) => format!("{u}/enterpriseapi.php"),
        }
    }
}

/// How failed requests are retried.
///
/// Delays grow exponentially from `base_delay` up to `max_delay`, with "equal jitter" (a random
/// point in the upper half of the window) so that many accounts polled together do not retry in
/// lock-step. A `Retry-After` from a 429 is honoured as long as it is at most
/// `max_retry_after`; a longer one ends the call with [`Error::RateLimited`] at once.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The delay before the first retry.
    pub base_delay: Duration,
    /// The ceiling of any computed delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client is willing to wait.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), with jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        let window = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let half = window / 2;
        let jitter_ms = fastrand::u64(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

/// Everything needed to build a [`crate::Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where to post.
    pub base_url: BaseUrl,
    /// The company ID.
    pub cid: Cid,
    /// The provisioning hash.
    pub provhash: ProvisioningHash,
    /// Time allowed to open a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, reply body included.
    pub request_timeout: Duration,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Users per getuserdata page. 2000 is what the Elastic integration uses in production.
    pub page_size: u32,
    /// Pages fetched at once after the first one. Parsing one page while the next is on the
    /// wire keeps a 2-core machine busy without holding the whole company's JSON in memory.
    pub page_concurrency: usize,
}

impl ClientConfig {
    /// Time allowed to open a connection unless set otherwise.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A configuration with production defaults for the given account.
    pub fn new(base_url: BaseUrl, cid: Cid, provhash: ProvisioningHash) -> Self {
        ClientConfig {
            base_url,
            cid,
            provhash,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            page_size: 2000,
            page_concurrency: 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            BaseUrl::Region(Region::Us).endpoint(),
            "https://lastpass.com/enterpriseapi.php"
        );
        assert_eq!(
            BaseUrl::Region(Region::Eu).endpoint(),
            "https://lastpass.eu/enterpriseapi.php"
        );
        assert_eq!(
            BaseUrl::custom("http://127.0.0.1:9/").unwrap().endpoint(),
            "http://127.0.0.1:9/enterpriseapi.php"
        );
        assert_eq!(
            BaseUrl::custom("http://127.0.0.1:9/enterpriseapi.php")
                .unwrap()
                .endpoint(),
            "http://127.0.0.1:9/enterpriseapi.php"
        );
        let err = BaseUrl::custom("ftp://x").unwrap_err().to_string();
        assert!(err.contains("url") && err.contains("ftp://x"), "{err}");
        assert!(Region::parse("EU").is_ok());
        assert!(Region::parse("au").unwrap_err().to_string().contains("au"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for retry in 1..10 {
            let d = p.backoff(retry);
            assert!(d <= p.max_delay, "{d:?}");
        }
        let first = p.backoff(1);
        assert!(first >= p.base_delay / 2 && first <= p.base_delay);
    }
}
