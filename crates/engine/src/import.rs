//! Reading actions and HR exports from CSV, and turning an HR export into plans: group
//! membership as HR says it should be, and offboarding of leavers. Every bad row is reported
//! with its line and field, and nothing is planned when any row is bad.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lpgate_domain::directory::looks_like_email;
use lpgate_domain::{AccountStatus, Action, ActionKind, ActionParams, UserRecord};

/// Rows that could not be read; nothing from the file was used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {} bad row(s); nothing was taken from the file:\n  {}", errors.len(), errors.join("\n  "))]
pub struct ImportError {
    /// The file, as named to the user.
    pub file: String,
    /// One message per problem: `line N: FIELD: …`.
    pub errors: Vec<String>,
}

fn import_error(file: &str, errors: Vec<String>) -> ImportError {
    ImportError {
        file: file.to_string(),
        errors,
    }
}

/// Splits a group list cell (`;` or `|` between names).
fn group_list(cell: &str) -> Vec<String> {
    cell.split([';', '|'])
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads an actions CSV: a header row, then one action per row. Columns: `action`, `email`
/// (required); `fullname`, `group` / `groups` (names separated by `;`), `duo_username`,
/// `securid_username`, `password_reset_required` (true/false) and `attrib.NAME` columns
/// (optional).
pub fn actions_csv(text: &str, file: &str) -> Result<Vec<Action>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let original: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => return Err(import_error(file, vec![format!("line 1: {e}")])),
    };
    let headers: Vec<String> = original.iter().map(|h| h.to_ascii_lowercase()).collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(action_i), Some(email_i)) = (col("action"), col("email")) else {
        return Err(import_error(
            file,
            vec![format!(
                "line 1: the header needs columns action and email (found: {})",
                headers.join(", ")
            )],
        ));
    };
    let known = [
        "action",
        "email",
        "fullname",
        "group",
        "groups",
        "duo_username",
        "securid_username",
        "password_reset_required",
    ];
    let mut errors = Vec::new();
    for h in &headers {
        if !known.contains(&h.as_str()) && !h.starts_with("attrib.") {
            errors.push(format!(
                "line 1: unknown column {h:?} (known: {}, attrib.NAME)",
                known.join(", ")
            ));
        }
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let get = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let kind = match ActionKind::parse(&record.get(action_i).unwrap_or("").to_lowercase()) {
            Ok(k) => k,
            Err(e) => {
                errors.push(format!("line {line}: action: {e}"));
                continue;
            }
        };
        let email = record.get(email_i).unwrap_or("").to_lowercase();
        if !looks_like_email(&email) {
            errors.push(format!("line {line}: email: invalid email {email:?}"));
            continue;
        }
        let mut groups = get("groups").map(|g| group_list(&g)).unwrap_or_default();
        if let Some(g) = get("group") {
            groups.extend(group_list(&g));
        }
        let password_reset_required = match get("password_reset_required").as_deref() {
            None => None,
            Some("true" | "TRUE" | "True" | "1" | "yes") => Some(true),
            Some("false" | "FALSE" | "False" | "0" | "no") => Some(false),
            Some(other) => {
                errors.push(format!(
                    "line {line}: password_reset_required: invalid value {other:?}: expected true or false"
                ));
                continue;
            }
        };
        let attribs: BTreeMap<String, String> = original
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let name = h
                    .get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("attrib."))
                    .map(|_| &h[7..])?;
                let v = record.get(i).filter(|v| !v.is_empty())?;
                Some((name.to_string(), v.to_string()))
            })
            .collect();
        let params = ActionParams {
            fullname: get("fullname"),
            groups,
            duo_username: get("duo_username"),
            securid_username: get("securid_username"),
            password_reset_required,
            attribs,
        };
        let problem = match kind {
            ActionKind::AddToGroup | ActionKind::RemoveFromGroup if params.groups.is_empty() => {
                Some("group: required for this action")
            }
            ActionKind::Update
                if params.fullname.is_none()
                    && params.duo_username.is_none()
                    && params.securid_username.is_none() =>
            {
                Some("fullname: update needs fullname, duo_username or securid_username")
            }
            _ => None,
        };
        if let Some(p) = problem {
            errors.push(format!("line {line}: {p}"));
            continue;
        }
        // add/remove with several groups: one action per group.
        if matches!(kind, ActionKind::AddToGroup | ActionKind::RemoveFromGroup) {
            for g in &params.groups {
                out.push(Action {
                    kind,
                    email: email.clone(),
                    params: ActionParams {
                        groups: vec![g.clone()],
                        ..ActionParams::default()
                    },
                });
            }
        } else {
            out.push(Action {
                kind,
                email,
                params,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(import_error(file, errors))
    }
}

/// Which CSV columns hold what in an HR export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrColumns {
    /// Work email (required).
    pub email: String,
    /// Name (optional).
    pub name: String,
    /// Employment status: active / terminated (optional; everyone active without it).
    pub status: String,
    /// Department (optional).
    pub department: String,
    /// Desired LastPass groups, `;`-separated (optional; `plan groups` needs it).
    pub groups: String,
}

