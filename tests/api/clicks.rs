//! `/clicks`: what the tracking links recorded, filtered and paged newest first.

use serde_json::{Value, json};

use crate::common::{TestApp, app, click_row, offer_body, stored_clicks};

/// 2026-11-01T00:00:00Z.
const NOV_1: i64 = 1_793_491_200;

fn ids(v: &Value) -> Vec<&str> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_click_reads_back_as_the_link_recorded_it() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("O")).await;
    let path = format!("/c/{offer}/{partner}?sub1=newsletter&sub3=a%20b");
    let visit = |referer: Option<&'static str>| {
        let mut req = app.cli.get(&path).header("User-Agent", "Mozilla/5.0 test");
        if let Some(r) = referer {
            req = req.header("Referer", r);
        }
        async move {
            let resp = req.send().await;
            assert_eq!(resp.0.status().as_u16(), 302);
            let location = resp.0.headers()["location"].to_str().unwrap().to_string();
            url::Url::parse(&location)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "click_id")
                .unwrap()
                .1
                .to_string()
        }
    };
    let id = visit(Some("https://blog.example/post")).await;
    let repeat = visit(None).await;

    let r = app.get(&key, &format!("/api/v1/clicks/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let c = &r.json;
    let fields: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "created_at",
            "id",
            "ip",
            "offer_id",
            "partner_id",
            "referer",
            "sub1",
            "sub2",
            "sub3",
            "sub4",
            "sub5",
            "unique",
            "user_agent"
        ],
        "every field, always present"
    );
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["offer_id"], offer);
    assert_eq!(c["partner_id"], partner);
    assert_eq!(c["sub1"], "newsletter");
    assert_eq!(c["sub2"], Value::Null);
    assert_eq!(c["sub3"], "a b");
    assert_eq!(c["user_agent"], "Mozilla/5.0 test");
    assert_eq!(c["referer"], "https://blog.example/post");
    assert_eq!(c["unique"], true);
    let stored_ip: String = stored_clicks(&app.state.pool.get().unwrap())
        .into_iter()
        .find(|c| c.id == id)
        .unwrap()
        .ip;
    assert_eq!(c["ip"], stored_ip.as_str());
    let at = chrono::DateTime::parse_from_rfc3339(c["created_at"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now().timestamp() - at.timestamp()).abs() < 60);
    assert!(c["created_at"].as_str().unwrap().ends_with('Z'));

    let again = app.get(&key, &format!("/api/v1/clicks/{repeat}")).await;
    assert_eq!(again.json["unique"], false, "same visitor, same link");
    assert_eq!(again.json["user_agent"], "Mozilla/5.0 test");
    assert_eq!(again.json["referer"], Value::Null);

    let list = app.get(&key, "/api/v1/clicks").await;
    assert_eq!(list.status, 200, "{}", list.json);
    assert_eq!(
        ids(&list.json),
        [repeat.as_str(), id.as_str()],
        "newest first"
    );
    assert_eq!(list.json["has_more"], false);
    assert_eq!(list.json["next_cursor"], Value::Null);

    let missing = app
        .get(&key, "/api/v1/clicks/01NOSUCHCLICK000000000000")
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "not_found");
}

/// Brand "Acme" with two offers on one partner and clicks at chosen times: returns the key,
/// the two (offer, partner) pairs, and the click ids newest first.
async fn seeded(app: &TestApp) -> (String, (i64, i64), (i64, i64), Vec<String>) {
    let key = app.key("Acme");
    let first = app.offer_and_partner(&key, offer_body("O1")).await;
    let second_offer = app
        .post(&key, "/api/v1/offers", offer_body("O2"))
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let second = (second_offer, first.1);
    let brand = app.brand_id("Acme");
    // (id, pair, at, sub1, unique); two at the same second.
    let clicks = [
        (
            "01KCLICK000000000000000001",
            first,
            NOV_1 + 3600,
            Some("a"),
            true,
        ),
        (
            "01KCLICK000000000000000002",
            second,
            NOV_1 + 7200,
            Some("b"),
            true,
        ),
        (
            "01KCLICK000000000000000003",
            first,
            NOV_1 + 7200,
            None,
            false,
        ),
        (
            "01KCLICK000000000000000004",
            first,
            NOV_1 + 86_400 + 60,
            Some("a"),
            true,
        ),
        (
            "01KCLICK000000000000000005",
            second,
            NOV_1 + 2 * 86_400,
            Some("a"),
            false,
        ),
    ];
    for (id, pair, at, sub1, unique) in clicks {
        let mut row = click_row(brand, pair, id, at, sub1);
        row.is_unique = unique;
        row.subs[4] = Some(format!("five-{}", &id[id.len() - 1..]));
        app.record_click(row).await;
    }
    let newest_first = clicks.iter().rev().map(|c| c.0.to_string()).collect();
    (key, first, second, newest_first)
}

