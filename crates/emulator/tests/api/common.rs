//! Test harness: a started emulator, a reqwest client, request helpers and the fixture "type
//! skeleton" comparison.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use chrono::{NaiveDate, NaiveDateTime};
use lpgate_emulator::{Clock, CompanySpec, Credentials, Emulator, RunningEmulator};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const CID: u64 = 12_345_678;
pub const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub fn creds() -> Credentials {
    Credentials::new(CID, HASH)
}

/// The fixed test "now": one hour after the generator's default anchor.
pub fn test_now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .unwrap()
}

pub struct Harness {
    pub running: RunningEmulator,
    pub client: reqwest::Client,
}

/// A raw HTTP reply.
pub struct Raw {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Harness {
    pub async fn start(emu: Emulator) -> Self {
        emu.set_clock(Clock::Fixed(test_now()));
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = emu.start(addr).await.unwrap();
        Self {
            running,
            client: reqwest::Client::new(),
        }
    }

    pub async fn generated(users: usize, seed: u64) -> Self {
        Self::start(Emulator::generate(&CompanySpec::new(users, seed), creds())).await
    }

    /// A generated company with more shared folders than `CompanySpec::new` scales to, so
    /// every wire encoding of folder permissions occurs.
    pub async fn with_folders(users: usize, folders: usize, seed: u64) -> Self {
        let mut spec = CompanySpec::new(users, seed);
        spec.folders = folders;
        Self::start(Emulator::generate(&spec, creds())).await
    }

    pub async fn empty() -> Self {
        Self::start(Emulator::empty(creds())).await
    }

    pub fn emu(&self) -> &Emulator {
        self.running.emulator()
    }

    pub fn api_url(&self) -> String {
        format!("{}/enterpriseapi.php", self.running.base_url())
    }

    pub fn control_url(&self, path: &str) -> String {
        format!("{}/_emulator{path}", self.running.base_url())
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, body: impl Into<Vec<u8>>, content_type: &str) -> Raw {
        let r = self
            .client
            .post(self.api_url())
            .header("content-type", content_type)
            .body(body.into())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.bytes().await.unwrap().to_vec();
        Raw {
            status,
            headers,
            body,
        }
    }

    /// POSTs `{cid, provhash, cmd, data}` as JSON (data omitted when `None`).
    pub async fn call(&self, cmd: &str, data: Option<Value>) -> Raw {
        let mut body = json!({"cid": CID, "provhash": HASH, "cmd": cmd});
        if let Some(d) = data {
            body["data"] = d;
        }
        self.post_raw(serde_json::to_vec(&body).unwrap(), "application/json")
            .await
    }

    /// [`Harness::call`] parsed as JSON.
    pub async fn cmd(&self, cmd: &str, data: Value) -> Value {
        self.call(cmd, Some(data)).await.json()
    }

    /// The newest reporting event.
    pub async fn last_event(&self) -> Value {
        let r = self.cmd("reporting", json!({"user": "allusers"})).await;
        r["data"]["Event1"].clone()
    }

    /// A control-route request with an optional JSON body.
    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.control_url(path));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&b).unwrap());
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let bytes = r.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/lastpass/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).unwrap()
}

/// Path → set of JSON types found there. Numeric keys (ids) become `#`, `EventN` becomes
/// `Event#`, keys under `Groups` (group names) become `*`, array elements `[]`.
pub type Skeleton = BTreeMap<String, BTreeSet<&'static str>>;

pub fn skeleton(v: &Value) -> Skeleton {
    let mut out = Skeleton::new();
    walk(v, String::new(), &mut out);
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(v: &Value, path: String, out: &mut Skeleton) {
    out.entry(path.clone()).or_default().insert(type_name(v));
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let key = if path.ends_with("Groups") {
                    "*".to_owned()
                } else if !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()) {
                    "#".to_owned()
                } else if k.starts_with("Event") && k[5..].chars().all(|c| c.is_ascii_digit()) {
                    "Event#".to_owned()
                } else {
                    k.clone()
                };
                let p = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(child, p, out);
            }
        }
        Value::Array(a) => {
            for child in a {
                walk(child, format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Every path of `required` occurs in `reply`; every path/type of `reply` is allowed by
/// `allowed` or listed in `extra` (documented additions).
pub fn assert_skeleton(
    reply: &Value,
    required: &Skeleton,
    allowed: &Skeleton,
    extra: &[(&str, &str)],
) {
    let got = skeleton(reply);
    for path in required.keys() {
        assert!(
            got.contains_key(path),
            "reply lacks {path:?}; reply skeleton: {got:#?}"
        );
    }
    for (path, types) in &got {
        for t in types {
            let ok = allowed.get(path).is_some_and(|a| a.contains(t))
                || extra.iter().any(|(p, et)| p == path && et == t);
            assert!(ok, "reply has {path:?} of type {t}, not in the fixture");
        }
    }
}

/// `assert_skeleton` with one fixture as both the required and the allowed skeleton.
pub fn assert_like_fixture(reply: &Value, fixture_name: &str, extra: &[(&str, &str)]) {
    let f = skeleton(&fixture(fixture_name));
    assert_skeleton(reply, &f, &f, extra);
}
