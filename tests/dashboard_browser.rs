//! The brand's dashboard in a real browser: headless Chromium driven through chromedriver
//! against the real server on a loopback port (the harness is `tests/common/browser.rs`).
//! Skips with a note when Chromium or chromedriver is missing, except where `CI` is set: there
//! it fails.
//!
//! Every dashboard page visited is checked to load nothing from outside the instance and to
//! log no console error. With `UPDATE_SCREENSHOTS=1` the Overview is saved over
//! `docs/dashboard.png`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

mod common;

use common::browser::{
    assert_clean, body_text, browser, click, docs_screenshot, fill, have_browser, js, overflow,
    path, press, snap, start_driver, wait_path, wait_text,
};
use common::pages::{EMAIL, PASSWORD};

/// The real server in-process over `dir`; its state stays the test's too (to record clicks
/// at chosen times through the writer, as the redirect handler does).
async fn start(dir: &Path) -> (trcker::AppState, common::Served) {
    let state = common::state_in(dir, |_| {});
    let served = common::serve(state.clone()).await;
    (state, served)
}

/// First-run setup in the browser: the first admin, signed in on `/settings/brands`.
async fn first_admin(c: &Client, base: &str, state: &trcker::AppState) {
    c.goto(&format!("{base}/setup")).await.unwrap();
    fill(c, "#token", state.setup_token.as_ref()).await;
    fill(c, "#email", EMAIL).await;
    fill(c, "#password", PASSWORD).await;
    fill(c, "#password2", PASSWORD).await;
    click(c, "form[action='/setup'] button[type=submit]").await;
    wait_path(c, "/settings/brands").await;
    wait_text(c, "Your admin account is ready.").await;
}

/// Follow the link whose text is exactly `text` under `within` (an XPath: `MAIN` or `NAV`)
/// and wait for the page it opens.
async fn follow(c: &Client, within: &str, text: &str, lands: &str) {
    c.find(Locator::XPath(&format!(
        "{within}//a[normalize-space(.)='{text}']"
    )))
    .await
    .unwrap_or_else(|e| panic!("no link {text:?} in {within}: {e}"))
    .click()
    .await
    .unwrap();
    wait_path(c, lands).await;
}

const MAIN: &str = "//main";
const NAV: &str = "//header//nav";

/// The Overview's tiles: label → value ("Clicks" → "3", "Payout · USD" → "$12.50").
async fn tiles(c: &Client) -> BTreeMap<String, String> {
    let v = js(
        c,
        "return [...document.querySelectorAll('.tile')].map(t => [
            t.querySelector('.tile-label').textContent.trim(),
            t.querySelector('.tile-value').textContent.trim()])",
    )
    .await;
    serde_json::from_value::<Vec<(String, String)>>(v)
        .unwrap()
        .into_iter()
        .collect()
}

/// The id at the end of the current path (`/b/1/offers/7` → 7).
async fn last_id(c: &Client) -> i64 {
    path(c).await.rsplit('/').next().unwrap().parse().unwrap()
}

/// A tracking link hit from outside the browser, as a visitor's would be; the click id the
/// redirect carries.
async fn visit(http: &reqwest::Client, link: &str) -> String {
    let resp = http
        .get(link)
        .header("user-agent", "visitor/1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302, "{link}");
    let to = resp.headers()["location"].to_str().unwrap().to_string();
    // The offers here put the click id in `cid=` (their destination's `{click_id}` macro).
    let to = url::Url::parse(&to).unwrap();
    assert_eq!(to.host_str(), Some("shop.example.com"), "{to}");
    to.query_pairs()
        .find(|(k, _)| k == "cid")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("no click id in {to}"))
}

