//! Latency and fault injection: what a test asks for ([`FaultSpec`]) and the seeded dice that
//! decide, request by request, which fault happens.
//!
//! Faults are decided after authentication. 500 and 429 answer before the command runs (a retry
//! is safe); a truncated or dropped reply is cut after the command ran (like a real network
//! failure after the server committed).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// How long the emulator waits before replying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "LatencyRepr", into = "LatencyRepr")]
pub enum Latency {
    /// Always this long.
    Fixed(Duration),
    /// Uniformly between the two bounds (seeded, so repeatable).
    Uniform(Duration, Duration),
}

/// The JSON form of [`Latency`]: `{"fixed_ms":N}` or `{"uniform_ms":[A,B]}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum LatencyRepr {
    FixedMs(u64),
    UniformMs([u64; 2]),
}

impl From<LatencyRepr> for Latency {
    fn from(r: LatencyRepr) -> Self {
        match r {
            LatencyRepr::FixedMs(ms) => Latency::Fixed(Duration::from_millis(ms)),
            LatencyRepr::UniformMs([a, b]) => {
                Latency::Uniform(Duration::from_millis(a), Duration::from_millis(b))
            }
        }
    }
}

impl From<Latency> for LatencyRepr {
    fn from(l: Latency) -> Self {
        match l {
            Latency::Fixed(d) => LatencyRepr::FixedMs(d.as_millis() as u64),
            Latency::Uniform(a, b) => {
                LatencyRepr::UniformMs([a.as_millis() as u64, b.as_millis() as u64])
            }
        }
    }
}

/// How often one kind of fault happens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Rate {
    /// Probability per request, 0.0..=1.0, drawn from the emulator's seeded dice.
    pub share: f64,
    /// The next this-many matching requests get the fault for sure (counts down).
    pub next: u32,
}

impl Rate {
    /// The next `n` requests get the fault, then none.
    pub fn next(n: u32) -> Self {
        Self {
            share: 0.0,
            next: n,
        }
    }

    /// Each request gets the fault with probability `p`.
    pub fn share(p: f64) -> Self {
        Self {
            share: p.clamp(0.0, 1.0),
            next: 0,
        }
    }

    fn fires(&mut self, rng: &mut SplitMix64) -> bool {
        if self.next > 0 {
            self.next -= 1;
            return true;
        }
        self.share > 0.0 && rng.unit() < self.share
    }
}

/// The faults to inject, for all commands or one. `Default` injects nothing.
///
/// When several kinds could fire on one request, the first in the order 500, 429, stall,
/// drop, truncate wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSpec {
    /// Delay before every reply (faulted or not).
    pub latency: Option<Latency>,
    /// HTTP 500 with a short HTML body; the command does not run.
    pub http_500: Rate,
    /// HTTP 429 with `Retry-After`; the command does not run.
    pub http_429: Rate,
    /// The `Retry-After` value sent with 429, in seconds.
    pub retry_after_secs: u32,
    /// HTTP 200, correctly framed, but the body is the real reply cut roughly in half.
    pub truncate: Rate,
    /// Headers are sent, then the connection is aborted part-way through the body.
    pub drop: Rate,
    /// No answer for `stall_secs` (a client with a shorter timeout gives up: a timeout), then
    /// HTTP 500; the command does not run.
    pub stall: Rate,
    /// How long a stalled request waits before its 500, in seconds.
    pub stall_secs: u32,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            latency: None,
            http_500: Rate::default(),
            http_429: Rate::default(),
            retry_after_secs: 1,
            truncate: Rate::default(),
            drop: Rate::default(),
            stall: Rate::default(),
            stall_secs: 30,
        }
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Http500,
    Http429 { retry_after_secs: u32 },
    Truncate,
    Drop,
    Stall { secs: u32 },
}

impl Fault {
    /// The name counted in [`FaultState::injected`]; `None` for no fault.
    fn name(self) -> Option<&'static str> {
        match self {
            Fault::None => None,
            Fault::Http500 => Some("http_500"),
            Fault::Http429 { .. } => Some("http_429"),
            Fault::Truncate => Some("truncate"),
            Fault::Drop => Some("drop"),
            Fault::Stall { .. } => Some("stall"),
        }
    }
}

/// The decision for one request: how long to wait, then which fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) latency: Option<Duration>,
    pub(crate) fault: Fault,
}

/// Installed fault specs and the dice.
#[derive(Debug)]
pub(crate) struct FaultState {
    default: FaultSpec,
    per_command: HashMap<String, FaultSpec>,
    rng: SplitMix64,
    /// Faults injected so far, by kind (`http_500`, `http_429`, `stall`, `drop`, `truncate`).
    injected: BTreeMap<&'static str, u64>,
}

