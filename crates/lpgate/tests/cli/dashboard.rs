//! The dashboard over real HTTP (`lpgate serve`): sign-in and sessions, every page, search,
//! access control (no session, read-only tokens, CSRF), approving and applying a held plan,
//! and reports. The browser test is in `dashboard_browser.rs`.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{Env, env};
use crate::serve::{Server, get, start, token};

/// A browser without JavaScript: keeps cookies, follows no redirects.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
    headers: Vec<(&'static str, String)>,
}

pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Browser {
    pub(crate) fn new(s: &Server) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
            cookies: HashMap::new(),
            headers: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Reply {
        let mut req = req.header("cookie", self.cookie_header());
        for (k, v) in &self.headers {
            req = req.header(*k, v);
        }
        let res = req.send().await.unwrap();
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Reply {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub(crate) async fn htmx(&mut self, path: &str) -> Reply {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("hx-request", "true");
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(form).unwrap();
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// Signs in with `token` through the form; returns the session's CSRF token.
    pub(crate) async fn sign_in(&mut self, token: &str) -> String {
        let form = self.get("/ui/sign-in").await;
        let csrf = csrf_of(&form.body);
        let r = self
            .post("/ui/sign-in", &[("csrf", &csrf), ("token", token)])
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), "/ui");
        let overview = self.get("/ui").await;
        assert_eq!(overview.status, 200, "{}", overview.body);
        csrf_of(&overview.body)
    }
}

/// The CSRF token of the first form on a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field in {html}"));
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A synced account with a plan held for approval (over the removal limit), and tokens of
/// each scope: (env, server, admin, writer, reader, held plan id, a user's email).
pub(crate) async fn setup() -> (Env, Server, String, String, String, i64, String) {
    let e = env(60).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let config = e.data().join("lpgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("max_removals = 25", "max_removals = 2"),
    )
    .unwrap();
    let admin = token(&e, "root", "admin", None).await;
    let writer = token(&e, "hr-bot", "write", Some("acme")).await;
    let reader = token(&e, "viewer", "read", None).await;
    let server = start(&e).await;
    let (_, users) = get(
        &server,
        Some(&admin),
        "/v1/users?status=active&admin=false&limit=10",
    )
    .await;
    let who: Vec<String> = users["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect();
    let body = json!({"account": "acme", "actions": who[..3].iter()
        .map(|w| json!({"action": "suspend", "email": w})).collect::<Vec<_>>()});
    let held: Value = serde_json::from_str(
        &reqwest::Client::new()
            .post(format!("{}/v1/plans", server.base))
            .bearer_auth(&writer)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(held["result"]["state"], "held", "{held}");
    let id = held["result"]["id"].as_i64().unwrap();
    let email = who[5].clone();
    (e, server, admin, writer, reader, id, email)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_sessions_and_access_control() {
    let (_e, server, admin, _writer, reader, held, email) = setup().await;
    let mut anon = Browser::new(&server);

    // No session: every page sends the browser to sign in; htmx gets HX-Redirect.
    for path in [
        "/ui",
        "/ui/users",
        "/ui/plans",
        "/ui/reports/mfa?format=csv",
    ] {
        let r = anon.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.location(), "/ui/sign-in", "{path}");
    }
    let r = anon.htmx("/ui/users?q=a").await;
    assert_eq!(r.headers["hx-redirect"], "/ui/sign-in");
    assert_eq!(anon.get("/").await.location(), "/ui");

    // The sign-in form: labelled, lang set; a missing or wrong CSRF token is 403, a bad
    // API token 401.
    let form = anon.get("/ui/sign-in").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<html lang=\"en\">"));
    assert!(form.body.contains("<label for=\"token\">"));
    let r = anon.post("/ui/sign-in", &[("token", &admin)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = anon
        .post("/ui/sign-in", &[("token", &admin), ("csrf", "wrong")])
        .await;
    assert_eq!(r.status, 403);
    let csrf = csrf_of(&anon.get("/ui/sign-in").await.body);
    let wrong = format!("lpg_{}", "A".repeat(43));
    let r = anon
        .post("/ui/sign-in", &[("token", &wrong), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("unknown"), "{}", r.body);

    // The admin signs in: the cookie is HttpOnly and SameSite=Strict (Secure behind TLS).
    let mut a = Browser::new(&server);
    let csrf_page = a.get("/ui/sign-in").await;
    let pre = csrf_of(&csrf_page.body);
    let r = a
        .post("/ui/sign-in", &[("token", &admin), ("csrf", &pre)])
        .await;
    let set = r.headers.get_all("set-cookie");
    let session = set
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("lpgate_session="))
        .unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    assert!(!session.contains("Secure"));
    let mut tls = Browser::new(&server);
    tls.headers.push(("x-forwarded-proto", "https".into()));
    let pre = csrf_of(&tls.get("/ui/sign-in").await.body);
    let r = tls
        .post("/ui/sign-in", &[("token", &admin), ("csrf", &pre)])
        .await;
    assert!(
        r.headers
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().contains("; Secure"))
    );
    let csrf = csrf_of(&a.get("/ui").await.body);

    // Every page renders with its key content.
    let user_id = {
        let r = a
            .get(&format!("/ui/users?q={}", email.split('@').next().unwrap()))
            .await;
        let at = r.body.find("href=\"/ui/users/").unwrap() + "href=\"/ui/users/".len();
        r.body[at..at + r.body[at..].find('"').unwrap()].to_string()
    };
    let pages: &[(&str, &[&str])] = &[
        (
            "/ui",
            &[
                "Overview",
                "MFA coverage",
                "acme",
                "succeeded",
                "<svg",
                "Open findings",
            ],
        ),
        (
            "/ui/users",
            &["Search email or name", "<table", "/ui/users/"],
        ),
        ("/ui/users?status=active&admin=yes", &["admin"]),
        (
            &format!("/ui/users/{user_id}"),
            &[&email, "Groups", "Shared folders", "Timeline", "Last login"],
        ),
        ("/ui/groups", &["Groups", "Members"]),
        ("/ui/folders", &["Shared folders", "Security score"]),
        ("/ui/findings?all=1", &["Findings"]),
        ("/ui/changes", &["Changes"]),
        ("/ui/events", &["Events"]),
        ("/ui/runs", &["Sync runs", "succeeded"]),
        ("/ui/notifications", &["Notifications"]),
        ("/ui/plans", &["Plans", "held", "more than max_removals"]),
        (
            &format!("/ui/plans/{held}"),
            &["Held because", "Approve plan", "suspend"],
        ),
        ("/ui/audit", &["Audit log", "plan.create"]),
        ("/ui/reports", &["mfa", "format=csv", "passwords"]),
    ];
    for (path, needles) in pages {
        let r = a.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.headers["cache-control"], "no-store", "{path}");
        assert!(r.body.contains("<main"), "{path}");
        for n in *needles {
            assert!(r.body.contains(n), "{path} lacks {n:?}");
        }
    }

    // Search-as-you-type answers a fragment (no page frame) with the user.
    let part = &email[..email.find('@').unwrap()];
    let r = a.htmx(&format!("/ui/users?q={part}")).await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<html"));
    assert!(r.body.contains(&email), "{}", r.body);
    let r = a.htmx("/ui/users?q=zzzznobody").await;
    assert!(r.body.contains("No user matches"));

    // MFA and inactivity filters.
    let with = a.get("/ui/users?mfa=yes").await.body;
    let without = a.get("/ui/users?mfa=no").await.body;
    assert!(with.contains("/ui/users/") && !with.contains("<td>none</td>"));
    assert!(without.contains("<td>none</td>"));
    assert!(!without.contains("lastpass_authenticator"));
    let never = a.get("/ui/users?inactive=3650&status=staged").await.body;
    assert!(never.contains("<td>never</td>"), "{never}");
    let recent = a.get("/ui/users?inactive=1&status=active").await.body;
    let all_active = a.get("/ui/users?status=active").await.body;
    assert!(recent.matches("<tr>").count() <= all_active.matches("<tr>").count());
    assert_eq!(a.get("/ui/users?inactive=x").await.status, 400);

    // Reports from the dashboard, as /v1 renders them.
    let r = a.get("/ui/reports/mfa?format=csv").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let r = a.get("/ui/reports/admins?format=html").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<html"));
    assert_eq!(a.get("/ui/reports/nope").await.status, 404);

    // Assets come from the binary with a long cache.
    let r = a.get("/ui/assets/htmx-2.0.4.min.js").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    assert!(r.body.contains("htmx"));

    // A read-only token sees no action buttons, and the server refuses the actions anyway.
    let mut ro = Browser::new(&server);
    let ro_csrf = ro.sign_in(&reader).await;
    let r = ro.get(&format!("/ui/plans/{held}")).await;
    assert!(r.body.contains("Held because"));
    assert!(!r.body.contains("Approve plan") && !r.body.contains("Apply plan"));
    let r = ro.get("/ui/notifications").await;
    assert!(!r.body.contains("Retry"));
    for action in ["approve", "apply"] {
        let r = ro
            .post(
                &format!("/ui/plans/{held}/{action}"),
                &[("csrf", &ro_csrf), ("by", "me")],
            )
            .await;
        assert_eq!(r.status, 403, "{action}: {}", r.body);
    }
    assert_eq!(
        ro.post("/ui/notifications/1/retry", &[("csrf", &ro_csrf)])
            .await
            .status,
        403
    );
    // A read token for all accounts may not read the audit log (as /v1/audit).
    assert_eq!(ro.get("/ui/audit").await.status, 403);

    // CSRF: missing or wrong is 403 and changes nothing.
    let approve = format!("/ui/plans/{held}/approve");
    assert_eq!(a.post(&approve, &[("by", "Dana")]).await.status, 403);
    assert_eq!(
        a.post(&approve, &[("by", "Dana"), ("csrf", "x")])
            .await
            .status,
        403
    );
    assert_eq!(
        a.post(&approve, &[("by", "Dana"), ("csrf", &ro_csrf)])
            .await
            .status,
        403,
        "another session's token"
    );
    assert!(
        a.get(&format!("/ui/plans/{held}"))
            .await
            .body
            .contains("Approve plan")
    );

    // The admin approves, then applies, the held plan.
    let r = a.post(&approve, &[("by", "Dana"), ("csrf", &csrf)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = a.get(r.location()).await;
    assert!(r.body.contains("approved by Dana"), "{}", r.body);
    assert!(r.body.contains("Apply plan"));
    let r = a
        .post(&format!("/ui/plans/{held}/apply"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = a.get(r.location()).await;
    assert!(r.body.contains("Applied: 3 done"), "{}", r.body);
    let audit = a.get("/ui/audit").await.body;
    assert!(audit.contains("plan.approve") && audit.contains("token:root"));

    // Sign-out ends the session server-side: the old cookie no longer works.
    let old = a.cookies.clone();
    let r = a.post("/ui/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(a.get("/ui").await.status, 303);
    a.cookies = old;
    assert_eq!(a.get("/ui").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_sessions_end_when_the_token_is_revoked() {
    let e = env(10).await;
    e.linked().await;
    e.ok(&["sync", "acme"]).await;
    let t = token(&e, "temp", "read", None).await;
    let server = start(&e).await;
    let mut b = Browser::new(&server);
    b.sign_in(&t).await;
    e.ok(&["token", "revoke", "temp"]).await;
    // The verified-token cache trusts a token for up to 30 s; wait it out.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    loop {
        let r = b.get("/ui/users").await;
        if r.status == 303 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still signed in");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The users listed on a dashboard page, in order: (email, full name).
fn listed(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for row in html.split("<tr><td><a href=\"/ui/users/").skip(1) {
        let email = row.split('>').nth(1).unwrap().split('<').next().unwrap();
        let name = row.split("<td>").nth(1).unwrap().split('<').next().unwrap();
        out.push((email.to_string(), name.replace("&#x27;", "'")));
    }
    out
}

/// The `href` of the "Next page" link, unescaped.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("\" rel=\"next\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    Some(html[start..at].replace("&amp;", "&").replace("&#38;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_users_sort_by_any_column_and_search_by_words_or_text() {
    let (_e, server, admin, _writer, _reader, _held, email) = setup().await;
    let mut a = Browser::new(&server);
    a.sign_in(&admin).await;
    let (_, all) = get(&server, Some(&admin), "/v1/users?limit=500").await;
    let all = all["result"].as_array().unwrap().clone();
    assert!(all.len() > 50, "more than a page of users: {}", all.len());

    // Sorted by name both ways, walked through the pages' own links.
    for (sort, descending) in [("name", false), ("-name", true)] {
        let mut want: Vec<&Value> = all.iter().collect();
        want.sort_by(|x, y| {
            let key = |u: &Value| {
                (
                    u["fullname"].as_str().unwrap().to_lowercase(),
                    u["account"].as_str().unwrap().to_string(),
                    u["email"].as_str().unwrap().to_string(),
                )
            };
            key(x).cmp(&key(y))
        });
        if descending {
            want.reverse();
        }
        let mut got = Vec::new();
        let mut path = format!("/ui/users?sort={sort}");
        let mut seen = Vec::new();
        loop {
            seen.push(path.clone());
            assert!(seen.len() < 10, "pages never end: {seen:?}");
            let r = a.get(&path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            got.extend(listed(&r.body).into_iter().map(|(e, _)| e));
            match next_link(&r.body) {
                Some(next) => {
                    assert!(next.contains("offset="), "{next}");
                    path = next;
                }
                None => break,
            }
        }
        let want: Vec<String> = want
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "sort={sort}");
    }
    // The sorted column says so and its heading reverses it; another column starts ascending.
    let page = a.get("/ui/users?sort=name").await.body;
    assert!(page.contains("aria-sort=\"ascending\""), "{page}");
    assert!(page.contains("sort=-name"), "{page}");
    assert!(page.contains("sort=last_login"), "{page}");
    // Most recent login first.
    let recent = listed(&a.get("/ui/users?sort=-last_login").await.body);
    let newest = all
        .iter()
        .filter_map(|u| u["last_login"].as_str())
        .max()
        .unwrap();
    let top = all
        .iter()
        .find(|u| u["email"].as_str() == Some(recent[0].0.as_str()))
        .unwrap();
    assert_eq!(top["last_login"].as_str(), Some(newest));
    let r = a.get("/ui/users?sort=shoe_size").await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("sort: unknown column") && r.body.contains("shoe_size"),
        "{}",
        r.body
    );
    assert_eq!(a.get("/ui/users?sort=name&offset=x").await.status, 400);

    // Typed words find by word prefix (the free-text index), in any order of words…
    let user = all
        .iter()
        .find(|u| u["email"].as_str() == Some(email.as_str()))
        .unwrap();
    let name = user["fullname"].as_str().unwrap();
    let mut words = name.split(' ');
    let (first, last) = (words.next().unwrap(), words.next_back().unwrap());
    let typed = format!("{} {}", &last[..3], &first[..2]);
    let r = a
        .htmx(&format!("/ui/users?q={}", typed.replace(' ', "+")))
        .await;
    let found = listed(&r.body);
    assert!(found.iter().any(|(e, _)| *e == email), "{typed}: {found:?}");
    for (_, n) in &found {
        let lower = n.to_lowercase();
        assert!(
            lower
                .split(' ')
                .any(|w| w.starts_with(&last[..3].to_lowercase()))
                || found
                    .iter()
                    .any(|(e, _)| e.contains(&last[..3].to_lowercase())),
            "{n} does not match {typed}"
        );
    }
    // …and what no word starts with (the domain) is offered as a substring search, which
    // finds it inside the addresses.
    let domain = &email[email.find('@').unwrap() + 1..];
    let r = a.htmx(&format!("/ui/users?q={domain}")).await;
    assert!(listed(&r.body).is_empty(), "{}", r.body);
    assert!(r.body.contains("No user matches"), "{}", r.body);
    let inside = format!("/ui/users?q={domain}&match=substring");
    assert!(
        r.body
            .replace("&amp;", "&")
            .replace("&#38;", "&")
            .contains(&inside),
        "{}",
        r.body
    );
    let r = a.htmx(&inside).await;
    assert_eq!(listed(&r.body).len(), 50, "{}", r.body);
    assert!(listed(&r.body).iter().all(|(e, _)| e.ends_with(domain)));
    // Shared folders list their member and administrator counts (kept by the sync), in
    // slices; past the end is an empty slice.
    let (_, folders) = get(&server, Some(&admin), "/v1/folders").await;
    let folder = &folders["result"][0];
    let page = a.get("/ui/folders").await.body;
    assert!(
        page.contains("<th scope=\"col\">Administrators</th>"),
        "{page}"
    );
    let row = format!(
        "<td>{}</td><td>{}</td><td>{}</td>",
        folder["name"].as_str().unwrap(),
        folder["members"],
        folder["administrators"]
    );
    assert!(page.contains(&row), "{row} in {page}");
    assert!(!page.contains("rel=\"next\""));
    let past = a.get("/ui/folders?from=100000").await;
    assert_eq!(past.status, 200);
    assert!(!past.body.contains(&row));
    let r = a.get("/ui/users?q=x&match=regex").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("match: unknown value"), "{}", r.body);
}