impl Default for HrColumns {
    fn default() -> Self {
        HrColumns {
            email: "email".into(),
            name: "name".into(),
            status: "status".into(),
            department: "department".into(),
            groups: "groups".into(),
        }
    }
}

/// One person in an HR export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrRow {
    /// Lowercase work email.
    pub email: String,
    /// Name.
    pub name: Option<String>,
    /// Still employed.
    pub active: bool,
    /// Department.
    pub department: Option<String>,
    /// Desired groups, when the file has the column.
    pub groups: Option<Vec<String>>,
}

/// Reads an HR export. Status words: active/employed/leave (active), terminated/inactive/left
/// (not); anything else is a bad row.
pub fn hr_csv(text: &str, file: &str, cols: &HrColumns) -> Result<Vec<HrRow>, ImportError> {
    let (rows, errors) = hr_csv_lenient(text, file, cols)?;
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(import_error(file, errors))
    }
}

/// Reads an HR export as [`hr_csv`] does, but keeps the good rows when some are bad and
/// returns the bad rows' messages beside them (`line N: column: …`), for reports that list
/// bad rows instead of refusing the file. Only a file without a usable header is an error.
pub fn hr_csv_lenient(
    text: &str,
    file: &str,
    cols: &HrColumns,
) -> Result<(Vec<HrRow>, Vec<String>), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => return Err(import_error(file, vec![format!("line 1: {e}")])),
    };
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let Some(email_i) = col(&cols.email) else {
        return Err(import_error(
            file,
            vec![format!(
                "line 1: no column {:?} (columns: {}); name the email column",
                cols.email,
                headers.join(", ")
            )],
        ));
    };
    let (name_i, status_i, dept_i, groups_i) = (
        col(&cols.name),
        col(&cols.status),
        col(&cols.department),
        col(&cols.groups),
    );
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let email = record.get(email_i).unwrap_or("").to_lowercase();
        if !looks_like_email(&email) {
            errors.push(format!(
                "line {line}: {}: invalid email {email:?}",
                cols.email
            ));
            continue;
        }
        if let Some(first) = seen.insert(email.clone(), line) {
            errors.push(format!(
                "line {line}: {}: {email} is already on line {first}",
                cols.email
            ));
            continue;
        }
        let active = match status_i.map(|s| record.get(s).unwrap_or("").to_lowercase()) {
            None => true,
            Some(s) if ["", "active", "employed", "leave", "on leave"].contains(&s.as_str()) => {
                true
            }
            Some(s) if ["terminated", "inactive", "left", "former"].contains(&s.as_str()) => false,
            Some(other) => {
                errors.push(format!(
                    "line {line}: {}: invalid status {other:?}: expected active or terminated",
                    cols.status
                ));
                continue;
            }
        };
        let opt = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        rows.push(HrRow {
            email,
            name: opt(name_i),
            active,
            department: opt(dept_i),
            groups: groups_i.map(|g| group_list(record.get(g).unwrap_or(""))),
        });
    }
    Ok((rows, errors))
}

