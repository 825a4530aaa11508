//! Users' search vectors, computed here and sent in PostgreSQL's binary `tsvector` format.
//!
//! The vector was a generated column; computing it in the server (two `regexp_replace`, two
//! `to_tsvector`) cost about as much as the rest of a user's row insert together, 1–2 s per
//! 100,000 users on a 2-core machine. Computed here, it is a few microseconds of the writer's
//! thread. [`USER_SEARCH_SQL`] is the same vector in SQL, kept for rows written by SQL alone
//! (`lpgate migrate`, the migration that dropped the generated expression), and a test checks
//! both agree.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// The vector of a `users` row in SQL: the name's words weigh A, the words of the address
/// before the `@` weigh B. Folding is ASCII only, as the "C" collation of the columns does,
/// and only ASCII letters and digits make words.
pub const USER_SEARCH_SQL: &str = "setweight(to_tsvector('simple', regexp_replace(lower(fullname), '[^[:alnum:]]+', ' ', 'g')), 'A') || \
     setweight(to_tsvector('simple', regexp_replace(lower(split_part(email, '@', 1)), '[^[:alnum:]]+', ' ', 'g')), 'B')";

/// Longest lexeme PostgreSQL keeps (`to_tsvector` drops longer words).
const MAX_LEXEME: usize = 2047;
/// Largest position (`MAXENTRYPOS - 1`); later words share it.
const MAX_POS: u16 = (1 << 14) - 1;
/// Most positions one lexeme keeps (`MAXNUMPOS`).
const MAX_POSITIONS: usize = 256;
/// Weight bits of a position: A is 3, B is 2.
const WEIGHT_A: u16 = 3 << 14;
const WEIGHT_B: u16 = 2 << 14;

/// A `tsvector`: lexemes in PostgreSQL's order (bytewise), each with its positions (weight
/// in the top two bits), ascending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchVector {
    lexemes: Vec<(String, Vec<u16>)>,
}

/// The words `to_tsvector('simple', regexp_replace(lower(text), '[^[:alnum:]]+', ' ', 'g'))`
/// finds: runs of ASCII letters and digits, lowercased.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && w.len() <= MAX_LEXEME)
        .map(|w| w.to_ascii_lowercase())
}

impl SearchVector {
    /// The vector of a user, equal to [`USER_SEARCH_SQL`] over the same row.
    pub fn user(fullname: &str, email: &str) -> Self {
        let local = email.split('@').next().unwrap_or_default();
        let mut entries: Vec<(String, u16)> = Vec::new();
        let mut pos: u16 = 0;
        for w in words(fullname) {
            pos = (pos + 1).min(MAX_POS);
            entries.push((w, pos | WEIGHT_A));
        }
        // `||` shifts the right vector's positions past the left one's largest.
        let shift = pos;
        let mut pos: u16 = 0;
        for w in words(local) {
            pos = pos.saturating_add(1);
            entries.push((w, (shift.saturating_add(pos)).min(MAX_POS) | WEIGHT_B));
        }
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut lexemes: Vec<(String, Vec<u16>)> = Vec::new();
        for (w, p) in entries {
            match lexemes.last_mut() {
                Some((last, positions)) if *last == w => {
                    // Positions capped at MAX_POS collapse into one, as PostgreSQL's do.
                    let same = positions.last().is_some_and(|q| q & MAX_POS == p & MAX_POS);
                    if !same && positions.len() < MAX_POSITIONS {
                        positions.push(p);
                    }
                }
                _ => lexemes.push((w, vec![p])),
            }
        }
        for (_, positions) in &mut lexemes {
            positions.sort_by_key(|p| p & MAX_POS);
        }
        Self { lexemes }
    }
}

impl ToSql for SearchVector {
    /// `tsvectorsend`'s format: the lexeme count, then each lexeme as a NUL-terminated
    /// string, its position count and its positions.
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_i32(i32::try_from(self.lexemes.len())?);
        for (lexeme, positions) in &self.lexemes {
            out.put_slice(lexeme.as_bytes());
            out.put_u8(0);
            out.put_u16(u16::try_from(positions.len())?);
            for p in positions {
                out.put_u16(*p);
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TS_VECTOR
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_weigh_by_where_they_come_from_and_positions_follow_on() {
        let v = SearchVector::user("Anna-Lena O'Brien", "anna.obrien2@x.example.com");
        let got: Vec<(&str, Vec<u16>)> = v
            .lexemes
            .iter()
            .map(|(l, p)| (l.as_str(), p.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("anna", vec![1 | WEIGHT_A, 5 | WEIGHT_B]),
                ("brien", vec![4 | WEIGHT_A]),
                ("lena", vec![2 | WEIGHT_A]),
                ("o", vec![3 | WEIGHT_A]),
                ("obrien2", vec![6 | WEIGHT_B]),
            ]
        );
    }

    #[test]
    fn only_ascii_letters_and_digits_make_words() {
        let v = SearchVector::user("José Ødegård", "jose@x");
        let lexemes: Vec<&str> = v.lexemes.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(lexemes, vec!["deg", "jos", "jose", "rd"]);
    }

    /// The vector sent equals the SQL expression's over the same row, on a real server
    /// (`LPGATE_TEST_POSTGRES`; `skip` skips it, as the behaviour suite does).
    #[tokio::test]
    #[allow(clippy::panic)]
    async fn equals_the_sql_expression_on_a_server() {
        let server = match std::env::var("LPGATE_TEST_POSTGRES") {
            Ok(v) if v == "skip" => return,
            Ok(v) if !v.is_empty() => v,
            _ => panic!("LPGATE_TEST_POSTGRES is not set (or set it to skip)"),
        };
        let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let long = "x".repeat(3000);
        let cases: Vec<(String, String)> = [
            ("Anna-Lena O'Brien", "anna.obrien2@x.example.com"),
            ("José Ødegård", "jose.odegard@x.example.com"),
            ("ANNA anna Anna", "anna_anna-anna@x"),
            ("", "@x"),
            ("  --  ", "no-at-sign"),
            ("Li 2nd 42 x1y2", "li.2nd+tag@x"),
            ("Zoë D'Arcy-Smith Jr.", "zoe+darcy@example.com"),
            ("Tab\tName\nNew", "tab@x"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .chain([(format!("a {long} b"), "a@x".to_string())])
        .collect();
        for (name, email) in &cases {
            let v = SearchVector::user(name, email);
            let row = client
                .query_one(
                    &format!(
                        "SELECT ({USER_SEARCH_SQL})::text, $3::tsvector::text, ({USER_SEARCH_SQL}) = $3
                         FROM (SELECT $1::text COLLATE \"C\" AS fullname, $2::text COLLATE \"C\" AS email) r"
                    ),
                    &[name, email, &v],
                )
                .await
                .unwrap();
            let (sql, ours, same): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
            assert!(same, "{name:?} {email:?}: SQL {sql} but sent {ours}");
            assert_eq!(sql, ours, "{name:?} {email:?}");
        }
    }
}
