//! `GET /openapi.json` is generated from the code; `docs/openapi.json` must be that document.
//! After changing the API, refresh the file with
//! `LPGATE_UPDATE_OPENAPI=1 cargo test -p lpgate --test cli openapi`.

use std::path::PathBuf;

use crate::helpers::env;
use crate::serve::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_openapi_document_matches_docs_openapi_json() {
    let env = env(1).await;
    env.ok(&["init"]).await;
    let server = start(&env).await;
    // No token needed: the document describes the API, not the directory.
    let res = reqwest::get(format!("{}/openapi.json", server.base))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let served: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/users",
        "/v1/groups/{id}/members",
        "/v1/events",
        "/metrics",
        "/v1/plans/{id}/apply",
        "/v1/query",
    ] {
        assert!(served["paths"].get(path).is_some(), "{path} missing");
    }
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var_os("LPGATE_UPDATE_OPENAPI").is_some() {
        std::fs::write(&file, &pretty).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/openapi.json is not the document the server serves. Refresh it with\n  \
         LPGATE_UPDATE_OPENAPI=1 cargo test -p lpgate --test cli openapi\nand commit it."
    );
}
