use poem::http::StatusCode;

use super::Dash;
use crate::common::pages::{location, text};

impl Dash {
    /// Post a dashboard form (path after `/b/{brand}`) with the session's CSRF token.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> poem::test::TestResponse {
        let csrf = self.app.csrf(&self.session).await;
        let mut f = vec![("csrf", csrf.as_str())];
        f.extend_from_slice(form);
        self.app
            .submit(&format!("/b/{}{path}", self.brand), &self.session, &f)
            .await
    }
}

const OFFER: [(&str, &str); 6] = [
    ("name", "Summer sale"),
    (
        "destination_url",
        "https://shop.example.com/l?cid={click_id}",
    ),
    ("payout_type", "cpa"),
    ("payout", "7.25"),
    ("currency", "eur"),
    ("status", "active"),
];

#[tokio::test]
async fn an_offer_is_created_through_the_apis_rules_and_errors_stand_next_to_their_field() {
    let dash = Dash::new().await;
    let html = dash.html("/offers").await;
    assert!(html.contains("No offers"), "empty state");
    // A bad payout and a bad URL: 422, the message next to the field, nothing written.
    let mut bad = OFFER;
    bad[3] = ("payout", "7.255");
    let resp = dash.post_form("/offers/new", &bad).await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(resp).await;
    assert!(
        html.contains(
            "<p class=\"error\" id=\"payout-error\">Payout must have at most 2 decimal places.</p>"
        ),
        "{html}"
    );
    let mut bad = OFFER;
    bad[1] = ("destination_url", "ftp://x");
    let html = text(dash.post_form("/offers/new", &bad).await).await;
    assert!(html.contains("id=\"destination_url-error\""), "{html}");
    assert_eq!(dash.app.count("SELECT count(*) FROM offers"), 0);
    // Without the CSRF token: refused.
    let resp = dash
        .app
        .submit(
            &format!("/b/{}/offers/new", dash.brand),
            &dash.session,
            &OFFER,
        )
        .await;
    resp.assert_status(StatusCode::FORBIDDEN);
    // Created: the API sees exactly what the form said.
    let resp = dash.post_form("/offers/new", &OFFER).await;
    resp.assert_status(StatusCode::SEE_OTHER);
    let id = dash.app.count("SELECT id FROM offers");
    assert_eq!(location(&resp), format!("/b/{}/offers/{id}", dash.brand));
    let api = dash
        .app
        .get(&dash.key, &format!("/api/v1/offers/{id}"))
        .await;
    assert_eq!(api.json["payout"], 7.25);
    assert_eq!(api.json["currency"], "EUR");
    let html = dash.html("/offers").await;
    assert!(
        html.contains("Summer sale") && html.contains("€7.25 per conversion"),
        "{html}"
    );
}

#[tokio::test]
async fn edit_pause_and_the_link_builder_act_on_the_tracking_links_at_once() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    // The builder gives the exact link, sub ids encoded, and it tracks.
    let html = dash
        .html(&format!(
            "/offers/{offer}?partner_id={partner}&sub1=a+b&sub3=x%26y"
        ))
        .await;
    let link = format!("/c/{offer}/{partner}?sub1=a+b&sub3=x%26y");
    assert!(html.contains(&link.replace('&', "&#38;")), "{html}");
    assert_eq!(dash.app.click(&link).await.0, 302);
    // Edit: the name changes, the currency can't.
    let resp = dash
        .post_form(
            &format!("/offers/{offer}/edit"),
            &[
                ("name", "Shoes 2"),
                ("destination_url", "https://shop.example.com/l?x=1"),
                ("payout_type", "revshare"),
                ("payout", "10"),
                ("currency", "GBP"),
                ("status", "active"),
            ],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    let api = dash
        .app
        .get(&dash.key, &format!("/api/v1/offers/{offer}"))
        .await;
    assert_eq!(api.json["name"], "Shoes 2");
    assert_eq!(api.json["payout_type"], "revshare");
    assert_eq!(api.json["currency"], "USD");
    // Pause asks first, then stops the links.
    let html = dash
        .html(&format!("/offers/{offer}/status?to=paused"))
        .await;
    assert!(html.contains("Its tracking links stop at once"));
    assert_eq!(
        dash.app.click(&format!("/c/{offer}/{partner}")).await.0,
        302
    );
    dash.post_form(&format!("/offers/{offer}/status"), &[("to", "paused")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        dash.app.click(&format!("/c/{offer}/{partner}")).await.0,
        404
    );
    let api = dash
        .app
        .get(&dash.key, &format!("/api/v1/offers/{offer}"))
        .await;
    assert_eq!(api.json["status"], "paused");
    // Another brand's offer is not found.
    let other_key = dash.app.key("Other");
    let (theirs, _) = dash
        .app
        .offer_and_partner(&other_key, crate::common::offer_body("Theirs"))
        .await;
    let resp = dash
        .app
        .page(&format!("/b/{}/offers/{theirs}", dash.brand), &dash.session)
        .await;
    resp.assert_status(StatusCode::NOT_FOUND);
}