async fn post_json(http: &reqwest::Client, url: &str, key: &str, body: Value) -> Value {
    let resp = http
        .post(url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let json: Value = resp.json().await.unwrap();
    assert_eq!(status, 201, "{url}: {json}");
    json
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Follow the getting-started steps in the browser: a brand through settings, an offer
/// (a bad payout first), a partner, their exact link and its Copy button; then traffic, a
/// pending conversion approved from the Conversions page, and the Overview's tiles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_tracking_link_and_an_approved_conversion_in_headless_chromium() {
    if !have_browser("first_tracking_link_and_an_approved_conversion_in_headless_chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (state, served) = start(dir.path()).await;
    let base = served.base.clone();
    let (_driver, webdriver) = start_driver().await;
    let c = browser(&webdriver).await;

    first_admin(&c, &base, &state).await;
    // The console check below can fail: an error logged here is seen.
    js(
        &c,
        "console.error('probe of the console check'); return null",
    )
    .await;
    match common::browser::console_errors(&c).await {
        Some(errors) => assert!(
            errors
                .iter()
                .any(|e| e.contains("probe of the console check")),
            "{errors:?}"
        ),
        None => eprintln!("NOTE: this driver exposes no browser log; console errors unchecked"),
    }
    // No brand yet: `/` leads to creating one.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_path(&c, "/settings/brands").await;
    wait_text(&c, "Create your first brand to open its dashboard.").await;
    fill(&c, "#brand-name", "Acme Shoes").await;
    click(&c, "form[action='/settings/brands'] button").await;
    wait_text(&c, "Brand created.").await;

    // `/` now opens the brand's Overview, with the steps to a first link.
    c.goto(&format!("{base}/")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !path(&c).await.starts_with("/b/") {
        assert!(Instant::now() < deadline, "/ did not open the brand");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let home = path(&c).await;
    wait_path(&c, &home).await;
    let brand: i64 = home.trim_start_matches("/b/").parse().unwrap();
    wait_text(&c, "Get your first tracking link").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("Overview") && text.contains("Acme Shoes"),
        "{text}"
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('.steps li.done').length"
        )
        .await,
        json!(0)
    );
    assert_clean(&c).await;

    // Step 1: an offer. A payout that is no number is refused next to its field.
    follow(
        &c,
        MAIN,
        "Create an offer",
        &format!("/b/{brand}/offers/new"),
    )
    .await;
    assert_clean(&c).await;
    fill(&c, "#name", "Spring sale").await;
    fill(
        &c,
        "#destination_url",
        "https://shop.example.com/landing?cid={click_id}",
    )
    .await;
    fill(&c, "#payout", "12,50").await;
    click(&c, "main form button[type=submit]").await;
    wait_text(&c, "Payout must be a number such as 12.50.").await;
    let payout = c.find(Locator::Css("#payout")).await.unwrap();
    assert_eq!(
        payout.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    let described = payout.attr("aria-describedby").await.unwrap().unwrap();
    assert!(
        described.split(' ').any(|id| id == "payout-error"),
        "{described}"
    );
    // The message is the payout field's own, right under its input; no other field is marked.
    assert_eq!(
        js(
            &c,
            "const e = document.getElementById('payout-error');
             return [e.closest('.field').querySelector('input').id,
                     e.previousElementSibling.id,
                     document.querySelectorAll('[aria-invalid=true]').length]"
        )
        .await,
        json!(["payout", "payout", 1])
    );
    // What was typed is kept.
    assert_eq!(
        c.find(Locator::Css("#name"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Spring sale")
    );
    snap(&c, "offer-form-error.png").await;
    // The 422 of the form page itself is the browser's one complaint.
    let url = c.current_url().await.unwrap();
    assert!(common::browser::outside_requests(&c).await.is_empty());
    if let Some(errors) = common::browser::console_errors(&c).await {
        assert!(
            errors.iter().all(|e| e.contains("status of 422")),
            "{url}: {errors:?}"
        );
    }
    fill(&c, "#payout", "12.50").await;
    click(&c, "main form button[type=submit]").await;
    wait_text(&c, "Offer created.").await;
    let offer = last_id(&c).await;
    wait_path(&c, &format!("/b/{brand}/offers/{offer}")).await;
    assert!(body_text(&c).await.contains("No active partner yet."));
    assert_clean(&c).await;

    // Step 2: a partner, from the Overview's steps (the first now marked done).
    follow(&c, NAV, "Overview", &home).await;
    assert_eq!(
        js(
            &c,
            "return [...document.querySelectorAll('.steps li')].map(l => l.classList.contains('done'))"
        )
        .await,
        json!([true, false, false])
    );
    assert_clean(&c).await;
    follow(
        &c,
        MAIN,
        "Add a partner",
        &format!("/b/{brand}/partners/new"),
    )
    .await;
    assert_clean(&c).await;
    fill(&c, "#name", "Jane Blogger").await;
    fill(&c, "#email", "jane@example.com").await;
    click(&c, "main form button[type=submit]").await;
    wait_text(&c, "Partner created.").await;
    let partner = last_id(&c).await;
    wait_path(&c, &format!("/b/{brand}/partners/{partner}")).await;
    assert_clean(&c).await;

    // Both done: the steps give way; the offer's page builds Jane's link.
    follow(&c, NAV, "Overview", &home).await;
    assert!(!body_text(&c).await.contains("Get your first tracking link"));
    assert_clean(&c).await;
    follow(&c, NAV, "Offers", &format!("/b/{brand}/offers")).await;
    assert_clean(&c).await;
    follow(
        &c,
        MAIN,
        "Spring sale",
        &format!("/b/{brand}/offers/{offer}"),
    )
    .await;
    assert_clean(&c).await;
    c.find(Locator::Css("#partner_id"))
        .await
        .unwrap()
        .select_by_label(&format!("Jane Blogger (#{partner})"))
        .await
        .unwrap();
    fill(&c, "#sub1", "spring newsletter").await;
    click(&c, "form.toolbar button[type=submit]").await;
    let shown = c
        .wait()
        .for_element(Locator::Css("#tracking-link"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let link = format!("{base}/c/{offer}/{partner}?sub1=spring+newsletter");
    assert_eq!(shown, link);
    assert_clean(&c).await;
    // JavaScript is on: the Copy button is revealed, and pressing it says what happened.
    let copy = c
        .find(Locator::Css("button[data-copy=tracking-link]"))
        .await
        .unwrap();
    assert!(copy.is_displayed().await.unwrap());
    let status = c.find(Locator::Css("#copy-status")).await.unwrap();
    assert_eq!(status.text().await.unwrap(), "");
    copy.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let said = loop {
        let said = status.text().await.unwrap();
        if !said.is_empty() {
            break said;
        }
        assert!(Instant::now() < deadline, "pressing Copy changed no status");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        said == "Copied to the clipboard." || said.contains("is selected"),
        "{said}"
    );
    snap(&c, "offer-link.png").await;
    assert_clean(&c).await;

    // Traffic: three visits on the link, then the shop's postback of a pending sale.
    let http = no_redirects();
    let mut clicks = Vec::new();
    for _ in 0..3 {
        clicks.push(visit(&http, &link).await);
    }
    let key = trcker::admin_cli::create_key(dir.path(), "Acme Shoes", "shop")
        .unwrap()
        .key;
    let conversion = post_json(
        &http,
        &format!("{base}/api/v1/conversions"),
        &key,
        json!({"click_id": clicks[0], "amount": 80.0, "status": "pending", "transaction_id": "order-1001"}),
    )
    .await;
    let conversion = conversion["id"].as_i64().unwrap();

    // Pending: the Overview counts the clicks, not yet the conversion.
    follow(&c, NAV, "Overview", &home).await;
    let t = tiles(&c).await;
    assert_eq!(t["Clicks"], "3", "{t:?}");
    assert_eq!(t["Unique clicks"], "1", "{t:?}");
    assert_eq!(t["Conversions"], "0", "{t:?}");
    assert_clean(&c).await;

    // Approve it from the Conversions page.
    follow(&c, NAV, "Conversions", &format!("/b/{brand}/conversions")).await;
    let row = format!("//tr[.//input[@id='sel-{conversion}']]");
    let status_of = |c: &Client| {
        let c = c.clone();
        let row = row.clone();
        async move {
            c.find(Locator::XPath(&format!(
                "{row}//span[contains(@class,'badge')]"
            )))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
        }
    };
    assert_eq!(status_of(&c).await, "Pending");
    assert!(body_text(&c).await.contains("order-1001"));
    assert_clean(&c).await;
    click(&c, &format!("#sel-{conversion}")).await;
    assert!(
        c.find(Locator::Css(&format!("#sel-{conversion}")))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap()
    );
    c.find(Locator::XPath(
        "//button[normalize-space(.)='Approve selected']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&c, "Conversions updated. Reports show the change now.").await;
    wait_path(&c, &format!("/b/{brand}/conversions")).await;
    assert_eq!(status_of(&c).await, "Approved");
    assert_clean(&c).await;
    follow(
        &c,
        MAIN,
        &format!("#{conversion}"),
        &format!("/b/{brand}/conversions/{conversion}"),
    )
    .await;
    assert!(body_text(&c).await.contains("Approved"));
    assert_clean(&c).await;

    // The Overview shows it at once.
    follow(&c, NAV, "Overview", &home).await;
    let t = tiles(&c).await;
    assert_eq!(t["Clicks"], "3", "{t:?}");
    assert_eq!(t["Conversions"], "1", "{t:?}");
    assert_eq!(t["Conversion rate"], "33.33%", "{t:?}");
    assert_eq!(t["Revenue · USD"], "$80.00", "{t:?}");
    assert_eq!(t["Payout · USD"], "$12.50", "{t:?}");
    let top = body_text(&c).await;
    assert!(
        top.contains("Spring sale") && top.contains("Jane Blogger"),
        "{top}"
    );
    assert_clean(&c).await;

    // The picture for the docs: a week of traffic, more partners, the Overview at 1280 wide.
    week_of_traffic(&state, &http, &base, &key, brand, offer).await;
    c.refresh().await.unwrap();
    wait_path(&c, &home).await;
    assert_clean(&c).await;
    // The whole page in one picture: as tall as it is (within reason).
    let tall = js(
        &c,
        "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight",
    )
    .await;
    let tall = tall.as_u64().unwrap().clamp(800, 2400) as u32;
    c.set_window_size(1280, tall).await.unwrap();
    assert_eq!(js(&c, "return window.innerWidth").await, json!(1280));
    docs_screenshot(&c, "dashboard.png").await;

    c.close().await.unwrap();
    served.stop();
}

/// Clicks over the last two weeks (the Overview's range and the one it compares with) on a
/// second partner and a second offer, recorded through the writer at past times, and approved
/// conversions on them.
async fn week_of_traffic(
    state: &trcker::AppState,
    http: &reqwest::Client,
    base: &str,
    key: &str,
    brand: i64,
    offer: i64,
) {
    let p2 = post_json(
        http,
        &format!("{base}/api/v1/partners"),
        key,
        json!({"name": "Trail Reviews", "email": "trail@example.com"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let o2 = post_json(
        http,
        &format!("{base}/api/v1/offers"),
        key,
        json!({"name": "Running shoes", "destination_url": "https://shop.example.com/run", "payout": 8.0}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut n = 0;
    for day in -7..7_i64 {
        let ago = (6 - day) * 86_400;
        for (route, per_day) in [((offer, p2), 12 + day), ((o2, p2), 10 - day / 2)] {
            for i in 0..per_day {
                n += 1;
                let at = now - ago - 3_600 - i * 60;
                let mut row = common::click_row(brand, route, &format!("hist{n:05}"), at, None);
                row.is_unique = i % 3 != 0;
                assert!(state.writer.submit_click(row).await.is_ok());
            }
            for i in 0..(per_day / 5) {
                let at = chrono::DateTime::from_timestamp(now - ago - 1_800 - i, 0)
                    .unwrap()
                    .to_rfc3339();
                post_json(
                    http,
                    &format!("{base}/api/v1/conversions"),
                    key,
                    json!({"offer_id": route.0, "partner_id": route.1, "amount": 64.0 + i as f64, "occurred_at": at}),
                )
                .await;
            }
        }
    }
}

/// Keyboard and a phone-sized window: the skip link is the first Tab stop, nothing sticks
/// out sideways at 375px, and the brand switcher opens from the keyboard and lists the other
/// brand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_and_a_narrow_screen_in_headless_chromium() {
    if !have_browser("keyboard_and_a_narrow_screen_in_headless_chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (state, served) = start(dir.path()).await;
    let base = served.base.clone();
    let (_driver, webdriver) = start_driver().await;
    let c = browser(&webdriver).await;
    first_admin(&c, &base, &state).await;

    // Two brands; the first with an offer (a long name and URL), partners and some traffic.
    let key = trcker::admin_cli::create_key(dir.path(), "Acme Shoes", "shop")
        .unwrap()
        .key;
    trcker::admin_cli::create_key(dir.path(), "Zeta Outdoor", "shop").unwrap();
    let http = no_redirects();
    let offer = post_json(
        &http,
        &format!("{base}/api/v1/offers"),
        &key,
        json!({"name": "Spring sale on every trail running shoe in the catalogue", "destination_url": "https://shop.example.com/landing/spring-sale-trail-running-shoes?utm_source=partners&cid={click_id}", "payout": 12.5}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let partner = post_json(
        &http,
        &format!("{base}/api/v1/partners"),
        &key,
        json!({"name": "Jane Blogger", "email": "jane.blogger.with.a.long.address@example.com"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let click_id = visit(
        &http,
        &format!("{base}/c/{offer}/{partner}?sub1=newsletter"),
    )
    .await;
    post_json(
        &http,
        &format!("{base}/api/v1/conversions"),
        &key,
        json!({"click_id": click_id, "amount": 80.0, "status": "pending", "transaction_id": "order-1001-with-a-long-reference"}),
    )
    .await;

    c.goto(&format!("{base}/")).await.unwrap();
    wait_path(&c, "/b/1").await;
    assert!(body_text(&c).await.contains("Acme Shoes"));

    // The first Tab stop is the skip link, shown once focused; it leads to the content.
    press(&c, Key::Tab).await;
    assert_eq!(
        js(&c, "return document.activeElement.textContent.trim()").await,
        json!("Skip to content")
    );
    assert_eq!(
        js(
            &c,
            "const r = document.activeElement.getBoundingClientRect();
             return r.left >= 0 && r.top >= 0 && r.width > 0"
        )
        .await,
        json!(true),
        "the focused skip link is on screen"
    );
    press(&c, Key::Enter).await;
    assert_eq!(
        js(&c, "return location.hash").await,
        json!("#main"),
        "the skip link jumps to the content"
    );
    assert_clean(&c).await;

    // 375px wide: no page scrolls sideways (a wide table scrolls inside its .table-wrap).
    c.set_window_size(375, 800).await.unwrap();
    assert_eq!(js(&c, "return window.innerWidth").await, json!(375));
    for (page, file) in [
        ("", "overview-375.png"),
        ("/offers", "offers-375.png"),
        (
            &format!("/offers/{offer}?partner_id={partner}&sub1=newsletter") as &str,
            "offer-375.png",
        ),
        ("/offers/new", "offer-form-375.png"),
        ("/partners", "partners-375.png"),
        (&format!("/partners/{partner}") as &str, "partner-375.png"),
        ("/conversions", "conversions-375.png"),
        ("/conversions/1", "conversion-375.png"),
        ("/reports?range=7d&group_by=day,offer", "reports-375.png"),
        ("/statements", "statements-375.png"),
    ] {
        c.goto(&format!("{base}/b/1{page}")).await.unwrap();
        wait_path(&c, &format!("/b/1{}", page.split('?').next().unwrap())).await;
        snap(&c, file).await;
        let wide = overflow(&c).await;
        assert!(
            wide <= 1,
            "/b/1{page} sticks out {wide}px at 375px: {}",
            js(
                &c,
                "return [...document.querySelectorAll('body *')]
                    .filter(e => !e.closest('.table-wrap, .chart-wrap, .sr-only')
                        && (e.getBoundingClientRect().right > window.innerWidth + 1
                            || e.scrollWidth > e.clientWidth + 1))
                    .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"
            )
            .await
        );
        assert_clean(&c).await;
        // And every control has a name for a screen reader.
        assert_eq!(
            js(
                &c,
                "return [...document.querySelectorAll('input, select, textarea, button')]
                    .filter(e => e.type !== 'hidden' && !e.hidden)
                    .filter(e => !e.labels?.length && !e.getAttribute('aria-label')
                        && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                    .map(e => e.outerHTML)"
            )
            .await,
            json!([]),
            "/b/1{page}: controls without a label"
        );
    }

    // The brand switcher from the keyboard: Tab to it, Enter opens it, the other brand is
    // listed and one more Tab and Enter open it.
    c.goto(&format!("{base}/b/1")).await.unwrap();
    wait_path(&c, "/b/1").await;
    let mut tabs = 0;
    while js(
        &c,
        "return document.activeElement.matches('details.switcher > summary')",
    )
    .await
        != json!(true)
    {
        tabs += 1;
        assert!(tabs <= 5, "no Tab reaches the brand switcher");
        press(&c, Key::Tab).await;
    }
    assert_eq!(tabs, 3, "skip link, logo, then the switcher");
    let switcher = c.find(Locator::Css("details.switcher")).await.unwrap();
    let list = c.find(Locator::Css("details.switcher ul")).await.unwrap();
    assert!(!list.is_displayed().await.unwrap());
    press(&c, Key::Enter).await;
    assert_eq!(
        switcher.prop("open").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(list.is_displayed().await.unwrap());
    let listed: Vec<String> = serde_json::from_value(
        js(
            &c,
            "return [...document.querySelectorAll('details.switcher li a')].map(a => a.textContent.trim())",
        )
        .await,
    )
    .unwrap();
    assert_eq!(listed, ["Zeta Outdoor", "Manage brands…"]);
    snap(&c, "switcher-375.png").await;
    // The open list stays inside the narrow window.
    assert!(overflow(&c).await <= 1);
    press(&c, Key::Tab).await;
    assert_eq!(
        js(&c, "return document.activeElement.textContent.trim()").await,
        json!("Zeta Outdoor")
    );
    press(&c, Key::Enter).await;
    wait_path(&c, "/b/2").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("Zeta Outdoor") && text.contains("Get your first tracking link"),
        "{text}"
    );
    assert_clean(&c).await;
    // And at 375px the new brand's Overview (its steps) fits too.
    assert!(overflow(&c).await <= 1);

    c.close().await.unwrap();
    served.stop();
}

/// The ledger's pages in the browser: a payout rule on the partner page, a cap on the offer
/// page with its use, a conversion reversed with a reason, then statements for all partners
/// made, reviewed and marked paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_caps_a_reversal_and_a_paid_statement_in_headless_chromium() {
    if !have_browser("rules_caps_a_reversal_and_a_paid_statement_in_headless_chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (state, served) = start(dir.path()).await;
    let base = served.base.clone();
    let (_driver, webdriver) = start_driver().await;
    let c = browser(&webdriver).await;
    first_admin(&c, &base, &state).await;
    let key = trcker::admin_cli::create_key(dir.path(), "Acme Shoes", "shop")
        .unwrap()
        .key;
    let http = no_redirects();
    let offer = post_json(
        &http,
        &format!("{base}/api/v1/offers"),
        &key,
        json!({"name": "Spring sale", "destination_url": "https://shop.example.com/", "payout": 12.5}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let partner = post_json(
        &http,
        &format!("{base}/api/v1/partners"),
        &key,
        json!({"name": "Jane Blogger", "email": "jane@example.com"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let brand = 1;

    // A payout rule on the partner's page: what Jane earns changes at once.
    c.goto(&format!("{base}/b/{brand}/partners/{partner}"))
        .await
        .unwrap();
    wait_text(&c, "What Jane Blogger earns").await;
    assert!(body_text(&c).await.contains("$12.50 per conversion"));
    c.find(Locator::Css("#rule-offer"))
        .await
        .unwrap()
        .select_by_value(&offer.to_string())
        .await
        .unwrap();
    fill(&c, "#rule-payout", "15").await;
    click(
        &c,
        "form[aria-label='Add a payout rule'] button[type=submit]",
    )
    .await;
    wait_text(&c, "Payout rule added.").await;
    assert!(body_text(&c).await.contains("$15.00 per conversion"));
    assert_clean(&c).await;

    // A cap on the offer's page, then two conversions: its use shows.
    c.goto(&format!("{base}/b/{brand}/offers/{offer}"))
        .await
        .unwrap();
    wait_text(&c, "Caps").await;
    fill(&c, "#cap-limit", "5").await;
    click(&c, "form[aria-label='Add a cap'] button[type=submit]").await;
    wait_text(&c, "Cap added.").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let conv = post_json(
            &http,
            &format!("{base}/api/v1/conversions"),
            &key,
            json!({"offer_id": offer, "partner_id": partner}),
        )
        .await;
        assert_eq!(conv["payout"], 15.0, "the rule priced it");
        ids.push(conv["id"].as_i64().unwrap());
    }
    c.refresh().await.unwrap();
    wait_text(&c, "2 of 5").await;
    assert_clean(&c).await;

    // Reverse one with a reason; the history says who and why.
    c.goto(&format!("{base}/b/{brand}/conversions/{}", ids[0]))
        .await
        .unwrap();
    wait_text(&c, "History").await;
    fill(&c, "#reason", "refunded").await;
    click(&c, "button[value=reverse]").await;
    wait_text(&c, "Conversions updated.").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("refunded") && text.contains("admin:"),
        "{text}"
    );
    assert!(text.contains("A reversed conversion is final."));
    assert_clean(&c).await;

    // Statements for all partners through today: one, of the conversion still approved.
    follow(&c, NAV, "Statements", &format!("/b/{brand}/statements")).await;
    wait_text(&c, "Outstanding").await;
    assert!(body_text(&c).await.contains("$15.00"));
    click(&c, "form[action$='/statements'] button[type=submit]").await;
    wait_text(&c, "Statements created.").await;
    c.find(Locator::XPath(&format!(
        "{MAIN}//table//a[starts-with(normalize-space(.), '#')]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&c, "1 line · total $15.00").await;
    assert_clean(&c).await;
    click(&c, "form[action$='/pay'] button").await;
    wait_text(&c, "Statement marked paid.").await;
    let text = body_text(&c).await;
    assert!(!text.contains("Mark paid"), "{text}");
    let api: Value = http
        .get(format!("{base}/api/v1/statements"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["data"][0]["status"], "paid");
    assert_eq!(api["data"][0]["total"], 15.0);
    c.close().await.unwrap();
}
