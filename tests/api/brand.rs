//! `/brand`: the key's own brand, its time zone, and reports that default to it.

use serde_json::{Value, json};

use crate::common::{app, click_row, offer_body};

#[tokio::test]
async fn get_brand_is_the_keys_own_brand_in_utc() {
    let app = app();
    let a = app.key("Acme");
    let b = app.key("Globex");
    let r = app.get(&a, "/api/v1/brand").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let fields: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["created_at", "id", "name", "timezone"]);
    assert_eq!(r.json["id"], app.brand_id("Acme"));
    assert_eq!(r.json["name"], "Acme");
    assert_eq!(r.json["timezone"], "UTC");
    let created = r.json["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'),
        "{created}"
    );
    let other = app.get(&b, "/api/v1/brand").await;
    assert_eq!(other.json["id"], app.brand_id("Globex"));
    assert_eq!(other.json["name"], "Globex");

    let anonymous = app
        .get("trk_not-a-key-of-anyone-0000000000000000", "/api/v1/brand")
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.code(), "unauthorized");
}

#[tokio::test]
async fn patch_brand_sets_zone_and_name_and_names_the_bad_field() {
    let app = app();
    let a = app.key("Acme");
    let b = app.key("Globex");

    let r = app
        .patch(&a, "/api/v1/brand", json!({"timezone": "Asia/Kolkata"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["timezone"], "Asia/Kolkata");
    assert_eq!(r.json["name"], "Acme", "only the fields given change");
    assert_eq!(
        app.get(&a, "/api/v1/brand").await.json["timezone"],
        "Asia/Kolkata"
    );
    assert_eq!(
        app.get(&b, "/api/v1/brand").await.json["timezone"],
        "UTC",
        "another brand keeps its zone"
    );

    let r = app
        .patch(&a, "/api/v1/brand", json!({"name": "  Acme Shoes "}))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["name"], "Acme Shoes");
    assert_eq!(r.json["timezone"], "Asia/Kolkata");

    for (body, field) in [
        (json!({"timezone": "Mars/Base"}), "timezone"),
        (json!({"timezone": "asia/kolkata"}), "timezone"),
        (json!({"timezone": ""}), "timezone"),
        (json!({"timezone": 5}), "timezone"),
        (json!({"name": "   ", "timezone": "UTC"}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
    ] {
        let r = app.patch(&a, "/api/v1/brand", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.json);
        assert_eq!(r.code(), "validation_error", "{body}");
        let message = r.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
        let fields: Vec<&String> = r.json.as_object().unwrap().keys().collect();
        assert_eq!(fields, ["error"], "the one error shape");
    }
    let unknown = app
        .patch(&a, "/api/v1/brand", json!({"timezone": "Mars/Base"}))
        .await;
    assert_eq!(
        unknown.json["error"]["message"],
        "timezone: unknown IANA zone \"Mars/Base\""
    );

    let taken = app
        .patch(
            &a,
            "/api/v1/brand",
            json!({"name": "Globex", "timezone": "UTC"}),
        )
        .await;
    assert_eq!(taken.status, 422, "{}", taken.json);
    assert_eq!(taken.code(), "duplicate_name");
    assert_eq!(
        taken.json["error"]["message"],
        "name Globex is already used by another brand"
    );

    let now = app.get(&a, "/api/v1/brand").await.json;
    assert_eq!(
        (now["name"].clone(), now["timezone"].clone()),
        (json!("Acme Shoes"), json!("Asia/Kolkata")),
        "a refused change changes nothing"
    );
}

fn day_clicks(report: &Value) -> Vec<(String, i64)> {
    report["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap().to_string(),
                r["clicks"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn reports_without_timezone_follow_the_brands_zone() {
    let app = app();
    let key = app.key("Acme");
    let ids = app.offer_and_partner(&key, offer_body("O")).await;
    // 2026-11-01T23:30:00Z: still Nov 1 in UTC, already 05:00 on Nov 2 in Kolkata.
    let at = 1_793_491_200 + 23 * 3600 + 1800;
    let brand = app.brand_id("Acme");
    app.record_click(click_row(brand, ids, "01KTESTCLICK0000000000001", at, None))
        .await;
    let path = "/api/v1/reports?from=2026-11-01&to=2026-11-02";
    let utc = vec![("2026-11-01".to_string(), 1), ("2026-11-02".to_string(), 0)];
    let kolkata = vec![("2026-11-01".to_string(), 0), ("2026-11-02".to_string(), 1)];

    assert_eq!(
        day_clicks(&app.get(&key, path).await.json),
        utc,
        "a new brand is UTC"
    );
    let r = app
        .patch(&key, "/api/v1/brand", json!({"timezone": "Asia/Kolkata"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = app.get(&key, path).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        day_clicks(&r.json),
        kolkata,
        "the brand's zone is the default"
    );
    let hours = app
        .get(
            &key,
            "/api/v1/reports?from=2026-11-02&to=2026-11-02&group_by=hour",
        )
        .await;
    assert_eq!(
        hours.json["data"][0]["hour"], "2026-11-02T00:00:00+05:30",
        "buckets carry the brand's offset"
    );
    assert_eq!(
        day_clicks(&app.get(&key, &format!("{path}&timezone=UTC")).await.json),
        utc,
        "a timezone given wins"
    );
    let bad = app.get(&key, &format!("{path}&timezone=Mars/Base")).await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("timezone")
    );

    // Another brand's reports keep their own zone.
    let other = app.key("Globex");
    let ids = app.offer_and_partner(&other, offer_body("G")).await;
    let globex = app.brand_id("Globex");
    app.record_click(click_row(
        globex,
        ids,
        "01KTESTCLICK0000000000002",
        at,
        None,
    ))
    .await;
    assert_eq!(day_clicks(&app.get(&other, path).await.json), utc);
}
