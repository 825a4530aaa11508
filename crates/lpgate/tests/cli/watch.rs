//! `query`, `search`, `rules`, `findings` and `hr load` through the binary.

use crate::helpers::{env, path, text};

#[tokio::test]
async fn query_search_rules_findings_and_hr_from_the_command_line() {
    let e = env(120).await;
    e.linked().await;
    let out = e.run(&["sync", "acme"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("findings:"), "{}", text(&out));

    // query: every format, the views' columns.
    let rows = e
        .json(&[
            "query",
            "SELECT email, role, mfa FROM users WHERE admin ORDER BY email",
        ])
        .await;
    let admins = e
        .emu
        .emulator()
        .view()
        .users
        .iter()
        .filter(|u| u.admin)
        .count();
    assert_eq!(rows.len(), admins);
    assert!(rows.iter().all(|r| r["role"] == "admin"));
    let csv = e
        .ok(&[
            "query",
            "SELECT COUNT(*) AS n FROM users",
            "--format",
            "csv",
        ])
        .await;
    assert!(csv.starts_with("n\n"), "{csv}");
    let table = e.ok(&["query", "SELECT name FROM groups LIMIT 2"]).await;
    assert!(table.lines().next().unwrap().contains("name"), "{table}");
    // Refusals and limits exit 1 with the reason.
    let out = e.run(&["query", "DELETE FROM main.users"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("query refused"), "{}", text(&out));
    let out = e
        .run(&[
            "query",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c",
            "--timeout-secs",
            "0.2",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("query cancelled"), "{}", text(&out));
    let out = e
        .run(&[
            "query",
            "SELECT email FROM users",
            "--max-rows",
            "3",
            "--format",
            "json",
        ])
        .await;
    assert!(out.status.success());
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.len(), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("only the first 3 rows"));
    let out = e.run(&["query", "SELECT 1", "--max-rows", "0"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // search
    let someone = e.emu.emulator().view().users[5].clone();
    let hits = e.json(&["search", &someone.fullname]).await;
    assert_eq!(
        hits[0]["key"],
        serde_json::json!(someone.username),
        "{hits:?}"
    );

    // rules and findings
    let rules = e.json(&["rules", "list"]).await;
    assert!(
        rules
            .iter()
            .any(|r| r["name"] == "admin-without-mfa" && r["origin"] == "built-in")
    );
    let findings = e.json(&["findings", "--open"]).await;
    let checked = e.json(&["rules", "check", "--account", "acme"]).await;
    assert_eq!(
        findings.len(),
        checked.len(),
        "check shows what sync recorded"
    );
    let file = e.dir.path().join("mine.toml");
    std::fs::write(
        &file,
        "[[rule]]\nname = \"gmail-admin\"\nseverity = \"high\"\ndescription = \"x\"\nsql = \"SELECT email FROM users WHERE admin\"\n",
    )
    .unwrap();
    let tested = e.json(&["rules", "test", path(&file)]).await;
    assert_eq!(tested.len(), admins);
    std::fs::write(
        &file,
        "[[rule]]\nname = \"bad\"\nseverity = \"high\"\ndescription = \"x\"\nsql = \"SELECT fullname FROM users\"\n",
    )
    .unwrap();
    let out = e.run(&["rules", "test", path(&file)]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("key column \"email\""),
        "{}",
        text(&out)
    );

    // hr load: bad rows are named and nothing is loaded; a good file is.
    let hr = e.dir.path().join("hr.csv");
    std::fs::write(&hr, "Work Email,Name,Status\nann@example.com,Ann,active\nnot-an-email,Bob,active\ncid@example.com,Cid,retired\n").unwrap();
    let out = e
        .run(&["hr", "load", path(&hr), "--email-column", "work email"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(
        msg.contains("line 3") && msg.contains("not-an-email"),
        "{msg}"
    );
    assert!(msg.contains("line 4") && msg.contains("retired"), "{msg}");
    assert_eq!(
        e.json(&["query", "SELECT COUNT(*) AS n FROM hr_people"])
            .await[0]["n"],
        0
    );
    std::fs::write(
        &hr,
        format!("Work Email,Name\n{},Someone\n", someone.username),
    )
    .unwrap();
    e.ok(&["hr", "load", path(&hr), "--email-column", "Work Email"])
        .await;
    let not_in_hr = e.json(&["rules", "check", "--rule", "not-in-hr"]).await;
    assert!(!not_in_hr.is_empty());
    assert!(
        not_in_hr
            .iter()
            .all(|r| r["key"] != serde_json::json!(someone.username))
    );
}
