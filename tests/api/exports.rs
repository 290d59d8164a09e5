//! CSV exports (API 1.1 "Exports"): `/reports`, `/conversions` and `/clicks` as `text/csv` hold
//! exactly what the JSON holds, in schema order; a conversions or clicks export is every match,
//! past one batch.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::{TestApp, app, offer_body, open_in};

/// Columns printed as money: plain decimals with two places.
const MONEY: [&str; 3] = ["amount", "payout", "revenue"];

struct Table {
    status: u16,
    content_type: String,
    /// `X-RateLimit-Remaining`.
    remaining: u64,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

enum Ask {
    Accept,
    Format,
}

/// `path` as CSV, asked for with the Accept header or with `format=csv`.
async fn csv(app: &TestApp, key: &str, path: &str, ask: Ask) -> Table {
    let (path, accept) = match ask {
        Ask::Accept => (path.to_string(), "text/csv"),
        Ask::Format => {
            let sep = if path.contains('?') { '&' } else { '?' };
            (format!("{path}{sep}format=csv"), "*/*")
        }
    };
    let resp = app
        .cli
        .get(&path)
        .header("Authorization", format!("Bearer {key}"))
        .header("Accept", accept)
        .send()
        .await;
    let status = resp.0.status().as_u16();
    let content_type = resp
        .0
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let remaining = resp
        .0
        .headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .expect("a CSV answer is an API answer like any other");
    let bytes = resp.0.into_body().into_bytes().await.unwrap();
    let mut r = csv::Reader::from_reader(&bytes[..]);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    Table {
        status,
        content_type,
        remaining,
        header,
        rows,
    }
}

/// The properties of `schema` in the spec, in order: from poem-openapi's registry, which
/// writes the spec (serde_json's map here doesn't keep the order).
fn schema_fields(schema: &str) -> Vec<String> {
    use poem_openapi::types::Type;
    let mut registry = poem_openapi::registry::Registry::new();
    trcker::api::reports::ReportRow::register(&mut registry);
    trcker::api::conversions::Conversion::register(&mut registry);
    trcker::api::clicks::Click::register(&mut registry);
    let fields: Vec<String> = registry.schemas[schema]
        .properties
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let spec: Value = serde_json::from_str(&trcker::spec_json()).unwrap();
    let served: BTreeSet<&String> = spec["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(fields.iter().collect::<BTreeSet<_>>(), served, "{schema}");
    fields
}

/// Every CSV row equals its JSON object, column by column in schema order.
fn assert_same(table: &Table, json: &[Value], schema: &str) {
    assert_eq!(table.status, 200);
    assert_eq!(table.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        table.header,
        schema_fields(schema),
        "{schema}: schema order"
    );
    assert_eq!(table.rows.len(), json.len(), "{schema}: one record per row");
    for (row, obj) in table.rows.iter().zip(json) {
        assert_eq!(row.len(), table.header.len());
        for (cell, col) in row.iter().zip(&table.header) {
            let v = &obj[col];
            match v {
                Value::Null => assert_eq!(cell, "", "{col}: null is empty"),
                Value::Bool(b) => assert_eq!(*cell, b.to_string(), "{col}"),
                Value::String(s) => assert_eq!(cell, s, "{col}"),
                Value::Number(n) if MONEY.contains(&col.as_str()) => {
                    assert_eq!(*cell, format!("{:.2}", n.as_f64().unwrap()), "{col}: money")
                }
                Value::Number(n) if n.is_i64() => assert_eq!(*cell, n.to_string(), "{col}"),
                Value::Number(n) => {
                    assert_eq!(cell.parse::<f64>().ok(), n.as_f64(), "{col}: {cell}")
                }
                other => panic!("{col}: unexpected {other}"),
            }
        }
    }
}

#[tokio::test]
async fn report_csv_is_the_json_data_rows() {
    let (app, key, usd, _, partner) = crate::reports::seeded().await;
    // Today: clicks and a conversion, so the rates aren't all zero.
    for _ in 0..3 {
        app.click(&format!("/c/{usd}/{partner}?sub1=a%2Cb")).await;
    }
    let r = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": usd, "partner_id": partner, "amount": 12.5}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    for query in [
        "from=2026-10-31&to=2026-11-04",
        "from=2026-11-01&to=2026-11-03&group_by=offer",
        "from=2026-11-01&to=2026-11-02&group_by=hour,partner&timezone=Asia/Kolkata",
        "from=2026-10-01&to=2026-12-31&group_by=month,offer,partner",
        "group_by=day,sub1",
        "group_by=week,offer",
    ] {
        let path = format!("/api/v1/reports?{query}");
        let json = app.get(&key, &path).await;
        assert_eq!(json.status, 200, "{}", json.json);
        let data = json.json["data"].as_array().unwrap();
        for ask in [Ask::Accept, Ask::Format] {
            assert_same(&csv(&app, &key, &path, ask).await, data, "ReportRow");
        }
    }
    let t = csv(
        &app,
        &key,
        "/api/v1/reports?from=2026-11-01&to=2026-11-01",
        Ask::Format,
    )
    .await;
    let revenue = t.header.iter().position(|c| c == "revenue").unwrap();
    assert_eq!(t.rows[0][revenue], "150.50", "money as a plain decimal");
    let today = csv(&app, &key, "/api/v1/reports?group_by=offer", Ask::Accept).await;
    let rate = today
        .header
        .iter()
        .position(|c| c == "conversion_rate")
        .unwrap();
    assert_eq!(today.rows[0][rate], "0.333333");
    // No totals row: one record per data row (checked above), nothing after.
    let plain = app.get(&key, "/api/v1/reports?format=json").await;
    assert!(plain.json["totals"].is_array(), "format=json is the JSON");
}

#[tokio::test]
async fn conversions_csv_is_the_json_list() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let cid = app
        .click_id(&format!(
            "/c/{offer}/{partner}?sub1=news&sub2=a%22b%2Cc&sub5=five"
        ))
        .await;
    for body in [
        json!({"click_id": cid, "amount": 99.9, "event": "purchase", "transaction_id": "o-1,\"x\"\nnext"}),
        json!({"offer_id": offer, "partner_id": partner, "status": "pending"}),
        json!({"offer_id": offer, "partner_id": partner, "amount": 0.07, "status": "rejected",
               "occurred_at": "2026-11-24T19:09:24Z"}),
    ] {
        let r = app.post(&key, "/api/v1/conversions", body).await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    for filter in ["", "?status=pending", "?from=2026-11-24&to=2026-11-24"] {
        let path = format!("/api/v1/conversions{filter}");
        let json = app.get(&key, &path).await;
        let data = json.json["data"].as_array().unwrap();
        assert!(!data.is_empty(), "{filter}");
        for ask in [Ask::Accept, Ask::Format] {
            assert_same(&csv(&app, &key, &path, ask).await, data, "Conversion");
        }
    }
    let t = csv(&app, &key, "/api/v1/conversions", Ask::Format).await;
    let col = |name: &str| t.header.iter().position(|c| c == name).unwrap();
    assert_eq!(t.rows[2][col("amount")], "99.90");
    assert_eq!(t.rows[2][col("payout")], "12.50");
    assert_eq!(t.rows[2][col("sub2")], "a\"b,c");
    assert_eq!(t.rows[2][col("transaction_id")], "o-1,\"x\"\nnext");
    assert_eq!(t.rows[1][col("amount")], "", "no amount: empty");
    // format=json wins over Accept; Accept that prefers JSON gets JSON.
    for (q, accept) in [
        ("?format=json", "text/csv"),
        ("", "application/json, text/csv;q=0.5"),
    ] {
        let r = app
            .raw(
                app.cli
                    .get(format!("/api/v1/conversions{q}"))
                    .header("Authorization", format!("Bearer {key}"))
                    .header("Accept", accept),
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(r.json["data"].is_array(), "{q} {accept}: JSON");
    }
}

#[tokio::test]
async fn conversions_csv_streams_every_match_past_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let plan = trcker::seed::Plan {
        brand: "seeded".into(),
        clicks: 2_600,
        conversions: 2_500,
        days: 3,
        offers: 2,
        partners: 2,
        end: chrono::Utc::now().timestamp(),
        sub_cardinality: 10,
    };
    let seeded = trcker::seed::run(dir.path(), &plan, |_, _| {}).unwrap();
    assert_eq!(seeded.conversions, 2_500);
    let key = trcker::admin_cli::create_key(dir.path(), "seeded", "test")
        .unwrap()
        .key;
    let app = open_in(dir, |c| c.rate_limit = 10_000);
    let all = csv(&app, &key, "/api/v1/conversions?limit=5", Ask::Accept).await;
    assert_eq!(all.status, 200);
    let ids: Vec<i64> = all.rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(ids.len(), 2_500, "every row, limit ignored");
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 2_500);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM conversions") as usize,
        unique.len()
    );
    // The first JSON page and the export agree where they overlap.
    let page = app.get(&key, "/api/v1/conversions?limit=100").await;
    assert_same(
        &Table {
            rows: all.rows[..100].to_vec(),
            ..all
        },
        page.json["data"].as_array().unwrap(),
        "Conversion",
    );

    // Filters still apply, across batches.
    let offer = seeded.offer_ids[0];
    let want = app.count(&format!(
        "SELECT COUNT(*) FROM conversions WHERE offer_id = {offer}"
    ));
    assert!(want > 1_000, "past one batch: {want}");
    let by_offer = csv(
        &app,
        &key,
        &format!("/api/v1/conversions?offer_id={offer}&cursor=ignored"),
        Ask::Format,
    )
    .await;
    assert_eq!(by_offer.rows.len() as i64, want);
    let offer_col = by_offer
        .header
        .iter()
        .position(|c| c == "offer_id")
        .unwrap();
    assert!(
        by_offer
            .rows
            .iter()
            .all(|r| r[offer_col] == offer.to_string())
    );
    let pending = app.count("SELECT COUNT(*) FROM conversions WHERE status = 'pending'");
    let t = csv(
        &app,
        &key,
        "/api/v1/conversions?status=pending",
        Ask::Format,
    )
    .await;
    assert_eq!(t.rows.len() as i64, pending);
    // Another brand's export is empty: just the header.
    let other = app.key("Other");
    let none = csv(&app, &other, "/api/v1/conversions", Ask::Format).await;
    assert_eq!((none.status, none.rows.len()), (200, 0));
    assert_eq!(none.header, schema_fields("Conversion"));
}

