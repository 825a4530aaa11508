//! The status envelope of write commands and how its many dialects are read (spec §7).

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::lenient;

/// The fields every write reply may carry. Unknown extra fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct StatusReply {
    /// `OK`, `WARN`, `FAIL`, `success`, `Success`, or absent.
    #[serde(default, deserialize_with = "lenient::text")]
    pub status: Option<String>,
    /// Error messages (batch commands).
    #[serde(default, deserialize_with = "lenient::list")]
    pub errors: Vec<String>,
    /// The singular form some commands use, a string or a list.
    #[serde(default, deserialize_with = "lenient::list")]
    pub error: Vec<String>,
}

/// A problem LastPass reported for one user inside an otherwise accepted batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserError {
    /// The email the message is about, when the message starts with one.
    pub username: Option<String>,
    /// The message as LastPass sent it.
    pub message: String,
}

impl UserError {
    /// Reads the user out of messages such as `user2@example.com does not exist`.
    pub fn from_message(message: &str) -> Self {
        let username = message
            .split_whitespace()
            .find(|w| w.contains('@'))
            .map(|w| w.trim_matches(|c: char| "\"'(),:;".contains(c)).to_string());
        UserError {
            username,
            message: message.to_string(),
        }
    }
}

/// The result of an accepted write: empty `warnings` means LastPass said `OK`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriteOutcome {
    /// Per-user problems of a `WARN` reply; the rest of the batch was applied.
    pub warnings: Vec<UserError>,
}

impl WriteOutcome {
    /// True when LastPass applied everything.
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty()
    }
}

impl StatusReply {
    /// All error strings, whichever key they came under.
    pub fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .chain(self.error.iter())
            .filter(|m| !m.trim().is_empty())
            .cloned()
            .collect()
    }

    /// Interprets the status words: `OK`/`success`/`Success` succeed, `WARN` is a partial
    /// success whose errors are reported per user, `FAIL` (or errors without a status) fail.
    pub fn into_outcome(self, command: &str) -> Result<WriteOutcome, Error> {
        let messages = self.messages();
        let status = self.status.as_deref().map(str::to_ascii_lowercase);
        match status.as_deref() {
            Some("ok") | Some("success") if messages.is_empty() => Ok(WriteOutcome::default()),
            Some("ok") | Some("success") | Some("warn") => Ok(WriteOutcome {
                warnings: messages
                    .iter()
                    .map(|m| UserError::from_message(m))
                    .collect(),
            }),
            None if messages.is_empty() => Err(Error::Decode {
                command: command.to_string(),
                reason: "the reply has no status".to_string(),
                snippet: String::new(),
            }),
            _ => Err(Error::Rejected {
                command: command.to_string(),
                errors: if messages.is_empty() {
                    vec![format!(
                        "status {}",
                        self.status.unwrap_or_else(|| "missing".to_string())
                    )]
                } else {
                    messages
                },
            }),
        }
    }

    /// For read replies: a `FAIL` status or bare errors mean the data is not there.
    pub fn check_read(
        status: Option<&str>,
        messages: Vec<String>,
        command: &str,
    ) -> Result<(), Error> {
        let failed = match status.map(str::to_ascii_lowercase).as_deref() {
            Some("fail") | Some("error") => true,
            Some(_) => false,
            None => !messages.is_empty(),
        };
        if failed {
            return Err(Error::Rejected {
                command: command.to_string(),
                errors: if messages.is_empty() {
                    vec![format!("status {}", status.unwrap_or("missing"))]
                } else {
                    messages
                },
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<WriteOutcome, Error> {
        serde_json::from_str::<StatusReply>(s)
            .unwrap()
            .into_outcome("batchadd")
    }

    #[test]
    fn status_dialects() {
        assert!(parse(r#"{"status":"OK"}"#).unwrap().is_clean());
        assert!(parse(r#"{"status":"success"}"#).unwrap().is_clean());
        assert!(parse(r#"{"status":"Success"}"#).unwrap().is_clean());
        let warn =
            parse(r#"{"status":"WARN","errors":["user2@example.com does not exist"]}"#).unwrap();
        assert_eq!(
            warn.warnings[0].username.as_deref(),
            Some("user2@example.com")
        );
        let fail = parse(r#"{"status":"FAIL","errors":["bad"]}"#).unwrap_err();
        assert!(matches!(fail, Error::Rejected { .. }));
        assert!(parse(r#"{"error":["x@y.z not found"]}"#).is_err());
        assert!(
            parse(r#"{"error":"boom"}"#)
                .unwrap_err()
                .to_string()
                .contains("boom")
        );
        assert!(matches!(parse("{}"), Err(Error::Decode { .. })));
    }
}
