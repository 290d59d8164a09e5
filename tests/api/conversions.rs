use std::sync::Arc;

use serde_json::json;

use crate::common::{app, offer_body};

#[tokio::test]
async fn postback_by_click_copies_subs_and_computes_payout() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let cid = app
        .click_id(&format!("/c/{offer}/{partner}?sub1=news&sub5=five"))
        .await;
    let r = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"click_id": cid, "amount": 99.99, "event": "purchase", "transaction_id": "o-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let c = &r.json;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/conversions/{id}").as_str())
    );
    assert_eq!(c["click_id"], cid);
    assert_eq!(c["offer_id"], offer);
    assert_eq!(c["partner_id"], partner);
    assert_eq!(c["amount"], 99.99);
    assert_eq!(c["payout"], 12.5);
    assert_eq!(c["currency"], "USD");
    assert_eq!(c["status"], "approved");
    assert_eq!(c["event"], "purchase");
    assert_eq!(c["sub1"], "news");
    assert_eq!(c["sub2"], serde_json::Value::Null);
    assert_eq!(c["sub5"], "five");
    for field in [
        "id",
        "click_id",
        "offer_id",
        "partner_id",
        "event",
        "amount",
        "payout",
        "currency",
        "status",
        "transaction_id",
        "sub1",
        "sub2",
        "sub3",
        "sub4",
        "sub5",
        "occurred_at",
        "created_at",
    ] {
        assert!(c.get(field).is_some(), "{field} is always present");
    }
    let got = app.get(&key, &format!("/api/v1/conversions/{id}")).await;
    assert_eq!(got.json, r.json);
}

#[tokio::test]
async fn postback_by_offer_and_partner_and_its_errors() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let r = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "status": "pending"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["click_id"], serde_json::Value::Null);
    assert_eq!(r.json["status"], "pending");
    assert_eq!(r.json["event"], "conversion");
    assert_eq!(r.json["amount"], serde_json::Value::Null);

    let missing = app
        .post(&key, "/api/v1/conversions", json!({"offer_id": offer}))
        .await;
    assert_eq!(missing.status, 422);
    let unknown = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"click_id": "01JDQ7ZK3M8XW2V5T9R4B6N1CE"}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.code(), "unknown_click");
    let bad_event = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "event": "Big Sale"}),
        )
        .await;
    assert_eq!(bad_event.status, 422);
    assert!(
        bad_event.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("event")
    );
    let bad_amount = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "amount": 1.234}),
        )
        .await;
    assert_eq!(bad_amount.status, 422);
    let bad_time = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "occurred_at": "yesterday"}),
        )
        .await;
    assert_eq!(bad_time.status, 422);
    for at in [
        "1969-12-31T23:59:59Z",
        "1999-12-31T23:59:59Z",
        "2999-01-01T00:00:00Z",
    ] {
        let r = app
            .post(
                &key,
                "/api/v1/conversions",
                json!({"offer_id": offer, "partner_id": partner, "occurred_at": at}),
            )
            .await;
        assert_eq!(r.status, 422, "{at}");
        assert!(
            r.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("occurred_at")
        );
    }
    let no_offer = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": 999, "partner_id": partner}),
        )
        .await;
    assert_eq!(no_offer.status, 422);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM conversions"),
        1,
        "rejected postbacks change nothing"
    );
}

#[tokio::test]
async fn revshare_payout_rounds_half_even_to_cents() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app
        .offer_and_partner(&key, json!({"name": "Rev", "destination_url": "https://a.example", "payout_type": "revshare", "payout": 10}))
        .await;
    let cases = [
        (10.25, 1.02),
        (10.35, 1.04),
        (0.05, 0.0),
        (0.15, 0.02),
        (19.99, 2.0),
        (1234567.89, 123456.79),
        (0.1, 0.01),
    ];
    for (amount, payout) in cases {
        let r = app
            .post(
                &key,
                "/api/v1/conversions",
                json!({"offer_id": offer, "partner_id": partner, "amount": amount}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert_eq!(
            r.json["payout"].as_f64().unwrap(),
            payout,
            "amount {amount}"
        );
        assert_eq!(r.json["amount"].as_f64().unwrap(), amount);
    }
    let need_amount = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner}),
        )
        .await;
    assert_eq!(need_amount.status, 422);
    assert!(
        need_amount.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("amount")
    );

    // 12.5% of 0.10 is 0.0125 → 0.01; stored as integer cents, summed exactly.
    let (o2, p2) = app
        .offer_and_partner(&key, json!({"name": "Rev2", "destination_url": "https://a.example", "payout_type": "revshare", "payout": 12.5}))
        .await;
    for _ in 0..10 {
        let r = app
            .post(
                &key,
                "/api/v1/conversions",
                json!({"offer_id": o2, "partner_id": p2, "amount": 0.1}),
            )
            .await;
        assert_eq!(r.json["payout"].as_f64().unwrap(), 0.01);
    }
    assert_eq!(
        app.count(&format!(
            "SELECT SUM(payout_minor) FROM conversions WHERE offer_id = {o2}"
        )),
        10
    );
    assert_eq!(
        app.count(&format!(
            "SELECT SUM(amount_minor) FROM conversions WHERE offer_id = {o2}"
        )),
        100
    );
    let report = app
        .get(
            &key,
            &format!("/api/v1/reports?offer_id={o2}&group_by=offer"),
        )
        .await;
    assert_eq!(report.json["totals"][0]["revenue"], 1.0);
    assert_eq!(report.json["totals"][0]["payout"], 0.1);
}

