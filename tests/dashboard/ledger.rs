//! The ledger's pages: a conversion's history and reversal with a reason, an offer's hold days
//! and caps, a partner's payout rules and earnings, and statements made, reviewed, downloaded,
//! paid and deleted; each checked against the API.

use poem::http::StatusCode;
use serde_json::json;

use super::Dash;
use common::pages::{cookie_value, location, text};

use crate::common;

#[tokio::test]
async fn a_conversion_page_shows_its_history_and_reverses_with_a_reason() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let c = dash
        .app
        .post(
            &dash.key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner}),
        )
        .await;
    let id = c.json["id"].as_i64().unwrap();
    let html = dash.html(&format!("/conversions/{id}")).await;
    assert!(html.contains("History"));
    assert!(html.contains("key:test"), "the creation's actor: {html}");
    assert!(html.contains("value=\"reverse\""));

    let resp = dash
        .post_form(
            &format!("/conversions/{id}/status"),
            &[("action", "reverse"), ("reason", "refunded order 1001")],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    let api = dash
        .app
        .get(&dash.key, &format!("/api/v1/conversions/{id}"))
        .await;
    assert_eq!(api.json["status"], "reversed");
    assert_eq!(api.json["reason"], "refunded order 1001");
    let h = dash
        .app
        .get(&dash.key, &format!("/api/v1/conversions/{id}/history"))
        .await;
    assert_eq!(
        h.json["data"][1]["actor"], "admin:owner@example.com",
        "{}",
        h.json
    );
    let html = dash.html(&format!("/conversions/{id}")).await;
    assert!(html.contains("refunded order 1001"));
    assert!(html.contains("A reversed conversion is final."));
    // Final: the page offers nothing, and a forged change is refused.
    let resp = dash
        .post_form(
            &format!("/conversions/{id}/status"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let long = "x".repeat(201);
    let c2 = dash
        .app
        .post(
            &dash.key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner}),
        )
        .await;
    let id2 = c2.json["id"].as_i64().unwrap();
    let resp = dash
        .post_form(
            &format!("/conversions/{id2}/status"),
            &[("action", "reject"), ("reason", &long)],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let api = dash
        .app
        .get(&dash.key, &format!("/api/v1/conversions/{id2}"))
        .await;
    assert_eq!(api.json["status"], "approved", "nothing changed");
}

#[tokio::test]
async fn an_offer_page_sets_hold_days_and_caps_with_their_use() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let edit = dash.html(&format!("/offers/{offer}/edit")).await;
    assert!(edit.contains("name=\"hold_days\""));
    let resp = dash
        .post_form(
            &format!("/offers/{offer}/edit"),
            &[
                ("name", "Shoes"),
                ("destination_url", "https://shop.example.com/l?x=1"),
                ("payout_type", "cpa"),
                ("payout", "12.50"),
                ("currency", "USD"),
                ("status", "active"),
                ("hold_days", "400"),
            ],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(resp).await;
    assert!(
        html.contains("Hold days must be between 0 and 365."),
        "{html}"
    );
    assert!(html.contains("id=\"hold_days-error\""), "next to its field");
    let resp = dash
        .post_form(
            &format!("/offers/{offer}/edit"),
            &[
                ("name", "Shoes"),
                ("destination_url", "https://shop.example.com/l?x=1"),
                ("payout_type", "cpa"),
                ("payout", "12.50"),
                ("currency", "USD"),
                ("status", "active"),
                ("hold_days", "14"),
            ],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    let api = dash
        .app
        .get(&dash.key, &format!("/api/v1/offers/{offer}"))
        .await;
    assert_eq!(api.json["hold_days"], 14);

    let p = partner.to_string();
    let resp = dash
        .post_form(
            &format!("/offers/{offer}/caps"),
            &[
                ("partner_id", &p),
                ("metric", "conversions"),
                ("window", "day"),
                ("limit", "3"),
            ],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).ends_with("#caps"));
    for _ in 0..2 {
        dash.app
            .post(
                &dash.key,
                "/api/v1/conversions",
                json!({"offer_id": offer, "partner_id": partner}),
            )
            .await;
    }
    let html = dash.html(&format!("/offers/{offer}")).await;
    assert!(html.contains("2 of 3"), "{html}");
    assert!(html.contains("held 14 days"));
    let caps = dash
        .app
        .get(&dash.key, &format!("/api/v1/offers/{offer}/caps"))
        .await;
    assert_eq!(caps.json["data"][0]["used"], 2.0);
    let resp = dash
        .post_form(
            &format!("/offers/{offer}/caps"),
            &[
                ("metric", "conversions"),
                ("window", "day"),
                ("limit", "1.5"),
            ],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(resp).await.contains("whole number"));
    let cap = caps.json["data"][0]["id"].as_i64().unwrap();
    let resp = dash
        .post_form(&format!("/offers/{offer}/caps/{cap}/delete"), &[])
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    let caps = dash
        .app
        .get(&dash.key, &format!("/api/v1/offers/{offer}/caps"))
        .await;
    assert_eq!(caps.json["data"].as_array().unwrap().len(), 0);
    // Without the CSRF token nothing is made.
    let resp = dash
        .app
        .submit(
            &format!("/b/{}/offers/{offer}/caps", dash.brand),
            &dash.session,
            &[("metric", "conversions"), ("window", "day"), ("limit", "3")],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::FORBIDDEN);
    assert_eq!(dash.app.count("SELECT count(*) FROM caps"), 0);
}

#[tokio::test]
async fn a_partner_page_edits_payout_rules_and_shows_what_it_earns() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let html = dash.html(&format!("/partners/{partner}")).await;
    assert!(html.contains("$12.50 per conversion"), "{html}");
    assert!(html.contains("the offer&#39;s own payout") || html.contains("the offer's own payout"));
    let o = offer.to_string();
    let resp = dash
        .post_form(
            &format!("/partners/{partner}/rules"),
            &[
                ("offer_id", &o),
                ("payout_type", "cpa"),
                ("payout", "15"),
                ("starts", ""),
                ("ends", ""),
            ],
        )
        .await;
    assert_eq!(
        resp.0.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(resp).await
    );
    let eff = dash
        .app
        .get(
            &dash.key,
            &format!("/api/v1/offers/{offer}/payout?partner_id={partner}"),
        )
        .await;
    assert_eq!(eff.json["payout"], 15.0);
    let rule = eff.json["rule_id"].as_i64().unwrap();
    let html = dash.html(&format!("/partners/{partner}")).await;
    assert!(html.contains("$15.00 per conversion"));
    assert!(html.contains(&format!("rule #{rule}")));
    let resp = dash
        .post_form(
            &format!("/partners/{partner}/rules"),
            &[("payout_type", "revshare"), ("payout", "150")],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(resp).await.contains("for a revshare rule"));
    assert_eq!(dash.app.count("SELECT count(*) FROM payout_rules"), 1);
    let resp = dash
        .post_form(&format!("/partners/{partner}/rules/{rule}/delete"), &[])
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    assert_eq!(dash.app.count("SELECT count(*) FROM payout_rules"), 0);
}