impl FaultState {
    /// No faults; dice seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            default: FaultSpec::default(),
            per_command: HashMap::new(),
            rng: SplitMix64::new(seed ^ 0x6661_756c_7473),
            injected: BTreeMap::new(),
        }
    }

    /// Installs `spec` for one command, or as the default for all when `command` is `None`.
    pub(crate) fn set(&mut self, command: Option<&str>, spec: FaultSpec) {
        match command {
            Some(c) => {
                self.per_command.insert(c.to_owned(), spec);
            }
            None => self.default = spec,
        }
    }

    /// Removes every fault.
    pub(crate) fn clear(&mut self) {
        self.default = FaultSpec::default();
        self.per_command.clear();
    }

    /// Rolls the dice for one request of `command`.
    pub(crate) fn decide(&mut self, command: &str) -> Decision {
        let spec = match self.per_command.get_mut(command) {
            Some(s) => s,
            None => &mut self.default,
        };
        let rng = &mut self.rng;
        let latency = spec.latency.map(|l| match l {
            Latency::Fixed(d) => d,
            Latency::Uniform(a, b) => {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                lo + (hi - lo).mul_f64(rng.unit())
            }
        });
        let fault = if spec.http_500.fires(rng) {
            Fault::Http500
        } else if spec.http_429.fires(rng) {
            Fault::Http429 {
                retry_after_secs: spec.retry_after_secs,
            }
        } else if spec.stall.fires(rng) {
            Fault::Stall {
                secs: spec.stall_secs,
            }
        } else if spec.drop.fires(rng) {
            Fault::Drop
        } else if spec.truncate.fires(rng) {
            Fault::Truncate
        } else {
            Fault::None
        };
        if let Some(name) = fault.name() {
            *self.injected.entry(name).or_default() += 1;
        }
        Decision { latency, fault }
    }

    /// Faults injected since the emulator started, by kind (kinds never injected are absent).
    pub(crate) fn injected(&self) -> BTreeMap<String, u64> {
        self.injected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_counts_down_then_stops() {
        let mut s = FaultState::new(1);
        s.set(
            Some("getuserdata"),
            FaultSpec {
                http_500: Rate::next(2),
                ..FaultSpec::default()
            },
        );
        assert_eq!(s.decide("getuserdata").fault, Fault::Http500);
        assert_eq!(s.decide("getsfdata").fault, Fault::None);
        assert_eq!(s.decide("getuserdata").fault, Fault::Http500);
        assert_eq!(s.decide("getuserdata").fault, Fault::None);
    }

    #[test]
    fn stall_is_decided_and_every_fault_is_counted() {
        let mut s = FaultState::new(1);
        s.set(
            None,
            FaultSpec {
                stall: Rate::next(1),
                stall_secs: 4,
                drop: Rate::next(2),
                ..FaultSpec::default()
            },
        );
        assert_eq!(s.decide("x").fault, Fault::Stall { secs: 4 });
        assert_eq!(s.decide("x").fault, Fault::Drop);
        assert_eq!(s.decide("x").fault, Fault::Drop);
        assert_eq!(s.decide("x").fault, Fault::None);
        let counts = s.injected();
        assert_eq!(counts.get("stall"), Some(&1));
        assert_eq!(counts.get("drop"), Some(&2));
        assert_eq!(counts.len(), 2);
    }

    #[test]
    fn per_command_overrides_default() {
        let mut s = FaultState::new(1);
        s.set(
            None,
            FaultSpec {
                http_429: Rate::share(1.0),
                retry_after_secs: 7,
                ..FaultSpec::default()
            },
        );
        s.set(Some("reporting"), FaultSpec::default());
        assert_eq!(
            s.decide("getuserdata").fault,
            Fault::Http429 {
                retry_after_secs: 7
            }
        );
        assert_eq!(s.decide("reporting").fault, Fault::None);
        s.clear();
        assert_eq!(s.decide("getuserdata").fault, Fault::None);
    }

    #[test]
    fn share_is_seeded() {
        let spec = FaultSpec {
            truncate: Rate::share(0.5),
            ..FaultSpec::default()
        };
        let run = || {
            let mut s = FaultState::new(9);
            s.set(None, spec.clone());
            (0..64).map(|_| s.decide("x").fault).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|f| **f == Fault::Truncate).count();
        assert!((10..54).contains(&hits), "{hits}");
    }

    #[test]
    fn uniform_latency_in_bounds() {
        let mut s = FaultState::new(3);
        s.set(
            None,
            FaultSpec {
                latency: Some(Latency::Uniform(
                    Duration::from_millis(30),
                    Duration::from_millis(10),
                )),
                ..FaultSpec::default()
            },
        );
        for _ in 0..50 {
            let d = s.decide("x").latency.unwrap();
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(30));
        }
    }

    #[test]
    fn json_form() {
        let spec: FaultSpec = serde_json::from_str(
            r#"{"latency":{"uniform_ms":[5,10]},"http_500":{"next":1},"retry_after_secs":3}"#,
        )
        .unwrap();
        assert_eq!(
            spec.latency,
            Some(Latency::Uniform(
                Duration::from_millis(5),
                Duration::from_millis(10)
            ))
        );
        assert_eq!(spec.http_500, Rate::next(1));
        assert_eq!(spec.retry_after_secs, 3);
        let back = serde_json::to_value(&spec).unwrap();
        assert_eq!(back["latency"]["uniform_ms"][1], 10);
    }
}
