//! `/events`: one per conversion recorded and per status change, oldest first, paged by
//! `after`, brand-scoped.

use serde_json::{Value, json};

use crate::common::{TestApp, app, offer_body};

/// Every event of the key's brand, read `limit` at a time by `after`.
async fn all_events(app: &TestApp, key: &str, limit: u32) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after = 0;
    loop {
        let r = app
            .get(key, &format!("/api/v1/events?after={after}&limit={limit}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let page = r.json["data"].as_array().unwrap().clone();
        assert!(page.len() <= limit as usize);
        let more = r.json["has_more"].as_bool().unwrap();
        if let Some(last) = page.last() {
            after = last["id"].as_i64().unwrap();
        }
        out.extend(page);
        if !more {
            return out;
        }
    }
}

#[tokio::test]
async fn one_event_per_creation_and_change_paged_without_gaps_or_repeats() {
    let app = app();
    let key = app.key("Acme");
    let other = app.key("Other");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let (o2, p2) = app.offer_and_partner(&other, offer_body("Theirs")).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let r = app
            .post(
                &key,
                "/api/v1/conversions",
                json!({"offer_id": offer, "partner_id": partner, "amount": 5.0,
                       "status": "pending", "transaction_id": format!("t-{i}")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        ids.push(r.json["id"].as_i64().unwrap());
        // The other brand's events interleave with these.
        let r = app
            .post(
                &other,
                "/api/v1/conversions",
                json!({"offer_id": o2, "partner_id": p2}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    // A repeat of a transaction id, a no-op and a refused change write no event.
    let r = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "transaction_id": "t-0"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let patch = |id: i64, status: &'static str| {
        let app = &app;
        let key = &key;
        async move {
            app.patch(
                key,
                &format!("/api/v1/conversions/{id}"),
                json!({"status": status}),
            )
            .await
        }
    };
    assert_eq!(patch(ids[0], "approved").await.status, 200);
    assert_eq!(patch(ids[0], "approved").await.status, 200, "no-op");
    assert_eq!(patch(ids[0], "pending").await.status, 422, "refused");
    assert_eq!(patch(ids[0], "reversed").await.status, 200);
    let r = app
        .post(
            &key,
            "/api/v1/conversions/bulk",
            json!({"ids": [ids[1], ids[2]], "status": "rejected"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // A bulk change that fails writes none.
    let r = app
        .post(
            &key,
            "/api/v1/conversions/bulk",
            json!({"ids": [ids[3], ids[0]], "status": "approved"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);

    let one_page = all_events(&app, &key, 100).await;
    for limit in [1, 2, 3, 25] {
        assert_eq!(
            all_events(&app, &key, limit).await,
            one_page,
            "limit={limit}"
        );
    }
    let kinds: Vec<&str> = one_page
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 7 + 2 + 2, "{kinds:?}");
    assert!(kinds[..7].iter().all(|k| *k == "conversion.created"));
    assert!(kinds[7..].iter().all(|k| *k == "conversion.status_changed"));
    let event_ids: Vec<i64> = one_page.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        event_ids.windows(2).all(|w| w[0] < w[1]),
        "increasing: {event_ids:?}"
    );
    for e in &one_page {
        assert!(e["created_at"].as_str().unwrap().ends_with('Z'));
        let cid = e["data"]["id"].as_i64().unwrap();
        assert!(ids.contains(&cid), "only this brand's conversions: {e}");
    }
    // `data` is the conversion as it was after the change, in the API's own JSON.
    assert_eq!(one_page[0]["data"]["status"], "pending");
    assert_eq!(one_page[7]["data"]["status"], "approved");
    assert_eq!(one_page[8]["data"]["status"], "reversed");
    let now = app
        .get(&key, &format!("/api/v1/conversions/{}", ids[0]))
        .await;
    assert_eq!(
        one_page[8]["data"], now.json,
        "the same fields and formats as GET"
    );
    let created = app
        .get(&key, &format!("/api/v1/conversions/{}", ids[6]))
        .await;
    assert_eq!(one_page[6]["data"], created.json);

    // After the last id: nothing.
    let last = event_ids.last().unwrap();
    let r = app.get(&key, &format!("/api/v1/events?after={last}")).await;
    assert_eq!(r.json["data"], json!([]));
    assert_eq!(r.json["has_more"], false);

    // The other brand sees only its own seven.
    let theirs = all_events(&app, &other, 100).await;
    assert_eq!(theirs.len(), 7);
    assert!(
        theirs
            .iter()
            .all(|e| !ids.contains(&e["data"]["id"].as_i64().unwrap()))
    );

    // Bad limits are 422.
    for bad in ["limit=0", "limit=101", "after=-1"] {
        let r = app.get(&key, &format!("/api/v1/events?{bad}")).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.json);
    }
}
