//! Two brands cannot see each other's offers, partners, clicks, conversions or reports.

use serde_json::json;

use crate::common::{app, offer_body};

#[tokio::test]
async fn brands_are_isolated() {
    let app = app();
    let a = app.key("Brand A");
    let b = app.key("Brand B");
    let (offer, partner) = app.offer_and_partner(&a, offer_body("A's offer")).await;
    let cid = app.click_id(&format!("/c/{offer}/{partner}?sub1=s")).await;
    let conv = app
        .post(
            &a,
            "/api/v1/conversions",
            json!({"click_id": cid, "transaction_id": "tx", "amount": 5}),
        )
        .await;
    let conv_id = conv.json["id"].as_i64().unwrap();

    for path in [
        format!("/api/v1/offers/{offer}"),
        format!("/api/v1/partners/{partner}"),
        format!("/api/v1/conversions/{conv_id}"),
        format!("/api/v1/clicks/{cid}"),
    ] {
        let r = app.get(&b, &path).await;
        assert_eq!(r.status, 404, "{path}: another brand's rows do not exist");
        assert_eq!(r.code(), "not_found");
    }
    assert_eq!(
        app.patch(
            &b,
            &format!("/api/v1/offers/{offer}"),
            json!({"status": "paused"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.patch(
            &b,
            &format!("/api/v1/partners/{partner}"),
            json!({"status": "blocked"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.patch(
            &b,
            &format!("/api/v1/conversions/{conv_id}"),
            json!({"status": "rejected"})
        )
        .await
        .status,
        404
    );

    for list in [
        "/api/v1/offers",
        "/api/v1/partners",
        "/api/v1/conversions",
        "/api/v1/clicks",
    ] {
        let r = app.get(&b, list).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["data"], json!([]), "{list}");
    }
    let filtered = app
        .get(
            &b,
            &format!("/api/v1/conversions?offer_id={offer}&click_id={cid}"),
        )
        .await;
    assert_eq!(filtered.json["data"], json!([]));

    // B can't credit A's click, nor A's offer and partner.
    let r = app
        .post(&b, "/api/v1/conversions", json!({"click_id": cid}))
        .await;
    assert_eq!(r.code(), "unknown_click");
    let r = app
        .post(
            &b,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.code(), "validation_error", "{}", r.json);
    let message = r.json["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("offer_id") && message.contains(&offer.to_string()),
        "the message names the field and the id: {message}"
    );
    // B's repeat of A's transaction id is B's own new conversion... but B has no offer yet.
    let report = app
        .get(
            &b,
            &format!("/api/v1/reports?group_by=offer&offer_id={offer}"),
        )
        .await;
    assert_eq!(report.json["data"], json!([]));
    assert_eq!(report.json["totals"][0]["clicks"], 0);
    let report_day = app.get(&b, "/api/v1/reports").await;
    assert!(
        report_day.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["clicks"] == 0 && r["conversions"] == 0)
    );

    // A sees everything of its own.
    let mine = app.get(&a, "/api/v1/reports?group_by=offer").await;
    assert_eq!(mine.json["data"][0]["clicks"], 1);
    assert_eq!(mine.json["data"][0]["conversions"], 1);
    // B's PATCH above did not pause A's offer: it is still active and still redirects.
    let own = app.get(&a, &format!("/api/v1/offers/{offer}")).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.json["status"], "active", "{}", own.json);
    let link = format!("/c/{offer}/{partner}");
    assert_eq!(app.click(&link).await.0, 302);
    // A can pause and reactivate its own offer, and each takes effect at once.
    let paused = app
        .patch(
            &a,
            &format!("/api/v1/offers/{offer}"),
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.json);
    assert_eq!(paused.json["status"], "paused");
    assert_eq!(
        app.click(&link).await.0,
        404,
        "a paused offer stops redirecting"
    );
    let active = app
        .patch(
            &a,
            &format!("/api/v1/offers/{offer}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(active.status, 200, "{}", active.json);
    assert_eq!(active.json["status"], "active");
    assert_eq!(
        app.click(&link).await.0,
        302,
        "reactivated, it redirects again"
    );
}
