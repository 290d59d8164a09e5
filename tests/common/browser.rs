//! The real-browser harness: headless Chromium driven through chromedriver (WebDriver) against
//! the real server in-process on a loopback port (`serve`). Used by `tests/settings_browser.rs`
//! and `tests/dashboard_browser.rs`.
//!
//! Without Chromium or chromedriver a test skips with a note ([`have_browser`]), except where
//! `CI` is set: there it fails.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver, killed when the test ends however it ends, with the Chromium it started: it
/// runs in a process group of its own, and the whole group goes (killing chromedriver alone
/// left a test's Chromium running whenever the test ended without closing its session).
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether Chromium and chromedriver are here; without them a test skips, except under CI.
pub fn have_browser(test: &str) -> bool {
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {missing:?} is missing: install the chromium and chromium-driver packages"
        );
        eprintln!(
            "SKIPPED {test}: {missing:?} not installed (apt-get install chromium chromium-driver)"
        );
        return false;
    }
    true
}

pub async fn start_driver() -> (Driver, String) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start listening"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, format!("http://127.0.0.1:{port}"))
}

/// A headless Chromium session, 1280×1000, with the console kept for [`console_errors`].
pub async fn browser(webdriver: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1000"
            ]
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(webdriver)
        .await
        .expect("a WebDriver session with Chromium")
}

/// The real server in-process on a random loopback port, and its setup token; stopped when
/// the returned value is stopped or dropped.
pub async fn start_server(dir: &Path) -> (SocketAddr, String, super::Served) {
    let state = super::state_in(dir, |_| {});
    let token = state.setup_token.to_string();
    let served = super::serve(state).await;
    (served.addr, token, served)
}

pub async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Press and release `key` on whatever has the focus, as a keyboard does.
pub async fn press(c: &Client, key: Key) {
    let k: char = key.into();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: k })
        .then(KeyAction::Up { value: k });
    c.perform_actions(keys).await.unwrap();
}

/// Run `script` (a function body ending in `return …`).
pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// The page's visible text ("" while a navigation swaps the document).
pub async fn body_text(c: &Client) -> String {
    match c
        .execute(
            "return document.body ? document.body.innerText : ''",
            vec![],
        )
        .await
    {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

pub async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// Wait for the navigation a click started to land on `expected` (clicks return before).
pub async fn wait_path(c: &Client, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = path(c).await;
        let ready = c.execute("return document.readyState", vec![]).await;
        if now == expected && ready.is_ok_and(|r| r == "complete") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still at {now}, expected {expected}: {}",
            body_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until the page's text contains `needle`.
pub async fn wait_text(c: &Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !body_text(c).await.contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in: {}",
            body_text(c).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A screenshot for people checking the look, under target/tmp (not committed).
pub async fn snap(c: &Client, name: &str) {
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join(name), png);
    }
}

/// Where a screenshot shown in the docs goes: over `docs/{name}` with `UPDATE_SCREENSHOTS=1`,
/// else under target/tmp, so `cargo test` leaves the tree clean.
pub fn docs_screenshot_path(name: &str) -> PathBuf {
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name)
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
    }
}

/// Save a screenshot of the window as [`docs_screenshot_path`] says.
pub async fn docs_screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let out = docs_screenshot_path(name);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(out, png).unwrap();
}

/// The resources the page loaded from anywhere but its own origin (the Performance API's
/// `resource` entries): a page of the instance must need nothing from outside.
pub async fn outside_requests(c: &Client) -> Vec<String> {
    let v = js(
        c,
        "return performance.getEntriesByType('resource')
            .map(e => e.name)
            .filter(n => new URL(n).origin !== location.origin)",
    )
    .await;
    serde_json::from_value(v).unwrap()
}

/// chromedriver's `POST /session/{id}/se/log`: the browser log entries since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (poem::http::Method, Option<String>) {
        (
            poem::http::Method::POST,
            Some(r#"{"type":"browser"}"#.into()),
        )
    }
}

/// The console's errors (level SEVERE: script errors, refused loads, failed requests) since
/// the last call; `None` when the driver doesn't expose the browser log.
pub async fn console_errors(c: &Client) -> Option<Vec<String>> {
    let entries = c.issue_cmd(BrowserLog).await.ok()?;
    let entries = entries.as_array()?;
    Some(
        entries
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect(),
    )
}

/// The page now shown loaded nothing from outside the instance and logged no console error
/// (since the last check).
pub async fn assert_clean(c: &Client) {
    let url = c.current_url().await.unwrap();
    let outside = outside_requests(c).await;
    assert!(
        outside.is_empty(),
        "{url} loaded from outside the instance: {outside:?}"
    );
    if let Some(errors) = console_errors(c).await {
        assert!(errors.is_empty(), "{url} logged console errors: {errors:?}");
    }
}

/// How far the page sticks out sideways past the window (0 when it doesn't).
pub async fn overflow(c: &Client) -> i64 {
    js(
        c,
        "return document.documentElement.scrollWidth - window.innerWidth",
    )
    .await
    .as_i64()
    .unwrap()
}
