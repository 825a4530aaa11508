//! `LPGATE_*` environment variables over `lpgate.toml`, and masking for `config show`.
//!
//! A scalar setting `[section] key` is overridden by `LPGATE_SECTION_KEY` (upper case), its
//! value read as a TOML value of the setting's type (`LPGATE_SYNC_DEFAULT_INTERVAL_SECS=600`,
//! `LPGATE_ACT_EXCLUDE='["a@b.c"]'`); `LPGATE_SECTION_KEY_FILE` reads the value from a file
//! (a secret mounted by an orchestrator; one trailing newline is dropped). A variable with a
//! section's prefix that names no setting is an error naming it, so a typo is not ignored.

use anyhow::{Context as _, bail};
use toml::Value;

/// Sections whose scalar keys the environment may override.
const SECTIONS: &[&str] = &["sync", "serve", "query", "rules", "act"];

/// `LPGATE_*` variables that are not settings (options of commands and of the process).
const NOT_SETTINGS: &[&str] = &[
    "LPGATE_DATA_DIR",
    "LPGATE_LOG",
    "LPGATE_MASTER_KEY",
    "LPGATE_EMULATOR_PROVHASH",
    "LPGATE_BENCH_KEEP",
    "LPGATE_STORE",
];

/// Every overridable setting of `defaults` (a parsed default config): (env name, section,
/// key).
fn settings(defaults: &Value) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    for section in SECTIONS {
        if let Some(Value::Table(t)) = defaults.get(section) {
            for (k, v) in t {
                if !v.is_table() {
                    out.push((
                        format!("LPGATE_{}_{}", section.to_uppercase(), k.to_uppercase()),
                        *section,
                        k.clone(),
                    ));
                }
            }
        }
    }
    out
}

/// Applies the environment (`vars`, e.g. `std::env::vars()`) to the file's table, with the
/// default config telling which settings exist and their types.
pub fn apply(
    file: &mut Value,
    defaults: &Value,
    vars: impl IntoIterator<Item = (String, String)>,
) -> anyhow::Result<Vec<String>> {
    let known = settings(defaults);
    let mut applied = Vec::new();
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with("LPGATE_") && !NOT_SETTINGS.contains(&k.as_str()))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let (base, from_file) = match name.strip_suffix("_FILE") {
            Some(b) if known.iter().any(|(n, _, _)| n == b) => (b.to_string(), true),
            _ => (name.clone(), false),
        };
        let Some((_, section, key)) = known.iter().find(|(n, _, _)| *n == base) else {
            if SECTIONS
                .iter()
                .any(|s| name.starts_with(&format!("LPGATE_{}_", s.to_uppercase())))
            {
                let names: Vec<&str> = known.iter().map(|(n, _, _)| n.as_str()).collect();
                bail!(
                    "unknown setting in the environment: {name} (settings: {})",
                    names.join(", ")
                );
            }
            continue;
        };
        let text = if from_file {
            let t = std::fs::read_to_string(&raw)
                .with_context(|| format!("{name}: failed to read {raw}"))?;
            t.strip_suffix('\n').unwrap_or(&t).to_string()
        } else {
            raw
        };
        let expected = defaults
            .get(section)
            .and_then(|s| s.get(key))
            .map(Value::type_str)
            .unwrap_or("string");
        let value = parse_as(&text, expected).with_context(|| {
            format!("{base}: invalid value {text:?}: expected a value of type {expected}")
        })?;
        let table = file
            .as_table_mut()
            .context("the configuration is not a table")?
            .entry(*section)
            .or_insert_with(|| Value::Table(Default::default()));
        match table {
            Value::Table(t) => {
                t.insert(key.clone(), value);
            }
            _ => bail!("[{section}] in the configuration is not a table"),
        }
        applied.push(format!("{section}.{key} (from {name})"));
    }
    Ok(applied)
}