#[tokio::test]
async fn clicks_are_filtered_exactly_and_paged_newest_first() {
    let app = app();
    let (key, (o1, partner), (o2, _), all) = seeded(&app).await;
    let get = |q: String| {
        let (app, key) = (&app, &key);
        async move {
            let r = app.get(key, &format!("/api/v1/clicks{q}")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.json);
            ids(&r.json)
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        }
    };
    let pick = |ns: &[usize]| {
        ns.iter()
            .map(|n| format!("01KCLICK00000000000000000{n}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(get(String::new()).await, all);
    assert_eq!(all, pick(&[5, 4, 3, 2, 1]));
    assert_eq!(get(format!("?offer_id={o1}")).await, pick(&[4, 3, 1]));
    assert_eq!(
        get(format!("?offer_id={o2}&partner_id={partner}")).await,
        pick(&[5, 2])
    );
    assert_eq!(
        get(format!("?partner_id={}", partner + 1000)).await,
        pick(&[])
    );
    assert_eq!(get("?sub1=a".into()).await, pick(&[5, 4, 1]));
    assert_eq!(get("?sub1=A".into()).await, pick(&[]), "exact match");
    assert_eq!(get(format!("?sub1=a&offer_id={o1}")).await, pick(&[4, 1]));
    assert_eq!(get("?sub5=five-3".into()).await, pick(&[3]));
    assert_eq!(get("?sub2=x".into()).await, pick(&[]));
    assert_eq!(get("?unique=true".into()).await, pick(&[4, 2, 1]));
    assert_eq!(get("?unique=false".into()).await, pick(&[5, 3]));
    // Dates are whole UTC days; times are instants, both ends inclusive.
    assert_eq!(
        get("?from=2026-11-01&to=2026-11-01".into()).await,
        pick(&[3, 2, 1])
    );
    assert_eq!(get("?from=2026-11-02".into()).await, pick(&[5, 4]));
    assert_eq!(get("?to=2026-11-02".into()).await, pick(&[4, 3, 2, 1]));
    assert_eq!(
        get("?from=2026-11-01T02:00:00Z&to=2026-11-02T00:01:00Z".into()).await,
        pick(&[4, 3, 2])
    );

    // Pages of 2, following next_cursor, in newest-first order: no repeat, no gap.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/v1/clicks?limit=2&cursor={c}"),
            None => "/api/v1/clicks?limit=2".to_string(),
        };
        let r = app.get(&key, &q).await;
        assert_eq!(r.status, 200, "{}", r.json);
        pages += 1;
        seen.extend(ids(&r.json).iter().map(|s| s.to_string()));
        if pages == 1 {
            // A click arriving between pages is newer: it never shows up on later pages.
            let brand = app.brand_id("Acme");
            app.record_click(click_row(
                brand,
                (o1, partner),
                "01KCLICK000000000000000009",
                NOV_1 + 3 * 86_400,
                None,
            ))
            .await;
        }
        match r.json["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(r.json["has_more"], true);
                cursor = Some(c.to_string());
            }
            None => {
                assert_eq!(r.json["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all);
    // Cursor with a filter: the second page of offer 1 within Nov 1-2.
    let first = app
        .get(
            &key,
            &format!("/api/v1/clicks?offer_id={o1}&to=2026-11-02&limit=1"),
        )
        .await;
    assert_eq!(ids(&first.json), pick(&[4]));
    let next = first.json["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &key,
            &format!("/api/v1/clicks?offer_id={o1}&to=2026-11-02&limit=5&cursor={next}"),
        )
        .await;
    assert_eq!(ids(&second.json), pick(&[3, 1]));

    for (q, status, code) in [
        ("?from=2026-11-02&to=2026-11-01", 422, "validation_error"),
        ("?limit=0", 422, "validation_error"),
        ("?limit=101", 422, "validation_error"),
        ("?limit=abc", 400, "invalid_request"),
        ("?from=yesterday", 400, "invalid_request"),
        ("?from=0001-01-01", 422, "validation_error"),
        ("?unique=maybe", 400, "invalid_request"),
        ("?cursor=garbage", 400, "invalid_request"),
        ("?offer_id=x", 400, "invalid_request"),
    ] {
        let r = app.get(&key, &format!("/api/v1/clicks{q}")).await;
        assert_eq!((r.status, r.code()), (status, code), "{q}: {}", r.json);
    }
    // Another list's cursor is not a clicks cursor.
    let offers = app.get(&key, "/api/v1/offers?limit=1").await;
    let offers_cursor = offers.json["next_cursor"].as_str().unwrap();
    let r = app
        .get(&key, &format!("/api/v1/clicks?cursor={offers_cursor}"))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn another_brands_clicks_do_not_exist() {
    let app = app();
    let (a, (offer, partner), _, all) = seeded(&app).await;
    let b = app.key("Globex");
    let r = app.get(&b, &format!("/api/v1/clicks/{}", all[0])).await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(r.code(), "not_found");
    for q in [
        String::new(),
        format!("?offer_id={offer}"),
        format!("?partner_id={partner}&sub1=a"),
    ] {
        let r = app.get(&b, &format!("/api/v1/clicks{q}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["data"], json!([]), "{q}");
        assert_eq!(r.json["next_cursor"], Value::Null);
    }
    // A's cursor in B's hands pages through B's clicks only: none.
    let page = app.get(&a, "/api/v1/clicks?limit=1").await;
    let cursor = page.json["next_cursor"].as_str().unwrap();
    let r = app
        .get(&b, &format!("/api/v1/clicks?cursor={cursor}"))
        .await;
    assert_eq!(r.json["data"], json!([]));
    // A still sees its own.
    assert_eq!(
        app.get(&a, &format!("/api/v1/clicks/{}", all[0]))
            .await
            .status,
        200
    );
}
