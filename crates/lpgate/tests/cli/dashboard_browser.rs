//! The dashboard in a real headless Chromium driven over WebDriver (`chromedriver`, from
//! Debian's `chromium-driver`; `scripts/test` installs it): sign in, search as you type, open
//! a user, approve and apply a held plan, download a report. Screenshots of the main pages
//! land in `<target>/dashboard-screenshots/` for a person to look at.
//!
//! Without chromedriver this test fails, saying how to install it: it never skips.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::dashboard::setup;

struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> PathBuf {
    let candidates = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("chromedriver"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
        .chain([PathBuf::from("/usr/bin/chromedriver")]);
    for c in candidates {
        if c.is_file() {
            return c;
        }
    }
    panic!(
        "chromedriver not found: the dashboard's browser tests need Chromium and chromedriver \
         (Debian: apt-get install -y chromium chromium-driver; scripts/test installs them), \
         or set CHROMEDRIVER to its path"
    );
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver())
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver would not start");
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut options = json!({"args": [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
    ]});
    if let Some(bin) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
    {
        options["binary"] = json!(bin);
    }
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("could not open a Chromium session over WebDriver")
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Waits until the page's source contains `text`.
async fn wait_for_text(c: &Client, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let src = c.source().await.unwrap();
        if src.contains(text) {
            return src;
        }
        assert!(
            Instant::now() < deadline,
            "page never showed {text:?}: {src}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let driver = start_driver().await;
    let (_e, server, admin, _writer, _reader, held, email) = setup().await;
    let c = browser(&driver).await;
    let base = &server.base;

    // Without a session the browser lands on the sign-in form.
    c.goto(&format!("{base}/ui/users")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/ui/sign-in")
    );
    shot(&c, "01-sign-in").await;
    c.find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(&admin)
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "MFA coverage").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/ui");
    shot(&c, "02-overview").await;

    // Search as you type: the results region updates without a page load.
    c.goto(&format!("{base}/ui/users")).await.unwrap();
    wait_for_text(&c, "Search email or name").await;
    shot(&c, "03-users").await;
    let marker = "window.__same_page = true";
    c.execute(marker, vec![]).await.unwrap();
    let part = &email[..email.find('@').unwrap()];
    c.find(Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys(part)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = c.find_all(Locator::Css("#results tbody tr")).await.unwrap();
        let text = c
            .find(Locator::Css("#results"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if rows.len() < 50 && text.contains(&email) {
            break;
        }
        assert!(Instant::now() < deadline, "search never narrowed: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let same = c
        .execute("return window.__same_page === true", vec![])
        .await
        .unwrap();
    assert_eq!(
        same,
        json!(true),
        "the search reloaded the page instead of a fragment"
    );
    assert!(
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("q=")
    );
    shot(&c, "04-users-search").await;

    // Open the user.
    c.find(Locator::LinkText(&email))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Timeline").await;
    let h1 = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, email);
    shot(&c, "05-user").await;

    // Approve, then apply, the held plan.
    c.goto(&format!("{base}/ui/plans")).await.unwrap();
    wait_for_text(&c, "held").await;
    shot(&c, "06-plans").await;
    c.find(Locator::LinkText(&format!("Plan {held}")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Held because").await;
    shot(&c, "07-plan-held").await;
    c.find(Locator::Css("#by"))
        .await
        .unwrap()
        .send_keys("Dana")
        .await
        .unwrap();
    c.find(Locator::XPath(&format!(
        "//button[.='Approve plan {held}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_for_text(&c, "approved by Dana").await;
    c.find(Locator::XPath(&format!("//button[.='Apply plan {held}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Applied: 3 done").await;
    shot(&c, "08-plan-applied").await;

    // Reports: the HTML opens; the CSV downloads with the session's cookie.
    c.goto(&format!("{base}/ui/reports")).await.unwrap();
    wait_for_text(&c, "passwords").await;
    shot(&c, "09-reports").await;
    let csv = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/ui/reports/mfa?format=csv', {credentials: 'same-origin'})
               .then(r => r.text().then(t => done([r.status, r.headers.get('content-disposition'), t])))
               .catch(e => done([0, '', String(e)]));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(csv[0], json!(200), "{csv}");
    assert!(csv[1].as_str().unwrap().contains("attachment"), "{csv}");
    assert!(csv[2].as_str().unwrap().starts_with("section"), "{csv}");
    c.find(Locator::XPath(
        "//a[starts-with(@href, '/ui/reports/mfa?format=html')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_for_text(&c, "MFA").await;
    shot(&c, "10-report-mfa").await;

    // Other main pages, for the record.
    for (path, name) in [
        ("/ui/findings", "11-findings"),
        ("/ui/changes", "12-changes"),
        ("/ui/audit", "13-audit"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        wait_for_text(&c, "</main>").await;
        shot(&c, name).await;
    }

    // Keyboard: the skip link is the first thing Tab reaches.
    c.goto(&format!("{base}/ui")).await.unwrap();
    let first = c
        .execute(
            "document.activeElement.blur(); return document.querySelector('a.skip').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(first, json!("Skip to content"));

    // Sign out.
    c.find(Locator::XPath("//button[.='Sign out']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Sign in to lpgate").await;
    c.goto(&format!("{base}/ui")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/ui/sign-in")
    );
    c.close().await.unwrap();
}
