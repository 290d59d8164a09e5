//! The ledger's pricing side (API 1.1): hold periods, payout rules and caps, over HTTP.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::common::{TestApp, app, offer_body};

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn ts(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp()
}

async fn post_conversion(app: &TestApp, key: &str, body: Value) -> Value {
    let r = app.post(key, "/api/v1/conversions", body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json
}

async fn history(app: &TestApp, key: &str, id: i64) -> Vec<Value> {
    let r = app
        .get(key, &format!("/api/v1/conversions/{id}/history"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_offer_with_hold_days_holds_approved_conversions_pending() {
    let app = app();
    let key = app.key("Acme");
    let mut body = offer_body("Held");
    body["hold_days"] = json!(30);
    let (offer, partner) = app.offer_and_partner(&key, body).await;
    let o = app.get(&key, &format!("/api/v1/offers/{offer}")).await;
    assert_eq!(o.json["hold_days"], 30);

    let at = ts("2026-11-20T10:00:00Z");
    let held = post_conversion(
        &app,
        &key,
        json!({"offer_id": offer, "partner_id": partner, "occurred_at": rfc3339(at)}),
    )
    .await;
    assert_eq!(held["status"], "pending");
    assert_eq!(held["hold_until"], rfc3339(at + 30 * 86_400));
    // Sent as pending, it waits for a person: no hold.
    let manual = post_conversion(
        &app,
        &key,
        json!({"offer_id": offer, "partner_id": partner, "status": "pending"}),
    )
    .await;
    assert_eq!(manual["hold_until"], Value::Null);

    // A person deciding ends the hold.
    let id = held["id"].as_i64().unwrap();
    let r = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{id}"),
            json!({"status": "rejected", "reason": "fraud"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["hold_until"], Value::Null);

    for bad in [json!(-1), json!(366), json!(1.5)] {
        let r = app
            .patch(
                &key,
                &format!("/api/v1/offers/{offer}"),
                json!({"hold_days": bad}),
            )
            .await;
        assert!(matches!(r.status, 400 | 422), "{bad}: {}", r.json);
    }
    let r = app
        .patch(
            &key,
            &format!("/api/v1/offers/{offer}"),
            json!({"hold_days": 0}),
        )
        .await;
    assert_eq!(r.json["hold_days"], 0);
    let now_approved = post_conversion(
        &app,
        &key,
        json!({"offer_id": offer, "partner_id": partner}),
    )
    .await;
    assert_eq!(now_approved["status"], "approved");
    assert_eq!(now_approved["hold_until"], Value::Null);
}

#[tokio::test]
async fn payout_rules_apply_by_precedence_and_fix_the_payout_at_recording() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await; // 12.50
    let earn = |at: &str| format!("/api/v1/offers/{offer}/payout?partner_id={partner}&at={at}");

    let r = app.get(&key, &earn("2026-11-01T00:00:00Z")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json,
        json!({"payout_type": "cpa", "payout": 12.5, "currency": "USD", "rule_id": null})
    );

    let all = app
        .post(
            &key,
            "/api/v1/payout-rules",
            json!({"partner_id": partner, "payout": 14.0, "starts_at": "2026-11-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(all.status, 201, "{}", all.json);
    let all_id = all.json["id"].as_i64().unwrap();
    assert_eq!(all.json["offer_id"], Value::Null);
    let this = app
        .post(
            &key,
            "/api/v1/payout-rules",
            json!({"partner_id": partner, "offer_id": offer, "payout_type": "revshare", "payout": 20,
                   "starts_at": "2026-11-10T00:00:00Z", "ends_at": "2026-11-20T00:00:00Z"}),
        )
        .await;
    assert_eq!(this.status, 201, "{}", this.json);
    let this_id = this.json["id"].as_i64().unwrap();

    let r = app.get(&key, &earn("2026-11-05T00:00:00Z")).await;
    assert_eq!(
        (r.json["payout"].clone(), r.json["rule_id"].clone()),
        (json!(14.0), json!(all_id))
    );
    let r = app.get(&key, &earn("2026-11-15T00:00:00Z")).await;
    assert_eq!(r.json["payout_type"], "revshare");
    assert_eq!(r.json["rule_id"], this_id);
    let r = app.get(&key, &earn("2026-11-20T00:00:00Z")).await;
    assert_eq!(r.json["rule_id"], all_id, "ends_at is not included");

    // Recorded while the offer rule is in force: 20 % of 50.00, and the rule named.
    let c = post_conversion(
        &app,
        &key,
        json!({"offer_id": offer, "partner_id": partner, "amount": 50.0,
               "occurred_at": "2026-11-15T12:00:00Z"}),
    )
    .await;
    assert_eq!(
        (c["payout"].clone(), c["payout_rule_id"].clone()),
        (json!(10.0), json!(this_id))
    );
    // Deleting the rule never rewrites it; later conversions fall back.
    let r = app
        .delete(&key, &format!("/api/v1/payout-rules/{this_id}"))
        .await;
    assert_eq!(r.status, 204);
    let again = app
        .get(&key, &format!("/api/v1/conversions/{}", c["id"]))
        .await;
    assert_eq!(again.json["payout"], 10.0);
    let later = post_conversion(
        &app,
        &key,
        json!({"offer_id": offer, "partner_id": partner, "amount": 50.0,
               "occurred_at": "2026-11-15T13:00:00Z"}),
    )
    .await;
    assert_eq!(
        (later["payout"].clone(), later["payout_rule_id"].clone()),
        (json!(14.0), json!(all_id))
    );
    assert_eq!(
        app.get(&key, &format!("/api/v1/payout-rules/{this_id}"))
            .await
            .status,
        404
    );

    let listed = app
        .get(&key, &format!("/api/v1/payout-rules?partner_id={partner}"))
        .await;
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 1);

    // Refused, with the contract's shape; nothing made.
    for (body, want) in [
        (
            json!({"partner_id": partner, "payout_type": "revshare", "payout": 101}),
            "<= 100",
        ),
        (
            json!({"partner_id": partner, "payout": 1, "starts_at": "2026-11-02T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z"}),
            "ends_at",
        ),
        (json!({"partner_id": 999_999, "payout": 1}), "partner_id"),
        (
            json!({"partner_id": partner, "offer_id": 999_999, "payout": 1}),
            "offer_id",
        ),
        (
            json!({"partner_id": partner, "payout": 1, "starts_at": "yesterday"}),
            "starts_at",
        ),
    ] {
        let r = app.post(&key, "/api/v1/payout-rules", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.json);
        assert!(
            r.json["error"]["message"].as_str().unwrap().contains(want),
            "{}",
            r.json
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM payout_rules"), 1);

    // Another brand sees none of it.
    let other = app.key("Other");
    assert_eq!(
        app.get(&other, &format!("/api/v1/payout-rules/{all_id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&other, &format!("/api/v1/payout-rules/{all_id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&other, &earn("2026-11-05T00:00:00Z")).await.status,
        404
    );
}

/// `n` postbacks at once on `offer`/`partner` at `at`; how many of them were approved.
async fn burst(
    app: &TestApp,
    key: &str,
    offer: i64,
    partner: i64,
    at: &str,
    n: usize,
) -> Vec<Value> {
    let posts = (0..n).map(|_| {
        app.post(
            key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "occurred_at": at}),
        )
    });
    join_all(posts)
        .await
        .into_iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.json);
            r.json
        })
        .collect()
}

fn approved(rows: &[Value]) -> usize {
    rows.iter().filter(|c| c["status"] == "approved").count()
}

#[tokio::test]
async fn two_hundred_parallel_postbacks_at_a_cap_of_fifty_count_exactly_fifty() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("Capped")).await;
    let cap = app
        .post(
            &key,
            &format!("/api/v1/offers/{offer}/caps"),
            json!({"metric": "conversions", "window": "lifetime", "limit": 50}),
        )
        .await;
    assert_eq!(cap.status, 201, "{}", cap.json);
    assert_eq!(cap.json["used"], 0.0);

    let now = rfc3339(chrono::Utc::now().timestamp());
    let rows = burst(&app, &key, offer, partner, &now, 200).await;
    assert_eq!(approved(&rows), 50);
    let rejected: Vec<&Value> = rows.iter().filter(|c| c["status"] == "rejected").collect();
    assert_eq!(rejected.len(), 150);
    assert!(rejected.iter().all(|c| c["reason"] == "cap_reached"));
    let h = history(&app, &key, rejected[0]["id"].as_i64().unwrap()).await;
    assert_eq!(h[0]["actor"], "system:cap");
    assert_eq!(h[0]["to"], "rejected");

    let caps = app.get(&key, &format!("/api/v1/offers/{offer}/caps")).await;
    assert_eq!(caps.json["data"][0]["used"], 50.0);
    // Every one was kept: 200 recorded, the report counts 50.
    assert_eq!(app.count("SELECT count(*) FROM conversions"), 200);
    let rep = app
        .get(
            &key,
            "/api/v1/reports?from=2026-11-01&to=2026-12-31&group_by=offer",
        )
        .await;
    assert_eq!(rep.json["totals"][0]["conversions"], 50, "{}", rep.json);
    assert_eq!(rep.json["totals"][0]["rejected_conversions"], 150);

    // Rejecting one frees its place; the next postback takes it, the one after is capped.
    let first = rows.iter().find(|c| c["status"] == "approved").unwrap();
    let r = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{}", first["id"]),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let more = burst(&app, &key, offer, partner, &now, 3).await;
    assert_eq!(approved(&more), 1);
    let caps = app.get(&key, &format!("/api/v1/offers/{offer}/caps")).await;
    assert_eq!(caps.json["data"][0]["used"], 50.0);
}

#[tokio::test]
async fn a_daily_cap_counts_each_day_of_the_brands_zone_on_its_own() {
    let app = app();
    let key = app.key("Acme");
    let r = app
        .patch(&key, "/api/v1/brand", json!({"timezone": "Asia/Kolkata"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let (offer, partner) = app.offer_and_partner(&key, offer_body("Daily")).await;
    let r = app
        .post(
            &key,
            &format!("/api/v1/offers/{offer}/caps"),
            json!({"metric": "conversions", "window": "day", "limit": 50, "partner_id": partner}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    // 23:59:30 and 00:00:30 in Kolkata, on either side of its midnight (18:30 UTC).
    let (before, after) = ("2026-11-29T18:29:30Z", "2026-11-29T18:30:30Z");
    let (a, b) = tokio::join!(
        burst(&app, &key, offer, partner, before, 100),
        burst(&app, &key, offer, partner, after, 100)
    );
    assert_eq!((approved(&a), approved(&b)), (50, 50));

    // A payout cap: 25.00 of 12.50 conversions takes two.
    let r = app
        .post(
            &key,
            &format!("/api/v1/offers/{offer}/caps"),
            json!({"metric": "payout", "window": "month", "limit": 25.0}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    // A cap made later counts what its window already holds (November: the 100 above); the
    // current window (December) is empty, and October has room for two.
    assert_eq!(r.json["used"], 0.0);
    let oct = burst(&app, &key, offer, partner, "2026-10-10T10:00:00Z", 3).await;
    assert_eq!(approved(&oct), 2);
    let nov = burst(&app, &key, offer, partner, "2026-11-10T10:00:00Z", 1).await;
    assert_eq!(approved(&nov), 0, "November is past 25.00 already");

    for (body, want) in [
        (
            json!({"metric": "conversions", "window": "day", "limit": 0}),
            "limit",
        ),
        (
            json!({"metric": "conversions", "window": "day", "limit": 1.5}),
            "whole",
        ),
        (
            json!({"metric": "payout", "window": "day", "limit": 1.005}),
            "limit",
        ),
        (
            json!({"metric": "conversions", "window": "day", "limit": 5, "partner_id": 999_999}),
            "partner_id",
        ),
    ] {
        let r = app
            .post(&key, &format!("/api/v1/offers/{offer}/caps"), body.clone())
            .await;
        assert_eq!(r.status, 422, "{body}: {}", r.json);
        assert!(
            r.json["error"]["message"].as_str().unwrap().contains(want),
            "{}",
            r.json
        );
    }
    let other = app.key("Other");
    let caps = app.get(&key, &format!("/api/v1/offers/{offer}/caps")).await;
    let cap_id = caps.json["data"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&other, &format!("/api/v1/offers/{offer}/caps"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&other, &format!("/api/v1/caps/{cap_id}"))
            .await
            .status,
        404
    );
    for cap in caps.json["data"].as_array().unwrap() {
        let r = app
            .delete(&key, &format!("/api/v1/caps/{}", cap["id"]))
            .await;
        assert_eq!(r.status, 204);
    }
    let after_delete = burst(&app, &key, offer, partner, before, 1).await;
    assert_eq!(approved(&after_delete), 1, "the caps are gone");
    assert_eq!(app.count("SELECT count(*) FROM cap_usage"), 0);
}
