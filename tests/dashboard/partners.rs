use poem::http::StatusCode;

use super::Dash;
use crate::common::pages::text;

#[tokio::test]
async fn partners_are_found_created_edited_and_blocked_with_the_apis_rules() {
    let dash = Dash::new().await;
    let form = [
        ("name", "Ada's Blog"),
        ("email", "Ada@Example.com"),
        ("status", "active"),
    ];
    dash.post_form("/partners/new", &form)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    // The same email again (any case): refused next to the field, nothing written.
    let resp = dash.post_form("/partners/new", &form).await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(resp).await;
    assert!(
        html.contains("id=\"email-error\">Email ada@example.com is already used"),
        "{html}"
    );
    let resp = dash
        .post_form(
            "/partners/new",
            &[("name", " "), ("email", "b@example.com")],
        )
        .await;
    assert!(text(resp).await.contains("id=\"name-error\""));
    assert_eq!(dash.app.count("SELECT count(*) FROM partners"), 1);
    for i in 0..55 {
        let email = format!("p{i}@example.com");
        let name = format!("Partner {i:02}");
        dash.post_form("/partners/new", &[("name", &name), ("email", &email)])
            .await
            .assert_status(StatusCode::SEE_OTHER);
    }
    // Search by name or email, any case; `_` is not a wildcard; pages of 50.
    let html = dash.html("/partners?q=ada").await;
    assert!(
        html.contains("Ada&#39;s Blog") || html.contains("Ada's Blog"),
        "{html}"
    );
    assert!(!html.contains("Partner 01"));
    assert!(
        dash.html("/partners?q=P_")
            .await
            .contains("No partner matches")
    );
    let html = dash.html("/partners").await;
    assert_eq!(html.matches("<tr>").count(), 1 + 50, "header and one page");
    assert!(html.contains("Older partners"));
    // Block, with confirmation: the partner's links stop.
    let id = dash
        .app
        .count("SELECT id FROM partners WHERE email = 'ada@example.com'");
    let offer = dash
        .app
        .post(
            &dash.key,
            "/api/v1/offers",
            crate::common::offer_body("Shoes"),
        )
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    assert_eq!(dash.app.click(&format!("/c/{offer}/{id}")).await.0, 302);
    assert!(
        dash.html(&format!("/partners/{id}/status?to=blocked"))
            .await
            .contains("Their tracking links stop")
    );
    dash.post_form(&format!("/partners/{id}/status"), &[("to", "blocked")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(dash.app.click(&format!("/c/{offer}/{id}")).await.0, 404);
    assert!(dash.html("/partners?status=blocked").await.contains("Ada"));
    // Edit goes through the same rule as the API.
    dash.post_form(
        &format!("/partners/{id}/edit"),
        &[
            ("name", "Ada"),
            ("email", "ada2@example.com"),
            ("status", "active"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let api = dash
        .app
        .get(&dash.key, &format!("/api/v1/partners/{id}"))
        .await;
    assert_eq!(api.json["email"], "ada2@example.com");
    assert_eq!(api.json["status"], "active");
}

#[tokio::test]
async fn a_partner_page_has_its_numbers_links_and_latest_conversions() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    dash.traffic(offer, partner, 4, 2).await;
    let html = dash.html(&format!("/partners/{partner}")).await;
    assert!(
        html.contains(&format!("/c/{offer}/{partner}\"")),
        "its link: {html}"
    );
    assert!(html.contains("<span class=\"tile-value\">4</span>"));
    assert!(
        html.contains("<span class=\"tile-value\">$25.00</span>"),
        "payout 2 × 12.50"
    );
    let ids: Vec<i64> = {
        let conn = dash.app.state.pool.get().unwrap();
        let mut s = conn
            .prepare("SELECT id FROM conversions ORDER BY id")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for id in ids {
        assert!(html.contains(&format!("/conversions/{id}\">#{id}</a>")));
    }
}