#[tokio::test]
async fn transaction_id_is_idempotent() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
    let body = json!({"offer_id": offer, "partner_id": partner, "transaction_id": "order-7", "amount": 10});
    let first = app.post(&key, "/api/v1/conversions", body.clone()).await;
    assert_eq!(first.status, 201);
    let again = app.post(&key, "/api/v1/conversions", json!({"offer_id": offer, "partner_id": partner, "transaction_id": "order-7", "amount": 99})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json, first.json, "the first conversion, unchanged");
    assert_eq!(app.count("SELECT COUNT(*) FROM conversions"), 1);

    // Another brand may use the same order id.
    let other = app.key("Other");
    let (o2, p2) = app.offer_and_partner(&other, offer_body("O")).await;
    let theirs = app
        .post(
            &other,
            "/api/v1/conversions",
            json!({"offer_id": o2, "partner_id": p2, "transaction_id": "order-7"}),
        )
        .await;
    assert_eq!(theirs.status, 201);
}

#[tokio::test]
async fn ten_parallel_repeats_make_one_conversion() {
    let app = Arc::new(app());
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (app, key) = (app.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let r = app
                .post(
                    &key,
                    "/api/v1/conversions",
                    json!({"offer_id": offer, "partner_id": partner, "transaction_id": "same"}),
                )
                .await;
            (r.status, r.json["id"].as_i64())
        }));
    }
    let mut statuses = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (s, id) = t.await.unwrap();
        statuses.push(s);
        ids.insert(id);
    }
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM conversions"), 1);
}

#[tokio::test]
async fn list_filters_and_status_changes() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("A")).await;
    let (offer2, partner2) = app.offer_and_partner(&key, offer_body("B")).await;
    let cid = app.click_id(&format!("/c/{offer}/{partner}")).await;
    let c1 = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"click_id": cid, "transaction_id": "t1", "event": "lead",
        "occurred_at": "2026-01-10T12:00:00Z"}),
        )
        .await;
    let c2 = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer2, "partner_id": partner2, "status": "pending",
        "occurred_at": "2026-02-10T12:00:00Z"}),
        )
        .await;
    let (id1, id2) = (
        c1.json["id"].as_i64().unwrap(),
        c2.json["id"].as_i64().unwrap(),
    );
    let ids = |a: &crate::common::Answer| -> Vec<i64> {
        a.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(&app.get(&key, "/api/v1/conversions").await),
        vec![id2, id1]
    );
    assert_eq!(
        ids(&app
            .get(&key, &format!("/api/v1/conversions?offer_id={offer}"))
            .await),
        vec![id1]
    );
    assert_eq!(
        ids(&app
            .get(&key, &format!("/api/v1/conversions?partner_id={partner2}"))
            .await),
        vec![id2]
    );
    assert_eq!(
        ids(&app.get(&key, "/api/v1/conversions?status=pending").await),
        vec![id2]
    );
    assert_eq!(
        ids(&app.get(&key, "/api/v1/conversions?event=lead").await),
        vec![id1]
    );
    assert_eq!(
        ids(&app
            .get(&key, &format!("/api/v1/conversions?click_id={cid}"))
            .await),
        vec![id1]
    );
    assert_eq!(
        ids(&app.get(&key, "/api/v1/conversions?transaction_id=t1").await),
        vec![id1]
    );
    assert_eq!(
        ids(&app.get(&key, "/api/v1/conversions?from=2026-02-01").await),
        vec![id2]
    );
    assert_eq!(
        ids(&app.get(&key, "/api/v1/conversions?to=2026-01-10").await),
        vec![id1]
    );
    assert_eq!(
        ids(&app
            .get(
                &key,
                "/api/v1/conversions?from=2026-01-10T12:00:01Z&to=2026-02-10"
            )
            .await),
        vec![id2]
    );
    assert_eq!(
        app.get(&key, "/api/v1/conversions?from=2026-03-01&to=2026-02-01")
            .await
            .status,
        422
    );
    assert_eq!(
        app.get(&key, "/api/v1/conversions?from=last-week")
            .await
            .status,
        400
    );
    assert_eq!(
        ids(&app.get(&key, "/api/v1/conversions?offer_id=424242").await),
        Vec::<i64>::new()
    );

    let patched = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{id2}"),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.json["status"], "approved");
    assert_eq!(patched.json["offer_id"], offer2);
    let bad = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{id2}"),
            json!({"status": "maybe"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        app.patch(
            &key,
            "/api/v1/conversions/99999",
            json!({"status": "rejected"})
        )
        .await
        .status,
        404
    );
}
