//! Cursors neither repeat nor skip while rows are inserted.

use serde_json::json;

use crate::common::{app, offer_body};

#[tokio::test]
async fn pages_are_stable_under_inserts() {
    let app = app();
    let key = app.key("Acme");
    let mut existing = Vec::new();
    for i in 0..23 {
        let r = app
            .post(&key, "/api/v1/offers", offer_body(&format!("o{i}")))
            .await;
        existing.push(r.json["id"].as_i64().unwrap());
    }
    existing.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/offers?limit=5&cursor={c}"),
            None => "/api/v1/offers?limit=5".to_string(),
        };
        let page = app.get(&key, &path).await;
        assert_eq!(page.status, 200, "{}", page.json);
        pages += 1;
        seen.extend(
            page.json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap()),
        );
        // New rows arrive between pages.
        app.post(&key, "/api/v1/offers", offer_body("late")).await;
        if page.json["has_more"] == json!(false) {
            assert_eq!(page.json["next_cursor"], serde_json::Value::Null);
            break;
        }
        cursor = Some(page.json["next_cursor"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, existing, "every row once, newest first");
    assert_eq!(pages, 5);
}

#[tokio::test]
async fn conversions_and_partners_paginate() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("o")).await;
    for i in 0..7 {
        app.post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "transaction_id": format!("t{i}")}),
        )
        .await;
        app.post(
            &key,
            "/api/v1/partners",
            json!({"name": "p", "email": format!("p{i}@x.example")}),
        )
        .await;
    }
    for list in ["/api/v1/conversions", "/api/v1/partners"] {
        let first = app.get(&key, &format!("{list}?limit=4")).await;
        assert_eq!(first.json["data"].as_array().unwrap().len(), 4);
        assert_eq!(first.json["has_more"], true);
        let c = first.json["next_cursor"].as_str().unwrap();
        let second = app.get(&key, &format!("{list}?limit=4&cursor={c}")).await;
        let n = second.json["data"].as_array().unwrap().len();
        assert_eq!(n, if list.ends_with("conversions") { 3 } else { 4 });
        let default = app.get(&key, list).await;
        assert!(default.json["data"].as_array().unwrap().len() <= 25);
    }
}