/// Group changes that make LastPass match HR: for every employee present in LastPass, join
/// the groups HR lists and leave the *managed* groups (every group named anywhere in the
/// file) HR does not list. Groups the file never names are left alone, and so are people
/// without an HR row.
pub fn hr_group_actions(hr: &[HrRow], users: &[UserRecord]) -> Result<Vec<Action>, String> {
    if hr.iter().all(|r| r.groups.is_none()) {
        return Err("the HR file has no groups column (name it with --groups-column)".into());
    }
    let managed: BTreeSet<&String> = hr
        .iter()
        .filter_map(|r| r.groups.as_ref())
        .flatten()
        .collect();
    let by_email: HashMap<&str, &UserRecord> = users
        .iter()
        .filter(|u| u.status != AccountStatus::Deprovisioned)
        .map(|u| (u.email.as_str(), u))
        .collect();
    let mut out = Vec::new();
    for row in hr.iter().filter(|r| r.active) {
        let (Some(want), Some(user)) = (&row.groups, by_email.get(row.email.as_str())) else {
            continue;
        };
        let want: BTreeSet<&String> = want.iter().collect();
        let have: BTreeSet<&String> = user.groups.iter().collect();
        for g in want.difference(&have) {
            out.push(group_action(ActionKind::AddToGroup, &row.email, g));
        }
        for g in have.intersection(&managed) {
            if !want.contains(g) {
                out.push(group_action(ActionKind::RemoveFromGroup, &row.email, g));
            }
        }
    }
    Ok(out)
}

fn group_action(kind: ActionKind, email: &str, group: &str) -> Action {
    Action {
        kind,
        email: email.to_string(),
        params: ActionParams {
            groups: vec![group.to_string()],
            ..ActionParams::default()
        },
    }
}

/// Offboarding: users present in LastPass whose HR row says terminated, and (with `orphans`)
/// those with no HR row at all, each getting `action` (suspend by default).
pub fn offboard_actions(
    hr: &[HrRow],
    users: &[UserRecord],
    orphans: bool,
    action: ActionKind,
) -> Vec<Action> {
    let rows: HashMap<&str, &HrRow> = hr.iter().map(|r| (r.email.as_str(), r)).collect();
    users
        .iter()
        .filter(|u| u.status != AccountStatus::Deprovisioned)
        .filter(|u| match rows.get(u.email.as_str()) {
            Some(r) => !r.active,
            None => orphans,
        })
        .map(|u| Action {
            kind: action,
            email: u.email.clone(),
            params: ActionParams::default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_csv_reads_good_rows_and_names_every_bad_one() {
        let good = "action,email,fullname,groups,attrib.Department\n\
                    provision,Ann@Example.com,Ann Lee,Sales;Ops,Finance\n\
                    add-to-group,bob@example.com,,Ops,\n\
                    suspend,cid@example.com,,,\n";
        let a = actions_csv(good, "a.csv").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].email, "ann@example.com");
        assert_eq!(a[0].params.groups, vec!["Sales", "Ops"]);
        assert_eq!(a[0].params.attribs["Department"], "Finance");
        let bad = "action,email,group\n\
                   provision,ann@example.com,\n\
                   nuke,bob@example.com,\n\
                   suspend,not-an-email,\n\
                   add-to-group,cid@example.com,\n";
        let err = actions_csv(bad, "b.csv").unwrap_err();
        assert_eq!(err.errors.len(), 3, "{err}");
        assert!(err.errors[0].starts_with("line 3: action"), "{err}");
        assert!(err.errors[1].starts_with("line 4: email"), "{err}");
        assert!(err.errors[2].starts_with("line 5: group"), "{err}");
        assert!(err.to_string().contains("nothing was taken"));
        let err = actions_csv("email\nx@y.z\n", "c.csv").unwrap_err();
        assert!(err.errors[0].contains("action and email"));
    }
}
