//! `GET /metrics` over real HTTP: Prometheus text that parses line by line, with the series
//! the store and the request counter should produce and plausible values.

use std::collections::BTreeMap;

use crate::helpers::env;
use crate::serve::{Server, get, second_account, start, token};

/// One sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text exposition strictly enough to catch malformed lines: every sample line is
/// `name{k="v",…} value` of a family announced by `# TYPE` before it.
fn parse(text: &str) -> Vec<Sample> {
    let mut typed: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.push((name.to_string(), kind.to_string()));
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let mut labels = BTreeMap::new();
                for pair in body.split("\",") {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                    assert!(
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{line}"
                    );
                    labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
                }
                (name.to_string(), labels)
            }
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let family = typed.last().map(|(n, _)| n.as_str()).unwrap_or("");
        assert!(
            name == family
                || name
                    .strip_prefix(family)
                    .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s)),
            "{line} outside its family {family}"
        );
        out.push((name, labels, value));
    }
    out
}

fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

fn sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
        .sum()
}

async fn scrape(s: &Server, token: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(format!("{}/metrics", s.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_count_syncs_users_findings_and_requests() {
    let env = env(40).await;
    env.linked().await;
    let _beta = second_account(&env).await;
    env.ok(&["sync", "--all"]).await;
    env.ok(&["sync", "acme"]).await;
    let reader = token(&env, "reader", "read", None).await;
    let acme = token(&env, "acme-read", "read", Some("acme")).await;
    let server = start(&env).await;

    // Some traffic to count: a 200 on a templated route, a 404 unmatched, a 401.
    let (_, users) = get(&server, Some(&reader), "/v1/users?limit=1").await;
    let id = users["result"][0]["id"].to_string();
    for _ in 0..3 {
        assert_eq!(
            get(&server, Some(&reader), &format!("/v1/users/{id}"))
                .await
                .0,
            200
        );
    }
    assert_eq!(get(&server, Some(&reader), "/v1/nothing").await.0, 404);
    assert_eq!(get(&server, None, "/v1/users").await.0, 401);

    let (status, _, _) = scrape(&server, None).await;
    assert_eq!(status, 401, "a token is needed");
    let (status, ctype, text) = scrape(&server, Some(&reader)).await;
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let m = parse(&text);

    let ok = |a: &str| {
        value(
            &m,
            "lpgate_sync_runs_total",
            &[("account", a), ("outcome", "succeeded")],
        )
    };
    assert_eq!(ok("acme"), Some(2.0), "{text}");
    assert_eq!(ok("beta"), Some(1.0), "{text}");
    let view = env.emu.emulator().view();
    let present = (view.users.len() + view.invited.len()) as f64;
    assert_eq!(
        sum(&m, "lpgate_users", &[("account", "acme")]),
        present,
        "{text}"
    );
    assert!(
        value(
            &m,
            "lpgate_users",
            &[("account", "acme"), ("status", "active")]
        )
        .unwrap()
            > 0.0
    );
    for a in ["acme", "beta"] {
        let secs = value(
            &m,
            "lpgate_last_sync_duration_seconds",
            &[("account", a), ("outcome", "succeeded")],
        )
        .unwrap();
        assert!((0.0..60.0).contains(&secs), "{a}: {secs}");
        let at = value(&m, "lpgate_last_sync_timestamp_seconds", &[("account", a)]).unwrap();
        let now = chrono::Utc::now().timestamp() as f64;
        assert!(at <= now + 1.0 && at > now - 600.0, "{at} vs {now}");
    }
    // Findings: the same count /v1/findings?open=true gives.
    let (_, open) = get(&server, Some(&reader), "/v1/findings?open=true&limit=1000").await;
    let open = open["result"].as_array().unwrap().len() as f64;
    assert_eq!(sum(&m, "lpgate_open_findings", &[]), open, "{text}");
    assert!(text.contains("# TYPE lpgate_outbox_notifications gauge"));
    // The histogram: cumulative buckets ending at +Inf = count = the successful runs.
    let buckets: Vec<f64> = m
        .iter()
        .filter(|(n, l, _)| n == "lpgate_sync_duration_seconds_bucket" && l["account"] == "acme")
        .map(|s| s.2)
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&2.0));
    assert_eq!(
        value(
            &m,
            "lpgate_sync_duration_seconds_count",
            &[("account", "acme")]
        ),
        Some(2.0)
    );
    assert!(
        value(
            &m,
            "lpgate_sync_duration_seconds_sum",
            &[("account", "acme")]
        )
        .unwrap()
            >= 0.0
    );
    // Requests: by route template (never the raw path), unmatched, and the 401.
    let req = |route: &str, status: &str| {
        value(
            &m,
            "lpgate_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
    };
    assert_eq!(req("/v1/users/{id}", "200"), Some(3.0), "{text}");
    assert_eq!(req("/v1/users", "200"), Some(1.0), "{text}");
    assert_eq!(req("/v1/users", "401"), Some(1.0), "{text}");
    assert_eq!(req("unmatched", "404"), Some(1.0), "{text}");
    assert!(
        !text.contains(&format!("/v1/users/{id}\"")),
        "raw paths never become labels"
    );

    // An account-limited token sees its account only, and no installation-wide series.
    let (status, _, text) = scrape(&server, Some(&acme)).await;
    assert_eq!(status, 200);
    let m = parse(&text);
    assert!(
        m.iter()
            .all(|(_, l, _)| l.get("account").is_none_or(|a| a == "acme")),
        "{text}"
    );
    assert!(value(&m, "lpgate_users", &[("account", "acme")]).is_some());
    assert!(!text.contains("lpgate_http_requests_total"));
    assert!(!text.contains("lpgate_outbox_notifications"));
}
