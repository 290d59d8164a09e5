//! The settings pages in a real browser: headless Chromium driven through chromedriver
//! (WebDriver) against the real server on a loopback port. Skips with a note when Chromium or
//! chromedriver is missing, except where `CI` is set: there it fails.
//!
//! Also screenshots the keys page: into the target dir, or over `docs/keys-page.png` (the
//! README's) with `UPDATE_SCREENSHOTS=1`.

use fantoccini::Locator;
use serde_json::json;

mod common;

use common::browser::{
    body_text, browser, click, docs_screenshot, fill, have_browser, path, snap, start_driver,
    start_server, wait_path, wait_text,
};
use common::pages::{EMAIL, PASSWORD};

async fn offers_status(base: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/offers"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `/docs` sends a Content-Security-Policy whose script-src is only the hash of Scalar's inline
/// bundle: the reference rendering at all (its sidebar is drawn by that script) shows the hash
/// is right and nothing else the page needs is blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_render_under_their_content_security_policy() {
    if !have_browser("docs_render_under_their_content_security_policy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (addr, _token, stop) = start_server(dir.path()).await;
    let base = format!("http://{addr}");
    let policy = reqwest::get(format!("{base}/docs")).await.unwrap();
    let policy = policy.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    let (_driver, webdriver) = start_driver().await;
    let c = browser(&webdriver).await;
    c.goto(&format!("{base}/docs")).await.unwrap();
    // Scalar opens the first tag (tags sort by name: `Brand`) with its operations listed.
    wait_text(&c, "Get the brand").await;
    let violations = c
        .execute(
            "return performance.getEntriesByType('resource').filter(e => !e.name.startsWith(location.origin)).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        violations,
        json!(0),
        "the docs load nothing from outside the instance"
    );
    snap(&c, "docs.png").await;
    c.close().await.unwrap();
    stop.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_journey_in_headless_chromium() {
    if !have_browser("admin_journey_in_headless_chromium") {
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let (addr, token, stop) = start_server(dir.path()).await;
    let base = format!("http://{addr}");
    let (_driver, webdriver) = start_driver().await;
    let c = browser(&webdriver).await;

    // First run: any settings page leads to setup, which takes the printed token.
    c.goto(&format!("{base}/settings/api-keys")).await.unwrap();
    wait_path(&c, "/setup").await;
    snap(&c, "setup.png").await;
    fill(&c, "#token", &token).await;
    fill(&c, "#email", EMAIL).await;
    fill(&c, "#password", PASSWORD).await;
    fill(&c, "#password2", PASSWORD).await;
    click(&c, "form[action='/setup'] button[type=submit]").await;
    wait_path(&c, "/settings/brands").await;
    wait_text(&c, "Your admin account is ready.").await;

    // Sign out, then a wrong password shows the error, then the right one signs in.
    click(&c, "header form[action='/logout'] button").await;
    wait_path(&c, "/login").await;
    wait_text(&c, "You are signed out.").await;
    fill(&c, "#email", EMAIL).await;
    fill(&c, "#password", "not my password").await;
    click(&c, "form[action='/login'] button").await;
    let error = c
        .wait()
        .for_element(Locator::Css("#login-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("Wrong email or password"), "{error}");
    snap(&c, "login-error.png").await;
    wait_path(&c, "/login").await;
    fill(&c, "#email", EMAIL).await;
    fill(&c, "#password", PASSWORD).await;
    click(&c, "form[action='/login'] button").await;
    wait_path(&c, "/settings/api-keys").await;

    // A brand, then a key for it.
    c.goto(&format!("{base}/settings/brands")).await.unwrap();
    fill(&c, "#brand-name", "Acme Shoes").await;
    click(&c, "form[action='/settings/brands'] button").await;
    wait_text(&c, "Brand created.").await;

    // A forged POST (same origin, the session cookie goes along) without the CSRF token is
    // refused and changes nothing.
    c.execute(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/settings/brands';
         const i = document.createElement('input'); i.name = 'name'; i.value = 'Forged Brand';
         f.appendChild(i); document.body.appendChild(f); f.submit();",
        vec![],
    )
    .await
    .unwrap();
    c.wait()
        .for_element(Locator::XPath("//h1[contains(., 'can')]"))
        .await
        .unwrap();
    assert!(body_text(&c).await.contains("This form can"));
    snap(&c, "forbidden.png").await;
    c.goto(&format!("{base}/settings/brands")).await.unwrap();
    let brands = body_text(&c).await;
    snap(&c, "brands.png").await;
    assert!(
        brands.contains("Acme Shoes") && !brands.contains("Forged Brand"),
        "{brands}"
    );

    c.find(Locator::LinkText("API keys"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&c, "#key-name", "shop backend").await;
    click(&c, "form[action='/settings/api-keys'] button").await;
    let key = c
        .wait()
        .for_element(Locator::Css("#new-key"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the key is on the page");
    assert!(key.starts_with("trk_"), "{key}");
    assert!(body_text(&c).await.contains("Store this key now."));
    // JavaScript is on here, so the copy button has been revealed.
    assert!(
        c.find(Locator::Css("button.copy"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    // The README's copy is refreshed on request only, so `cargo test` leaves the tree clean.
    docs_screenshot(&c, "keys-page.png").await;

    // A phone-sized window: nothing sticks out sideways (the key table turns into cards).
    c.set_window_size(390, 900).await.unwrap();
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(0), "horizontal overflow on a narrow screen");
    snap(&c, "keys-page-narrow.png").await;
    c.set_window_size(1280, 1000).await.unwrap();

    assert_eq!(offers_status(&base, &key).await, 200);

    // Revoke through the confirmation page.
    c.goto(&format!("{base}/settings/api-keys")).await.unwrap();
    assert!(
        !c.source().await.unwrap().contains(&key),
        "the full key is shown only once"
    );
    c.find(Locator::Css("a.danger"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "Revoke key “shop backend”?").await;
    snap(&c, "revoke.png").await;
    assert!(path(&c).await.ends_with("/revoke"));
    click(&c, "form button.danger").await;
    wait_text(&c, "Key revoked.").await;
    assert_eq!(offers_status(&base, &key).await, 401);

    c.close().await.unwrap();
    stop.stop();
}
