use serde_json::json;

use crate::common::{app, app_with, offer_body, stored_clicks};

#[tokio::test]
async fn offers_create_get_patch_list() {
    let app = app();
    let key = app.key("Acme");
    let created = app
        .post(
            &key,
            "/api/v1/offers",
            json!({
                "name": "Summer", "destination_url": "https://shop.example.com/?c={click_id}",
                "payout": 12.5, "currency": "eur"
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_i64().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/offers/{id}").as_str())
    );
    let o = &created.json;
    assert_eq!(o["payout_type"], "cpa");
    assert_eq!(o["status"], "active");
    assert_eq!(o["currency"], "EUR");
    assert_eq!(o["payout"], 12.5);
    assert!(
        o["tracking_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/c/{id}/{{partner_id}}"))
    );
    assert!(o["created_at"].as_str().unwrap().ends_with('Z'));

    let got = app.get(&key, &format!("/api/v1/offers/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json["name"], "Summer");

    let patched = app
        .patch(
            &key,
            &format!("/api/v1/offers/{id}"),
            json!({"status": "paused", "payout": 15}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.json);
    assert_eq!(patched.json["status"], "paused");
    assert_eq!(patched.json["payout"], 15.0);
    assert_eq!(patched.json["name"], "Summer", "fields not given stay");

    let bad = app
        .patch(
            &key,
            &format!("/api/v1/offers/{id}"),
            json!({"currency": "USD"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let bad = app
        .patch(
            &key,
            &format!("/api/v1/offers/{id}"),
            json!({"payout_type": "revshare", "payout": 150}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("payout")
    );

    app.post(&key, "/api/v1/offers", offer_body("Other")).await;
    let all = app.get(&key, "/api/v1/offers").await;
    assert_eq!(all.json["data"].as_array().unwrap().len(), 2);
    assert_eq!(all.json["next_cursor"], serde_json::Value::Null);
    let paused = app.get(&key, "/api/v1/offers?status=paused").await;
    let ids: Vec<i64> = paused.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
}

#[tokio::test]
async fn offer_validation_names_the_field() {
    let app = app();
    let key = app.key("Acme");
    let cases = [
        (
            json!({"destination_url": "https://a.example", "payout": 1}),
            "name",
        ),
        (
            json!({"name": "", "destination_url": "https://a.example", "payout": 1}),
            "name",
        ),
        (
            json!({"name": "x", "destination_url": "notaurl", "payout": 1}),
            "destination_url",
        ),
        (
            json!({"name": "x", "destination_url": "ftp://a.example", "payout": 1}),
            "destination_url",
        ),
        (
            json!({"name": "x", "destination_url": "https://a.example", "payout": -1}),
            "payout",
        ),
        (
            json!({"name": "x", "destination_url": "https://a.example", "payout": 1.001}),
            "payout",
        ),
        (
            json!({"name": "x", "destination_url": "https://a.example", "payout": "1"}),
            "payout",
        ),
        (
            json!({"name": "x", "destination_url": "https://a.example", "payout": 1, "status": "live"}),
            "status",
        ),
        (
            json!({"name": "x", "destination_url": "https://a.example", "payout": 1, "currency": "dollars"}),
            "currency",
        ),
        (
            json!({"name": "x", "destination_url": "https://a.example", "payout": 101, "payout_type": "revshare"}),
            "payout",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&key, "/api/v1/offers", body.clone()).await;
        assert_eq!(r.status, 422, "{body} -> {}", r.json);
        assert_eq!(r.code(), "validation_error");
        assert!(
            r.json["error"]["message"].as_str().unwrap().contains(field),
            "{body} -> {}",
            r.json
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM offers"),
        0,
        "bad input changes nothing"
    );
}

#[tokio::test]
async fn partners_create_get_patch_list_and_unique_email() {
    let app = app();
    let key = app.key("Acme");
    let p = app
        .post(
            &key,
            "/api/v1/partners",
            json!({"name": "Deal Hunters", "email": "Team@Deals.example"}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.json);
    let id = p.json["id"].as_i64().unwrap();
    assert_eq!(
        p.header("location"),
        Some(format!("/api/v1/partners/{id}").as_str())
    );
    assert_eq!(p.json["status"], "active");
    assert_eq!(p.json["email"], "team@deals.example");

    let dup = app
        .post(
            &key,
            "/api/v1/partners",
            json!({"name": "Again", "email": "team@deals.example"}),
        )
        .await;
    assert_eq!(dup.status, 422);
    assert_eq!(dup.code(), "duplicate_email");

    let bad = app
        .post(
            &key,
            "/api/v1/partners",
            json!({"name": "X", "email": "not-an-email"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("email")
    );

    let other = app
        .post(
            &key,
            "/api/v1/partners",
            json!({"name": "Other", "email": "o@deals.example", "status": "pending"}),
        )
        .await;
    let dup_patch = app
        .patch(
            &key,
            &format!("/api/v1/partners/{}", other.json["id"]),
            json!({"email": "team@deals.example"}),
        )
        .await;
    assert_eq!(dup_patch.code(), "duplicate_email");

    let blocked = app
        .patch(
            &key,
            &format!("/api/v1/partners/{id}"),
            json!({"status": "blocked"}),
        )
        .await;
    assert_eq!(blocked.status, 200);
    assert_eq!(blocked.json["status"], "blocked");
    assert_eq!(blocked.json["name"], "Deal Hunters");

    assert_eq!(
        app.get(&key, &format!("/api/v1/partners/{id}")).await.json["status"],
        "blocked"
    );
    let pending = app.get(&key, "/api/v1/partners?status=pending").await;
    assert_eq!(pending.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(&key, "/api/v1/partners/99999").await.status, 404);
}

#[tokio::test]
async fn tracking_link_redirects_with_macros_and_records_the_click() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app
        .offer_and_partner(&key, json!({
            "name": "M", "payout": 1,
            "destination_url": "https://shop.example.com/l?c={click_id}&o={offer_id}&p={partner_id}&s={sub1}&t={sub2}"
        }))
        .await;
    let (status, loc) = app
        .click(&format!("/c/{offer}/{partner}?sub1=a%20b%26c&sub2=x"))
        .await;
    assert_eq!(status, 302);
    let loc = loc.unwrap();
    let cid: String = app.count("SELECT COUNT(*) FROM clicks").to_string();
    assert_eq!(cid, "1");
    let id: String = stored_clicks(&app.state.pool.get().unwrap()).remove(0).id;
    assert!(id.len() >= 20);
    assert_eq!(
        loc,
        format!("https://shop.example.com/l?c={id}&o={offer}&p={partner}&s=a%20b%26c&t=x")
    );

    // Without {click_id} in the destination, click_id is appended.
    let (o2, _) = app.offer_and_partner(&key, offer_body("plain")).await;
    let (_, loc) = app.click(&format!("/c/{o2}/{partner}")).await;
    assert!(
        loc.unwrap()
            .starts_with("https://shop.example.com/l?x=1&click_id=")
    );

    // Subs are truncated to 255 characters.
    let long = "z".repeat(300);
    app.click(&format!("/c/{offer}/{partner}?sub3={long}"))
        .await;
    let len: i64 = app.count("SELECT MAX(LENGTH(sub3)) FROM clicks");
    assert_eq!(len, 255);

    // Ids sort as strings in creation order.
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(app.click_id(&format!("/c/{o2}/{partner}")).await);
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(
        ids.iter()
            .all(|i| i.len() >= 20 && i.bytes().all(|b| b.is_ascii_alphanumeric()))
    );
}

#[tokio::test]
async fn inactive_offers_and_blocked_partners_do_not_redirect() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
    assert_eq!(app.click(&format!("/c/{offer}/{partner}")).await.0, 302);
    assert_eq!(app.click(&format!("/c/{offer}/99999")).await.0, 404);
    assert_eq!(app.click(&format!("/c/99999/{partner}")).await.0, 404);
    assert_eq!(app.click("/c/abc/1").await.0, 404);

    app.patch(
        &key,
        &format!("/api/v1/offers/{offer}"),
        json!({"status": "paused"}),
    )
    .await;
    assert_eq!(
        app.click(&format!("/c/{offer}/{partner}")).await.0,
        404,
        "a paused offer stops at once"
    );
    app.patch(
        &key,
        &format!("/api/v1/offers/{offer}"),
        json!({"status": "archived"}),
    )
    .await;
    assert_eq!(app.click(&format!("/c/{offer}/{partner}")).await.0, 404);
    app.patch(
        &key,
        &format!("/api/v1/offers/{offer}"),
        json!({"status": "active"}),
    )
    .await;
    app.patch(
        &key,
        &format!("/api/v1/partners/{partner}"),
        json!({"status": "blocked"}),
    )
    .await;
    assert_eq!(
        app.click(&format!("/c/{offer}/{partner}")).await.0,
        404,
        "a blocked partner stops at once"
    );

    // A partner of another brand can't be combined with this brand's offer.
    let other = app.key("Other");
    let (_, their_partner) = app.offer_and_partner(&other, offer_body("T")).await;
    assert_eq!(
        app.click(&format!("/c/{offer}/{their_partner}")).await.0,
        404
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM clicks"),
        1,
        "only the first click was recorded"
    );
}

#[tokio::test]
async fn unique_clicks_by_ip_agent_offer_partner() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
    for _ in 0..3 {
        app.click(&format!("/c/{offer}/{partner}")).await;
    }
    let other_agent = app
        .cli
        .get(format!("/c/{offer}/{partner}"))
        .header("User-Agent", "another")
        .send()
        .await;
    assert_eq!(other_agent.0.status().as_u16(), 302);
    assert_eq!(app.count("SELECT COUNT(*) FROM clicks"), 4);
    assert_eq!(app.count("SELECT SUM(is_unique) FROM clicks"), 2);
}

#[tokio::test]
async fn tracking_url_uses_the_public_url_when_configured() {
    let app = app_with(|c| c.public_url = Some("https://track.example.com".into()));
    let key = app.key("Acme");
    let r = app.post(&key, "/api/v1/offers", offer_body("o")).await;
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(
        r.json["tracking_url"],
        format!("https://track.example.com/c/{id}/{{partner_id}}")
    );
    let plain = crate::common::app();
    let key = plain.key("Acme");
    let r = plain
        .raw(
            plain
                .cli
                .post("/api/v1/offers")
                .header("Authorization", format!("Bearer {key}"))
                .header("Host", "links.shop.example")
                .body_json(&offer_body("o")),
        )
        .await;
    assert_eq!(
        r.json["tracking_url"],
        "http://links.shop.example/c/1/{partner_id}"
    );
}

#[tokio::test]
async fn concurrent_patches_do_not_undo_each_other() {
    let app = std::sync::Arc::new(app());
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, key) = (app.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let body = if i == 7 {
                json!({"status": "paused"})
            } else {
                json!({"name": format!("n{i}")})
            };
            app.patch(&key, &format!("/api/v1/offers/{offer}"), body)
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let o = app.get(&key, &format!("/api/v1/offers/{offer}")).await;
    assert_eq!(
        o.json["status"], "paused",
        "a rename must not write back the old status"
    );
    assert_eq!(
        app.click(&format!("/c/{offer}/{partner}")).await.0,
        404,
        "the cache agrees"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_visitors_are_told_apart_by_forwarded_for() {
    for trust in [true, false] {
        let app = app_with(|c| c.trust_proxy = trust);
        let key = app.key("Acme");
        let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
        for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.2"] {
            let r = app
                .cli
                .get(format!("/c/{offer}/{partner}"))
                .header("User-Agent", "same")
                .header("X-Forwarded-For", format!("6.6.6.6, {ip}"))
                .send()
                .await;
            assert_eq!(r.0.status().as_u16(), 302);
        }
        let uniques = app.count("SELECT SUM(is_unique) FROM clicks");
        let ip = stored_clicks(&app.state.pool.get().unwrap())
            .into_iter()
            .map(|c| c.ip)
            .max()
            .unwrap();
        if trust {
            assert_eq!((uniques, ip.as_str()), (2, "203.0.113.2"));
        } else {
            assert_eq!(uniques, 1, "forwarded-for is ignored unless trusted");
        }
    }
}

#[tokio::test]
async fn head_on_a_tracking_link_answers_without_recording() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
    let r = app
        .cli
        .head(format!("/c/{offer}/{partner}?sub1=x"))
        .send()
        .await;
    assert_eq!(r.0.status().as_u16(), 302);
    assert!(
        r.0.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://shop.example.com/l?x=1")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM clicks"), 0);
    let gone = app.cli.head(format!("/c/{offer}/999")).send().await;
    assert_eq!(gone.0.status().as_u16(), 404);
}