#[tokio::test]
async fn clicks_csv_is_the_json_list() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let (other_offer, _) = app.offer_and_partner(&key, offer_body("Other")).await;
    let first = app
        .click_id(&format!(
            "/c/{offer}/{partner}?sub1=news&sub2=a%22b%2Cc&sub5=five"
        ))
        .await;
    // The same visitor again: not unique.
    let again = app
        .click_id(&format!("/c/{offer}/{partner}?sub1=news"))
        .await;
    let elsewhere = app.click_id(&format!("/c/{other_offer}/{partner}")).await;
    // Another brand's clicks, in the same seconds.
    let other = app.key("Other");
    let (o_offer, o_partner) = app.offer_and_partner(&other, offer_body("Theirs")).await;
    let theirs = app
        .click_id(&format!("/c/{o_offer}/{o_partner}?sub1=news"))
        .await;

    for filter in [
        String::new(),
        format!("?offer_id={offer}"),
        format!("?partner_id={partner}&unique=true"),
        "?unique=false".into(),
        "?sub1=news".into(),
        "?sub2=a%22b%2Cc".into(),
        "?from=2000-01-01&to=2999-12-31".into(),
    ] {
        let path = format!("/api/v1/clicks{filter}");
        let json = app
            .get(
                &key,
                &format!(
                    "{path}{}limit=100",
                    if filter.is_empty() { '?' } else { '&' }
                ),
            )
            .await;
        assert_eq!(json.status, 200, "{}", json.json);
        let data = json.json["data"].as_array().unwrap();
        assert!(!data.is_empty(), "{filter}");
        for ask in [Ask::Accept, Ask::Format] {
            let t = csv(&app, &key, &path, ask).await;
            assert_same(&t, data, "Click");
            assert!(
                t.rows.iter().all(|r| r[0] != theirs),
                "{filter}: not another brand's"
            );
        }
    }
    let t = csv(&app, &key, "/api/v1/clicks", Ask::Format).await;
    let col = |name: &str| t.header.iter().position(|c| c == name).unwrap();
    let ids: Vec<&str> = t.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, [&elsewhere, &again, &first], "newest first");
    assert_eq!(t.rows[2][col("sub2")], "a\"b,c");
    assert_eq!(t.rows[2][col("sub3")], "", "null: empty");
    assert_eq!(
        (
            t.rows[2][col("unique")].as_str(),
            t.rows[1][col("unique")].as_str()
        ),
        ("true", "false")
    );
    let unique = csv(&app, &key, "/api/v1/clicks?unique=false", Ask::Accept).await;
    assert_eq!(unique.rows.len(), 1);
    assert_eq!(unique.rows[0][0], again);
    let by_offer = csv(
        &app,
        &key,
        &format!("/api/v1/clicks?offer_id={other_offer}"),
        Ask::Accept,
    )
    .await;
    assert_eq!(by_offer.rows.len(), 1);
    assert_eq!(by_offer.rows[0][0], elsewhere);
    // Their export is theirs alone; an offer of theirs filters ours to nothing.
    let t = csv(&app, &other, "/api/v1/clicks", Ask::Format).await;
    assert_eq!(
        t.rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        [theirs]
    );
    let none = csv(
        &app,
        &key,
        &format!("/api/v1/clicks?offer_id={o_offer}"),
        Ask::Format,
    )
    .await;
    assert_eq!((none.status, none.rows.len()), (200, 0));
    assert_eq!(none.header, schema_fields("Click"));
    // format=json wins over Accept; Accept that prefers JSON gets JSON.
    for (q, accept) in [
        ("?format=json", "text/csv"),
        ("", "application/json, text/csv;q=0.5"),
    ] {
        let r = app
            .raw(
                app.cli
                    .get(format!("/api/v1/clicks{q}"))
                    .header("Authorization", format!("Bearer {key}"))
                    .header("Accept", accept),
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(r.json["data"].is_array(), "{q} {accept}: JSON");
    }
}

