use super::Dash;
use common::pages::location;

use crate::common;

#[tokio::test]
async fn home_opens_the_last_viewed_brand_and_a_new_admin_is_led_to_create_one() {
    let app = common::app();
    let session = app.setup().await;
    let resp = app.page("/", &session).await;
    assert_eq!(location(&resp), "/settings/brands");
    let dash = Dash::new().await;
    let other = {
        dash.app.key("Zeta");
        dash.app.count("SELECT id FROM brands WHERE name = 'Zeta'")
    };
    // Viewing a brand's page makes it the one `/` opens.
    let resp = dash.app.page(&format!("/b/{other}"), &dash.session).await;
    resp.assert_status_is_ok();
    let cookie = common::pages::cookie_value(&resp, "trcker_brand").unwrap();
    assert_eq!(cookie, other.to_string());
    let resp = dash
        .app
        .page("/", &format!("{}; trcker_brand={other}", dash.session))
        .await;
    assert_eq!(location(&resp), format!("/b/{other}"));
    // Signed out, the dashboard sends to sign-in; an unknown brand is a 404.
    let resp = dash.app.page(&format!("/b/{}", dash.brand), "").await;
    assert_eq!(location(&resp), "/login");
    let resp = dash.app.page("/b/999999", &dash.session).await;
    resp.assert_status(poem::http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_brand_is_led_step_by_step_to_its_first_link() {
    let dash = Dash::new().await;
    let html = dash.html("").await;
    assert!(html.contains("Get your first tracking link"), "{html}");
    assert!(html.contains(&format!("href=\"/b/{}/offers/new\"", dash.brand)));
    dash.offer_and_partner("Shoes").await;
    let html = dash.html("").await;
    assert!(!html.contains("Get your first tracking link"));
}

#[tokio::test]
async fn overview_tiles_chart_and_top_lists_show_the_reports_numbers() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    dash.traffic(offer, partner, 1_200, 3).await;
    let html = dash.html("?range=today").await;
    // Tiles: thousands separators, the rate, money with its symbol; nothing the day before.
    assert!(
        html.contains("<span class=\"tile-value\">1,200</span>"),
        "{html}"
    );
    assert!(html.contains("<span class=\"tile-value\">0.25%</span>"));
    assert!(
        html.contains("<span class=\"tile-value\">$30.00</span>"),
        "revenue"
    );
    assert!(
        html.contains("<span class=\"tile-value\">$37.50</span>"),
        "payout"
    );
    assert!(html.contains(">new</span>"));
    // The chart is inline SVG with a title and a description, and its numbers as a table.
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("<title id=\"chart-title\">"));
    assert!(html.contains("1,200 clicks and 3 conversions"));
    assert_eq!(
        html.matches("<rect class=\"bar\"").count(),
        24,
        "hourly for one day"
    );
    // The offer and partner lead the top lists.
    assert!(html.contains(&format!(
        "/b/{}/offers/{offer}?range=today\">Shoes</a>",
        dash.brand
    )));
    assert!(html.contains(&format!(
        "/b/{}/partners/{partner}?range=today\"",
        dash.brand
    )));
    // Seven days are daily bars; a bad custom range says why and falls back.
    let html = dash.html("?range=7d").await;
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 7);
    let html = dash
        .html("?range=custom&from=2026-02-10&to=2026-02-01")
        .await;
    assert!(html.contains("The last date must not be before the first."));
}
