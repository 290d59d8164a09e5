//! Input edges (#8): destination spellings, report dates, money bounds, header bytes, the auth
//! scheme's case, currency codes. Bad input gets the contract's error and changes nothing.

use serde_json::{Value, json};

use crate::common::{TestApp, app};

fn offer(url: &str) -> Value {
    json!({"name": "o", "destination_url": url, "payout": 1})
}

/// The SQLite file itself, opened beside the app's pool: what is really stored.
fn file(app: &TestApp) -> rusqlite::Connection {
    rusqlite::Connection::open(app.dir.path().join("trcker.db")).unwrap()
}

fn assert_validation(r: &crate::common::Answer, field: &str) {
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.code(), "validation_error", "{}", r.json);
    let msg = r.json["error"]["message"].as_str().unwrap();
    assert!(msg.contains(field), "{msg:?} does not name {field}");
}

#[tokio::test]
async fn edges_destination_host_cant_be_steered_in_any_spelling() {
    let app = app();
    let key = app.key("Acme");
    for bad in [
        "https:shop.example{sub1}/",
        "https:{sub1}//shop.example/",
        "https:{sub1}//x/",
        "https:x{sub1}/",
        "https://{sub1}.x/",
        "https://x{sub1}/",
        "https://x:{sub1}/",
        "https://u{sub1}@x/",
        "HTTPS://x{sub1}",
        "ht\ttps://x/{sub1}",
        "ht\nps://x/{sub1}",
        "https://x%7Bsub1%7D/",
    ] {
        let r = app.post(&key, "/api/v1/offers", offer(bad)).await;
        assert_validation(&r, "destination_url");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM offers"), 0);

    // Nor can a valid offer be patched into one.
    let ok = app
        .post(&key, "/api/v1/offers", offer("https://shop.example/l?x=1"))
        .await;
    assert_eq!(ok.status, 201);
    let id = ok.json["id"].as_i64().unwrap();
    let r = app
        .patch(
            &key,
            &format!("/api/v1/offers/{id}"),
            json!({"destination_url": "https:shop.example{sub1}/"}),
        )
        .await;
    assert_validation(&r, "destination_url");
    let stored: String = file(&app)
        .query_row("SELECT destination_url FROM offers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, "https://shop.example/l?x=1");
}

#[tokio::test]
async fn edges_destination_is_stored_normalised_and_path_macros_work() {
    let app = app();
    let key = app.key("Acme");
    let r = app
        .post(
            &key,
            "/api/v1/offers",
            offer("HTTPS:Shop.Example\\{sub1}/p?s={sub2}"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        r.json["destination_url"],
        "https://shop.example/{sub1}/p?s={sub2}"
    );
    let (offer_id, _) = (r.json["id"].as_i64().unwrap(), ());
    let p = app
        .post(
            &key,
            "/api/v1/partners",
            json!({"name": "P", "email": "p@example.com"}),
        )
        .await;
    let partner = p.json["id"].as_i64().unwrap();
    for (value, sent) in [
        (".evil.example", ".evil.example"),
        ("%2F..%2F%40evil.example", "/../@evil.example"),
        ("%23frag", "#frag"),
        ("a%26sub3%3Dx", "a&sub3=x"),
    ] {
        let (status, loc) = app
            .click(&format!(
                "/c/{offer_id}/{partner}?sub1={value}&sub2={value}"
            ))
            .await;
        assert_eq!(status, 302);
        let loc = loc.unwrap();
        let u = url::Url::parse(&loc).unwrap();
        assert_eq!(u.host_str(), Some("shop.example"), "{loc}");
        assert_eq!(u.fragment(), None, "{loc}");
        let s: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(s[0], ("s".to_string(), sent.to_string()), "{loc}");
        assert_eq!(s[1].0, "click_id", "{loc}");
        // In the path the value is one segment, percent-encoded.
        let first = u.path_segments().unwrap().next().unwrap().to_string();
        let decoded = percent_encoding::percent_decode_str(&first)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, sent, "{loc}");
    }
}

#[tokio::test]
async fn edges_bearer_scheme_is_case_insensitive() {
    let app = app();
    let key = app.key("Acme");
    for scheme in ["Bearer", "bearer", "BEARER", "BeArEr"] {
        let r = app
            .raw(
                app.cli
                    .get("/api/v1/offers")
                    .header("Authorization", format!("{scheme} {key}")),
            )
            .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.json);
    }
    for bad in [format!("Basic {key}"), format!("Bearer{key}"), key.clone()] {
        let r = app
            .raw(
                app.cli
                    .get("/api/v1/offers")
                    .header("Authorization", bad.clone()),
            )
            .await;
        assert_eq!(r.status, 401, "{bad}");
        assert_eq!(r.code(), "unauthorized");
    }
}

#[tokio::test]
async fn edges_currency_is_an_iso_4217_code() {
    let app = app();
    let key = app.key("Acme");
    let with = |c: &str| json!({"name": "o", "destination_url": "https://a.example/", "payout": 1, "currency": c});
    for bad in ["XXY", "ABC", "xxy", "XXX", "XTS", "XAU"] {
        let r = app.post(&key, "/api/v1/offers", with(bad)).await;
        assert_validation(&r, "currency");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM offers"), 0);
    // Lower case is normalised, as an offer's currency always has been.
    for (sent, stored) in [("usd", "USD"), ("Jpy", "JPY"), ("EUR", "EUR")] {
        let r = app.post(&key, "/api/v1/offers", with(sent)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert_eq!(r.json["currency"], stored);
    }
    let stored: Vec<String> = file(&app)
        .prepare("SELECT currency FROM offers ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored, ["USD", "JPY", "EUR"]);
}

#[tokio::test]
async fn edges_money_is_bounded_so_sums_cant_overflow() {
    let app = app();
    let key = app.key("Acme");
    let big = |p: f64| json!({"name": "o", "destination_url": "https://a.example/", "payout": p});
    for p in [1_000_000_000.01, 1e10, 1e13, 9.3e18] {
        let r = app.post(&key, "/api/v1/offers", big(p)).await;
        assert_validation(&r, "payout");
        assert!(
            r.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1000000000"),
            "{}",
            r.json
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM offers"), 0);

    let (offer, partner) = app.offer_and_partner(&key, big(1_000_000_000.0)).await;
    let r = app
        .patch(
            &key,
            &format!("/api/v1/offers/{offer}"),
            json!({"payout": 1e12}),
        )
        .await;
    assert_validation(&r, "payout");
    let payout: i64 = file(&app)
        .query_row("SELECT payout_minor FROM offers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(payout, 100_000_000_000);

    let conv = |amount: f64| {
        json!({"offer_id": offer, "partner_id": partner, "amount": amount,
               "occurred_at": "2026-11-01T10:00:00Z"})
    };
    for a in [1e13, 1_000_000_000.01, 1e19] {
        let r = app.post(&key, "/api/v1/conversions", conv(a)).await;
        assert_validation(&r, "amount");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM conversions"), 0);
    for _ in 0..3 {
        let r = app
            .post(&key, "/api/v1/conversions", conv(1_000_000_000.0))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert_eq!(r.json["amount"], 1_000_000_000.0);
    }
    let r = app
        .get(&key, "/api/v1/reports?from=2026-11-01&to=2026-11-01")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["totals"][0]["revenue"], 3_000_000_000.0);
    assert_eq!(r.json["totals"][0]["payout"], 3_000_000_000.0);
}

#[tokio::test]
async fn edges_report_dates_out_of_range_are_422_and_nothing_panics() {
    let app = app();
    let key = app.key("Acme");
    let zones = [
        "UTC",
        "Pacific/Kiritimati",
        "Etc/GMT%2B12",
        "Etc/GMT-14",
        "America/St_Johns",
        "Pacific/Apia",
    ];
    let inside = [
        "1970-01-01",
        "1970-01-02",
        "9999-12-31",
        "1994-12-31",
        "2011-12-30",
    ];
    let outside = [
        "-262143-01-01",
        "%2B262142-12-31",
        "262143-12-31",
        "-9999999999-01-01",
        "1969-12-31",
        "0000-01-01",
        "10000-01-01",
    ];
    for tz in zones {
        for grain in ["hour", "day", "week", "month"] {
            for d in inside {
                let r = app
                    .get(
                        &key,
                        &format!("/api/v1/reports?from={d}&to={d}&timezone={tz}&group_by={grain}"),
                    )
                    .await;
                assert_eq!(r.status, 200, "{d} {tz} {grain}: {}", r.json);
            }
            // The last day and the first day as the only one given: the default fills the other.
            for q in [
                "to=1970-01-01",
                "to=1970-01-03",
                "from=9999-12-31&to=9999-12-31",
            ] {
                let r = app
                    .get(
                        &key,
                        &format!("/api/v1/reports?{q}&timezone={tz}&group_by={grain}"),
                    )
                    .await;
                assert_eq!(r.status, 200, "{q} {tz} {grain}: {}", r.json);
            }
        }
        for d in outside {
            for field in ["from", "to"] {
                let q = if field == "from" {
                    format!("from={d}&to=1970-01-02")
                } else {
                    format!("from=9999-12-30&to={d}")
                };
                let r = app
                    .get(&key, &format!("/api/v1/reports?{q}&timezone={tz}"))
                    .await;
                assert_validation(&r, field);
            }
            let r = app
                .get(
                    &key,
                    &format!("/api/v1/reports?from={d}&to={d}&timezone={tz}"),
                )
                .await;
            assert_validation(&r, "from");
        }
    }
    // Unparseable is still 400, as before.
    let r = app.get(&key, "/api/v1/reports?from=2026-02-30").await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.code(), "invalid_request");

    // The conversions list's date filters have the same range.
    for q in [
        "from=-262143-01-01",
        "to=10000-01-01",
        "from=0001-01-01T00:00:00Z",
    ] {
        let r = app.get(&key, &format!("/api/v1/conversions?{q}")).await;
        assert_validation(&r, q.split('=').next().unwrap());
    }
    let r = app
        .get(&key, "/api/v1/conversions?from=1970-01-01&to=9999-12-31")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

#[tokio::test]
async fn edges_non_ascii_headers_are_kept_and_subs_cut_at_255_characters() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app
        .offer_and_partner(&key, offer("https://shop.example/l"))
        .await;
    let ua = poem::http::HeaderValue::from_bytes(b"Mozilla/5.0 caf\xe9 \xe9t\xe9").unwrap();
    let referer =
        poem::http::HeaderValue::from_bytes("https://ref.example/café?q=日本".as_bytes()).unwrap();
    let sub = "é".repeat(300);
    let emoji = format!("{}😀😀", "a".repeat(254));
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let resp = app
        .cli
        .get(format!(
            "/c/{offer}/{partner}?sub1={}&sub2={}",
            encode(&sub),
            encode(&emoji)
        ))
        .header("User-Agent", ua)
        .header("Referer", referer)
        .send()
        .await;
    assert_eq!(resp.0.status().as_u16(), 302);

    let stored = crate::common::stored_clicks(&file(&app)).remove(0);
    let (ua, referer, sub1, sub2) = (
        stored.user_agent,
        stored.referer.unwrap(),
        stored.subs[0].clone().unwrap(),
        stored.subs[1].clone().unwrap(),
    );
    assert_eq!(ua, "Mozilla/5.0 caf\u{FFFD} \u{FFFD}t\u{FFFD}");
    assert_eq!(referer, "https://ref.example/café?q=日本");
    assert_eq!(sub1.chars().count(), 255);
    assert_eq!(sub1, "é".repeat(255));
    assert_eq!(sub2, format!("{}😀", "a".repeat(254)));
}