#[tokio::test]
async fn clicks_csv_streams_every_match_past_one_batch_as_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let plan = trcker::seed::Plan {
        brand: "seeded".into(),
        clicks: 2_600,
        conversions: 10,
        days: 3,
        offers: 2,
        partners: 2,
        end: chrono::Utc::now().timestamp(),
        sub_cardinality: 10,
    };
    let seeded = trcker::seed::run(dir.path(), &plan, |_, _| {}).unwrap();
    assert_eq!(seeded.clicks, 2_600);
    let key = trcker::admin_cli::create_key(dir.path(), "seeded", "test")
        .unwrap()
        .key;
    let app = open_in(dir, |c| c.rate_limit = 10_000);
    let before = app.get(&key, "/api/v1/clicks?limit=1").await;
    let before: u64 = before
        .header("x-ratelimit-remaining")
        .unwrap()
        .parse()
        .unwrap();
    let all = csv(
        &app,
        &key,
        "/api/v1/clicks?limit=5&cursor=ignored",
        Ask::Accept,
    )
    .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.remaining, before - 1, "three batches, one request");
    let created = all.header.iter().position(|c| c == "created_at").unwrap();
    let keys: Vec<(&str, &str)> = all
        .rows
        .iter()
        .map(|r| (r[created].as_str(), r[0].as_str()))
        .collect();
    assert_eq!(keys.len(), 2_600, "every row, limit and cursor ignored");
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM clicks"), 2_600);
    // The first JSON page and the export agree where they overlap.
    let page = app.get(&key, "/api/v1/clicks?limit=100").await;
    assert_same(
        &Table {
            rows: all.rows[..100].to_vec(),
            ..all
        },
        page.json["data"].as_array().unwrap(),
        "Click",
    );
    // Filters still apply, across batches.
    let offer = seeded.offer_ids[0];
    let want = app.count(&format!(
        "SELECT COUNT(*) FROM clicks WHERE offer_id = {offer}"
    ));
    assert!(want > 1_000, "past one batch: {want}");
    let by_offer = csv(
        &app,
        &key,
        &format!("/api/v1/clicks?offer_id={offer}"),
        Ask::Format,
    )
    .await;
    assert_eq!(by_offer.rows.len() as i64, want);
    assert!(by_offer.rows.iter().all(|r| r[1] == offer.to_string()));
    let repeats = app.count("SELECT COUNT(*) FROM clicks WHERE NOT is_unique");
    let t = csv(&app, &key, "/api/v1/clicks?unique=false", Ask::Format).await;
    assert_eq!(t.rows.len() as i64, repeats);
    // Another brand's export is empty: just the header.
    let other = app.key("Other");
    let none = csv(&app, &other, "/api/v1/clicks", Ask::Format).await;
    assert_eq!((none.status, none.rows.len()), (200, 0));
    assert_eq!(none.header, schema_fields("Click"));
}