#[tokio::test]
async fn statements_are_made_for_all_partners_reviewed_downloaded_paid_and_deleted() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let (offer2, partner2) = dash.offer_and_partner("Hats").await;
    for (o, p) in [(offer, partner), (offer, partner), (offer2, partner2)] {
        dash.app
            .post(
                &dash.key,
                "/api/v1/conversions",
                json!({"offer_id": o, "partner_id": p, "occurred_at": "2026-11-20T10:00:00Z"}),
            )
            .await;
    }
    let html = dash.html("/statements").await;
    assert!(
        html.contains("$25.00") && html.contains("$12.50"),
        "outstanding: {html}"
    );
    let resp = dash
        .post_form(
            "/statements",
            &[("partner_id", ""), ("through", "2026-11-30")],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    let list = dash.app.get(&dash.key, "/api/v1/statements").await;
    let made = list.json["data"].as_array().unwrap().clone();
    assert_eq!(made.len(), 2, "one per partner: {made:?}");
    let mine = made.iter().find(|s| s["partner_id"] == partner).unwrap();
    assert_eq!(mine["total"], 25.0);
    let id = mine["id"].as_i64().unwrap();
    let html = dash.html(&format!("/statements/{id}")).await;
    assert!(html.contains("2 lines · total $25.00"), "{html}");
    assert!(html.contains("Mark paid"));
    let csv = dash
        .app
        .page(
            &format!("/b/{}/statements/{id}/lines.csv", dash.brand),
            &dash.session,
        )
        .await;
    let csv = text(csv).await;
    assert!(csv.starts_with("conversion_id,kind,amount,occurred_at\r\n"));
    assert_eq!(csv.lines().count(), 3);
    // Nothing left: says so.
    let resp = dash
        .post_form(
            "/statements",
            &[("partner_id", ""), ("through", "2026-11-30")],
        )
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        cookie_value(&resp, "trcker_flash").as_deref(),
        Some("nothing_to_pay")
    );

    let resp = dash.post_form(&format!("/statements/{id}/pay"), &[]).await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    let s = dash
        .app
        .get(&dash.key, &format!("/api/v1/statements/{id}"))
        .await;
    assert_eq!(s.json["status"], "paid");
    let resp = dash
        .post_form(&format!("/statements/{id}/delete"), &[])
        .await;
    assert_eq!(
        resp.0.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a paid statement stays"
    );
    let other = made.iter().find(|s| s["partner_id"] == partner2).unwrap()["id"]
        .as_i64()
        .unwrap();
    let resp = dash
        .post_form(&format!("/statements/{other}/delete"), &[])
        .await;
    assert_eq!(resp.0.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        dash.app
            .get(&dash.key, &format!("/api/v1/statements/{other}"))
            .await
            .status,
        404
    );
    let html = dash.html("/statements").await;
    assert!(html.contains("$12.50"), "partner 2 is owed again: {html}");
}
