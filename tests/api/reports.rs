//! Reports: every time bucket, zones, totals per currency, group keys.

use serde_json::{Value, json};

use crate::common::app;

/// Seed: one offer in USD, one in EUR; conversions at fixed times.
pub(crate) async fn seeded() -> (crate::common::TestApp, String, i64, i64, i64) {
    let app = app();
    let key = app.key("Acme");
    let (usd, partner) = app
        .offer_and_partner(
            &key,
            json!({"name": "U", "destination_url": "https://a.example", "payout": 2.5}),
        )
        .await;
    let eur = app
        .post(&key, "/api/v1/offers", json!({"name": "E", "destination_url": "https://a.example", "payout": 1, "currency": "EUR"}))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let post = |offer: i64, at: &str, status: &str, amount: f64| json!({"offer_id": offer, "partner_id": partner, "occurred_at": at, "status": status, "amount": amount});
    for body in [
        post(usd, "2026-11-01T10:00:00Z", "approved", 100.0),
        post(usd, "2026-11-01T20:00:00Z", "approved", 50.5),
        post(usd, "2026-11-02T18:40:00Z", "pending", 10.0),
        post(usd, "2026-11-03T01:00:00Z", "rejected", 10.0),
        post(eur, "2026-11-02T12:00:00Z", "approved", 30.0),
    ] {
        let r = app.post(&key, "/api/v1/conversions", body).await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    (app, key, usd, eur, partner)
}

fn rows(v: &Value) -> &Vec<Value> {
    v["data"].as_array().unwrap()
}

#[tokio::test]
async fn days_in_utc_with_zero_buckets_and_currency_split() {
    let (app, key, usd, eur, _) = seeded().await;
    let r = app
        .get(&key, "/api/v1/reports?from=2026-10-31&to=2026-11-04")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let data = rows(&r.json);
    let days: Vec<&str> = data.iter().map(|r| r["day"].as_str().unwrap()).collect();
    // 11-02 has USD (pending) and EUR rows; empty days carry one zero row per currency.
    assert_eq!(
        days,
        [
            "2026-10-31",
            "2026-10-31",
            "2026-11-01",
            "2026-11-02",
            "2026-11-02",
            "2026-11-03",
            "2026-11-04",
            "2026-11-04"
        ]
    );
    let nov1 = &data[2];
    assert_eq!(nov1["currency"], "USD");
    assert_eq!(nov1["conversions"], 2);
    assert_eq!(nov1["revenue"], 150.5);
    assert_eq!(nov1["payout"], 5.0);
    assert_eq!(nov1["clicks"], 0);
    assert_eq!(nov1["epc"], 0.0);
    assert_eq!(nov1["offer_id"], Value::Null);
    let nov2: Vec<&Value> = data.iter().filter(|r| r["day"] == "2026-11-02").collect();
    assert_eq!(nov2[0]["currency"], "EUR");
    assert_eq!(nov2[0]["revenue"], 30.0);
    assert_eq!(nov2[1]["currency"], "USD");
    assert_eq!(nov2[1]["conversions"], 0);
    assert_eq!(nov2[1]["pending_conversions"], 1);
    let totals = r.json["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 2);
    assert_eq!(totals[0]["currency"], "EUR");
    assert_eq!(totals[1]["currency"], "USD");
    assert_eq!(totals[1]["conversions"], 2);
    assert_eq!(totals[1]["pending_conversions"], 1);
    assert_eq!(totals[1]["revenue"], 150.5);

    let by_offer = app
        .get(
            &key,
            "/api/v1/reports?from=2026-11-01&to=2026-11-03&group_by=offer",
        )
        .await;
    let offers: Vec<(i64, &str)> = rows(&by_offer.json)
        .iter()
        .map(|r| {
            (
                r["offer_id"].as_i64().unwrap(),
                r["currency"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(offers, [(usd, "USD"), (eur, "EUR")]);
    assert_eq!(by_offer.json["data"][0]["day"], Value::Null);

    let only_eur = app
        .get(
            &key,
            &format!("/api/v1/reports?from=2026-11-01&to=2026-11-03&group_by=offer&offer_id={eur}"),
        )
        .await;
    assert_eq!(rows(&only_eur.json).len(), 1);
}

#[tokio::test]
async fn time_zones_move_events_between_days() {
    let (app, key, _, _, _) = seeded().await;
    // 2026-11-02T18:40Z is 2026-11-03 00:10 in Kolkata (+05:30) and 00:25 in Kathmandu (+05:45).
    for tz in ["Asia/Kolkata", "Asia/Kathmandu"] {
        let r = app
            .get(
                &key,
                &format!("/api/v1/reports?from=2026-11-01&to=2026-11-03&timezone={tz}"),
            )
            .await;
        let usd_pending: Vec<(&str, i64)> = rows(&r.json)
            .iter()
            .filter(|r| r["currency"] == "USD")
            .map(|r| {
                (
                    r["day"].as_str().unwrap(),
                    r["pending_conversions"].as_i64().unwrap(),
                )
            })
            .collect();
        assert!(
            usd_pending.contains(&("2026-11-03", 1)),
            "{tz}: {usd_pending:?}"
        );
    }
    let utc = app
        .get(&key, "/api/v1/reports?from=2026-11-01&to=2026-11-03")
        .await;
    assert!(
        rows(&utc.json)
            .iter()
            .any(|r| r["day"] == "2026-11-02" && r["pending_conversions"] == 1)
    );

    let hours = app
        .get(
            &key,
            "/api/v1/reports?from=2026-11-01&to=2026-11-01&group_by=hour&timezone=Asia/Kolkata",
        )
        .await;
    let data = rows(&hours.json);
    let labels: Vec<&str> = data.iter().map(|r| r["hour"].as_str().unwrap()).collect();
    assert_eq!(labels.first(), Some(&"2026-11-01T00:00:00+05:30"));
    // 10:00Z = 15:30 local → the 15:00 bucket.
    assert!(
        data.iter()
            .any(|r| r["hour"] == "2026-11-01T15:00:00+05:30" && r["conversions"] == 1)
    );
    let distinct: std::collections::BTreeSet<&str> = labels.iter().copied().collect();
    assert_eq!(distinct.len(), 24);

    let month = app
        .get(
            &key,
            "/api/v1/reports?from=2026-10-15&to=2026-11-15&group_by=month",
        )
        .await;
    let months: Vec<&str> = rows(&month.json)
        .iter()
        .map(|r| r["month"].as_str().unwrap())
        .collect();
    assert!(months.starts_with(&["2026-10"]) && months.ends_with(&["2026-11"]));
    let week = app
        .get(
            &key,
            "/api/v1/reports?from=2026-11-01&to=2026-11-03&group_by=week",
        )
        .await;
    assert!(rows(&week.json).iter().any(|r| r["week"] == "2026-10-26"));
    assert!(rows(&week.json).iter().any(|r| r["week"] == "2026-11-02"));
}

#[tokio::test]
async fn clicks_subs_and_rates() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app
        .offer_and_partner(
            &key,
            json!({"name": "U", "destination_url": "https://a.example", "payout": 3}),
        )
        .await;
    let mut cids = Vec::new();
    for sub in ["a", "a", "b", ""] {
        let q = if sub.is_empty() {
            String::new()
        } else {
            format!("?sub1={sub}")
        };
        cids.push(app.click_id(&format!("/c/{offer}/{partner}{q}")).await);
    }
    app.post(&key, "/api/v1/conversions", json!({"click_id": cids[0]}))
        .await;
    let r = app.get(&key, "/api/v1/reports?group_by=sub1,partner").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let data = rows(&r.json);
    let by_sub: Vec<(Value, i64, i64)> = data
        .iter()
        .map(|r| {
            (
                r["sub1"].clone(),
                r["clicks"].as_i64().unwrap(),
                r["conversions"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_sub,
        [(Value::Null, 1, 0), (json!("a"), 2, 1), (json!("b"), 1, 0)]
    );
    assert!(data.iter().all(|r| r["partner_id"] == partner));
    let t = &r.json["totals"][0];
    assert_eq!(t["clicks"], 4);
    assert_eq!(
        t["unique_clicks"], 1,
        "same IP and agent on the same offer and partner"
    );
    assert_eq!(t["conversion_rate"], 0.25);
    assert_eq!(t["epc"], 0.75);

    // Default range: the last 7 days including today, with today's clicks in the last row.
    let d = app.get(&key, "/api/v1/reports").await;
    let data = rows(&d.json);
    assert_eq!(data.len(), 7);
    assert_eq!(data[6]["clicks"], 4);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(data[6]["day"], today.as_str());
}

#[tokio::test]
async fn empty_range_has_usd_zero_totals() {
    let app = app();
    let key = app.key("Acme");
    let r = app
        .get(
            &key,
            "/api/v1/reports?from=2026-01-01&to=2026-01-03&group_by=day,offer",
        )
        .await;
    assert_eq!(rows(&r.json).len(), 3);
    assert!(
        rows(&r.json)
            .iter()
            .all(|r| r["currency"] == "USD" && r["clicks"] == 0)
    );
    assert_eq!(
        r.json["totals"],
        json!([{"currency": "USD", "clicks": 0, "unique_clicks": 0, "conversions": 0,
        "pending_conversions": 0, "rejected_conversions": 0, "reversed_conversions": 0, "revenue": 0.0, "payout": 0.0, "conversion_rate": 0.0, "epc": 0.0}])
    );
    let hours = app
        .get(
            &key,
            "/api/v1/reports?from=2026-01-01&to=2026-01-01&group_by=hour",
        )
        .await;
    assert_eq!(rows(&hours.json).len(), 24);
    let year = app
        .get(
            &key,
            "/api/v1/reports?from=2025-01-01&to=2025-12-31&group_by=hour",
        )
        .await;
    assert_eq!(rows(&year.json).len(), 365 * 24);
}

#[tokio::test]
async fn a_report_past_the_row_bound_says_how_to_narrow_it() {
    let app = crate::common::app_with(|c| c.max_report_rows = 7);
    let key = app.key("Acme");
    let r = app
        .get(
            &key,
            "/api/v1/reports?from=2026-11-01&to=2026-11-07&group_by=day",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 7);
    for path in [
        "/api/v1/reports?from=2026-11-01&to=2026-11-08&group_by=day",
        "/api/v1/reports?from=2026-11-01&to=2026-11-08&group_by=day&format=csv",
    ] {
        let r = app.get(&key, path).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "report_too_large"),
            "{path}: {}",
            r.json
        );
        let m = r.json["error"]["message"].as_str().unwrap();
        assert!(m.contains("8 rows") && m.contains("narrow"), "{m}");
    }
}