#[tokio::test]
async fn bad_filters_of_a_csv_export_answer_the_json_error() {
    let app = app();
    let key = app.key("Acme");
    for (path, status, code) in [
        (
            "/api/v1/reports?timezone=Nowhere/Land",
            422,
            "validation_error",
        ),
        ("/api/v1/reports?from=yesterday", 400, "invalid_request"),
        (
            "/api/v1/reports?from=2026-11-02&to=2026-11-01",
            422,
            "validation_error",
        ),
        ("/api/v1/reports?group_by=color", 422, "validation_error"),
        ("/api/v1/conversions?from=soon", 400, "invalid_request"),
        (
            "/api/v1/conversions?from=2026-11-02&to=2026-11-01",
            422,
            "validation_error",
        ),
        ("/api/v1/conversions?offer_id=abc", 400, "invalid_request"),
        ("/api/v1/conversions?status=maybe", 422, "validation_error"),
        ("/api/v1/clicks?from=soon", 400, "invalid_request"),
        (
            "/api/v1/clicks?from=2026-11-02&to=2026-11-01",
            422,
            "validation_error",
        ),
        ("/api/v1/clicks?offer_id=abc", 400, "invalid_request"),
    ] {
        for ask in [Ask::Accept, Ask::Format] {
            let (path, accept) = match ask {
                Ask::Accept => (path.to_string(), "text/csv"),
                Ask::Format => (format!("{path}&format=csv"), "*/*"),
            };
            let r = app
                .raw(
                    app.cli
                        .get(&path)
                        .header("Authorization", format!("Bearer {key}"))
                        .header("Accept", accept),
                )
                .await;
            assert_eq!((r.status, r.code()), (status, code), "{path}: {}", r.json);
            assert!(
                r.header("content-type")
                    .is_some_and(|c| c.starts_with("application/json")),
                "{path}"
            );
        }
    }
    let r = app.get(&key, "/api/v1/conversions?format=xml").await;
    assert_eq!(
        (r.status, r.code()),
        (422, "validation_error"),
        "{}",
        r.json
    );
}