/// Reads `text` as a TOML value of the given type name (`integer`, `float`, `boolean`,
/// `array`, `string`).
fn parse_as(text: &str, expected: &str) -> anyhow::Result<Value> {
    let v = match expected {
        "string" => Value::String(text.to_string()),
        // A number either way: settings read as floats accept `10` and as integers reject `2.5`
        // when they are deserialized.
        "integer" | "float" => match text.trim().parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Float(text.trim().parse()?),
        },
        "boolean" => Value::Boolean(text.trim().parse()?),
        _ => {
            let doc: toml::Table = toml::from_str(&format!("v = {text}"))?;
            let v = doc.get("v").cloned().context("no value")?;
            if v.type_str() != expected {
                bail!("got a {}", v.type_str());
            }
            v
        }
    };
    Ok(v)
}

/// The configuration as `config show` prints it: every secret replaced.
pub fn masked(v: &Value) -> Value {
    match v {
        Value::Table(t) => Value::Table(
            t.iter()
                .map(|(k, v)| {
                    let secret = ["secret", "provhash", "token", "password"]
                        .iter()
                        .any(|s| k.contains(s))
                        && !k.ends_with("_file");
                    let v = if secret && v.is_str() {
                        Value::String("********".into())
                    } else if let (true, Some(url)) = (k.ends_with("url"), v.as_str()) {
                        Value::String(masked_url(url))
                    } else {
                        masked(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(masked).collect()),
        other => other.clone(),
    }
}

/// A URL with its path and query hidden: a Slack webhook's path is its secret, and other
/// receivers put tokens there too. The scheme, host and port stay (they say where it goes).
fn masked_url(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find(['/', '?', '#']) {
        Some(i) if url.len() > after_scheme + i + 1 => {
            format!("{}/********", &url[..after_scheme + i])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Value {
        toml::from_str(crate::config::DEFAULT_CONFIG).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_typed_settings_and_names_typos() {
        let mut file = defaults();
        let applied = apply(
            &mut file,
            &defaults(),
            env(&[
                ("LPGATE_SYNC_DEFAULT_INTERVAL_SECS", "600"),
                ("LPGATE_ACT_EXCLUDE", "[\"vip@example.com\"]"),
                ("LPGATE_QUERY_TIMEOUT_SECS", "2.5"),
                ("LPGATE_DATA_DIR", "/x"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(applied.len(), 3);
        assert_eq!(
            file["sync"]["default_interval_secs"].as_integer(),
            Some(600)
        );
        assert_eq!(file["act"]["exclude"][0].as_str(), Some("vip@example.com"));
        let err = apply(
            &mut defaults(),
            &defaults(),
            env(&[("LPGATE_SYNC_INTERVL", "5")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("LPGATE_SYNC_INTERVL"), "{err}");
        let err = apply(
            &mut defaults(),
            &defaults(),
            env(&[("LPGATE_SYNC_DEFAULT_INTERVAL_SECS", "soon")]),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("soon"), "{err:#}");
    }

    #[test]
    fn secrets_come_from_files_and_are_masked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("days");
        std::fs::write(&f, "30\n").unwrap();
        let mut file = defaults();
        apply(
            &mut file,
            &defaults(),
            env(&[("LPGATE_RULES_INACTIVE_DAYS_FILE", f.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(file["rules"]["inactive_days"].as_integer(), Some(30));
        let v: Value = toml::from_str(
            "[[notifications.channels]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://x\"\nsecret = \"hunter2\"\nsecret_file = \"/run/s\"\n",
        )
        .unwrap();
        let m = masked(&v).to_string();
        assert!(
            !m.contains("hunter2") && m.contains("********") && m.contains("/run/s"),
            "{m}"
        );
        assert_eq!(
            masked_url("https://hooks.slack.com/services/T1/B2/xyz"),
            "https://hooks.slack.com/********"
        );
        assert_eq!(
            masked_url("http://h:8080/?token=t"),
            "http://h:8080/********"
        );
        assert_eq!(masked_url("http://h:8080/"), "http://h:8080/");
        assert_eq!(masked_url("http://h:8080"), "http://h:8080");
    }
}
