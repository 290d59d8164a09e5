//! `--retain-clicks`: raw clicks past the retention are deleted in the background, reports
//! over old ranges stay exact (rollups, sub-id rollups too), conversions stay.

use std::time::Duration;

use serde_json::json;

use crate::common::{self, app_with, click_row, offer_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_past_the_retention_go_and_old_reports_stay_exact() {
    let app = app_with(|c| c.retain_clicks_days = Some(30));
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("Shoes")).await;
    let brand = app.brand_id("Acme");
    let now = chrono::Utc::now().timestamp();
    let old = now - 40 * 86_400;
    // 2,500 old clicks (more than a batch) and 3 recent ones; a conversion on an old click.
    for i in 0..2_500 {
        let id = format!("01OLD{i:021}");
        app.record_click(click_row(brand, (offer, partner), &id, old + i, Some("s")))
            .await;
    }
    for i in 0..3 {
        let id = format!("01NEW{i:021}");
        app.record_click(click_row(brand, (offer, partner), &id, now - 60 + i, None))
            .await;
    }
    let conv = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"click_id": "01OLD000000000000000000000", "amount": 5.0}),
        )
        .await;
    assert_eq!(conv.status, 201, "{}", conv.json);
    let day = chrono::DateTime::from_timestamp(old, 0)
        .unwrap()
        .date_naive();
    let report = format!(
        "/api/v1/reports?from={day}&to={}&group_by=offer",
        day + chrono::Duration::days(1)
    );
    let before = app.get(&key, &report).await;
    assert_eq!(before.json["totals"][0]["clicks"], 2_500, "{}", before.json);
    // Grouped by sub id, in a zone of its own: the sub-id rollups answer, not the raw clicks.
    let subs = format!(
        "/api/v1/reports?from={day}&to={}&group_by=day,sub1&timezone=Asia/Kolkata",
        day + chrono::Duration::days(1)
    );
    let subs_before = app.get(&key, &subs).await;
    assert_eq!(subs_before.status, 200, "{}", subs_before.json);
    let s_clicks: i64 = subs_before.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["sub1"] == "s")
        .map(|r| r["clicks"].as_i64().unwrap())
        .sum();
    assert_eq!(s_clicks, 2_500, "{}", subs_before.json);

    // The real server over the same store runs the retention job at start.
    let served = common::serve(app.state.clone()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app.count("SELECT count(*) FROM clicks") > 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "old clicks were not deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served.stop();
    assert_eq!(
        app.count("SELECT count(*) FROM clicks WHERE created_at >= 0"),
        3,
        "recent ones kept"
    );
    let after = app.get(&key, &report).await;
    assert_eq!(
        after.json["totals"], before.json["totals"],
        "old ranges stay exact"
    );
    assert_eq!(
        app.get(&key, &subs).await.json,
        subs_before.json,
        "sub-id reports over old ranges stay exact"
    );
    let c = app
        .get(&key, &format!("/api/v1/conversions/{}", conv.json["id"]))
        .await;
    assert_eq!(c.status, 200, "conversions are never deleted");
    assert_eq!(
        app.get(&key, "/api/v1/clicks/01OLD000000000000000000000")
            .await
            .status,
        404
    );
}
