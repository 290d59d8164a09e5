use poem::http::StatusCode;
use serde_json::json;

use super::Dash;
use common::pages::{cookie_value, csrf_in, location, text};

use crate::common;

impl Dash {
    /// A conversion of 10.00 through the API on the offer and partner (or on `click`), with
    /// `txn` and `status`; its id.
    async fn conversion(
        &self,
        offer: i64,
        partner: i64,
        click: Option<&str>,
        txn: &str,
        status: &str,
    ) -> i64 {
        let body = match click {
            Some(id) => {
                json!({"click_id": id, "transaction_id": txn, "amount": 10.0, "status": status})
            }
            None => json!({"offer_id": offer, "partner_id": partner, "transaction_id": txn,
                "amount": 10.0, "status": status}),
        };
        let a = self.app.post(&self.key, "/api/v1/conversions", body).await;
        assert_eq!(a.status, 201, "{}", a.json);
        a.json["id"].as_i64().unwrap()
    }

    /// The CSRF token off the conversions list.
    async fn list_csrf(&self) -> String {
        csrf_in(&self.html("/conversions").await)
    }

    /// The API's report totals (first currency) for `offer`.
    async fn totals(&self, offer: i64) -> serde_json::Value {
        let r = self
            .app
            .get(
                &self.key,
                &format!("/api/v1/reports?offer_id={offer}&group_by=offer"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json["totals"][0].clone()
    }

    fn statuses(&self, status: &str) -> i64 {
        self.app.count(&format!(
            "SELECT COUNT(*) FROM conversions WHERE status = '{status}'"
        ))
    }
}

#[tokio::test]
async fn an_empty_list_says_how_conversions_arrive() {
    let dash = Dash::new().await;
    let html = dash.html("/conversions").await;
    assert!(html.contains("No conversions yet."), "{html}");
    assert!(html.contains("POST /api/v1/conversions"));
    assert!(html.contains("href=\"/docs\""));
    assert!(
        !html.contains("Approve selected"),
        "no bulk form without rows"
    );
    // Filters that match nothing say so, and how to clear them.
    let html = dash.html("/conversions?status=rejected").await;
    assert!(
        html.contains("No conversions match these filters."),
        "{html}"
    );
}

#[tokio::test]
async fn list_shows_conversions_and_its_filters_work() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let (offer2, partner2) = dash.offer_and_partner("Hats").await;
    let click = dash.app.click_id(&format!("/c/{offer}/{partner}")).await;
    dash.conversion(offer, partner, Some(&click), "order-1", "pending")
        .await;
    dash.conversion(offer, partner, None, "order-2", "pending")
        .await;
    dash.conversion(offer2, partner2, None, "order-3", "approved")
        .await;

    let html = dash.html("/conversions").await;
    for t in ["order-1", "order-2", "order-3"] {
        assert!(html.contains(&format!("<code>{t}</code>")), "{t}: {html}");
    }
    assert_eq!(html.matches("type=\"checkbox\"").count(), 3);
    assert!(html.contains("Occurred (UTC)"), "the zone is shown");
    assert!(html.contains("<span class=\"badge warn\">Pending</span>"));
    assert!(html.contains("<span class=\"badge on\">Approved</span>"));
    assert!(html.contains("$10.00"), "money formatted");
    assert!(html.contains("$12.50"), "the offer's payout");
    assert!(html.contains("Approve selected") && html.contains("Reject selected"));
    assert!(html.contains("name=\"action\" value=\"approve\""));
    assert!(html.contains(&format!(
        "<option value=\"{offer2}\">Hats (#{offer2})</option>"
    )));
    // Newest first.
    assert!(html.find("order-3").unwrap() < html.find("order-1").unwrap());

    let html = dash.html("/conversions?status=pending").await;
    assert!(html.contains("order-1") && html.contains("order-2"));
    assert!(!html.contains("order-3"), "{html}");
    assert!(html.contains("<option value=\"pending\" selected>"));

    let html = dash.html("/conversions?q=order-2").await;
    assert!(html.contains("order-2"));
    assert!(
        !html.contains("order-1") && !html.contains("order-3"),
        "{html}"
    );
    assert!(
        html.contains("value=\"order-2\""),
        "the search box keeps its text"
    );

    // The search box also takes a click id.
    let html = dash.html(&format!("/conversions?q={click}")).await;
    assert!(html.contains("order-1"));
    assert!(!html.contains("order-2"));

    let html = dash.html(&format!("/conversions?offer_id={offer2}")).await;
    assert!(html.contains("order-3") && !html.contains("order-1"));
    let html = dash
        .html(&format!("/conversions?partner_id={partner}"))
        .await;
    assert!(html.contains("order-1") && !html.contains("order-3"));

    // Ranges: today holds them all, yesterday none; a bad custom range says so.
    let html = dash.html("/conversions?range=today").await;
    assert_eq!(html.matches("type=\"checkbox\"").count(), 3);
    let html = dash.html("/conversions?range=yesterday").await;
    assert!(html.contains("No conversions match these filters."));
    let html = dash
        .html("/conversions?range=custom&from=2026-02-01&to=2026-01-01")
        .await;
    assert!(html.contains("The last date must not be before the first."));
    assert_eq!(html.matches("type=\"checkbox\"").count(), 3, "all time");
}

#[tokio::test]
async fn the_list_pages_past_fifty_with_an_older_link() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    for i in 0..55 {
        dash.conversion(offer, partner, None, &format!("t-{i}"), "pending")
            .await;
    }
    let html = dash.html("/conversions?status=pending").await;
    assert_eq!(html.matches("type=\"checkbox\"").count(), 50);
    assert!(html.contains("<code>t-54</code>") && html.contains("<code>t-5</code>"));
    assert!(!html.contains("<code>t-4</code>"));
    let at = html.find("rel=\"next\"").expect("an Older link");
    let start = html[..at].rfind("href=\"").unwrap() + 6;
    let href = html[start..at]
        .trim_end_matches("\" ")
        .replace("&#38;", "&");
    let prefix = format!("/b/{}", dash.brand);
    assert!(
        href.starts_with(&format!("{prefix}/conversions?status=pending&before=")),
        "{href}"
    );
    let html = dash.html(&href[prefix.len()..]).await;
    assert_eq!(html.matches("type=\"checkbox\"").count(), 5);
    for i in 0..5 {
        assert!(html.contains(&format!("<code>t-{i}</code>")));
    }
    assert!(!html.contains("rel=\"next\""), "the last page");
    assert!(html.contains("Newest"));
}

#[tokio::test]
async fn a_conversions_page_shows_its_fields_its_click_and_the_time_between() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let resp = dash
        .app
        .cli
        .get(format!("/c/{offer}/{partner}?sub1=aff42&sub3=banner"))
        .header("User-Agent", "Mozilla/5.0 (Test) Shopper")
        .header("Referer", "https://blog.example.com/post")
        .send()
        .await;
    resp.assert_status(StatusCode::FOUND);
    let stored = crate::common::stored_clicks(&dash.app.state.pool.get().unwrap()).remove(0);
    let (click, ip) = (stored.id, stored.ip);
    let id = dash
        .conversion(offer, partner, Some(&click), "order-9", "pending")
        .await;
    // The click came 3 h 20 min before the conversion.
    {
        let conn = dash.app.state.pool.get().unwrap();
        // A click not at its id's second is found by id through `click_times`.
        conn.execute_batch(
            "UPDATE clicks SET created_at = (SELECT occurred_at FROM conversions) - 12000;
             INSERT INTO click_times (id, created_at) SELECT id, created_at FROM clicks;",
        )
        .unwrap();
    }
    let html = dash.html(&format!("/conversions/{id}")).await;
    assert!(html.contains(&format!("Conversion #{id}")), "{html}");
    assert!(html.contains("<dl class=\"facts\">"));
    for fact in [
        "<dt>Event</dt><dd>conversion</dd>",
        "<dt>Amount</dt><dd>$10.00</dd>",
        "<dt>Payout</dt><dd>$12.50</dd>",
        "<dt>Currency</dt><dd>USD</dd>",
        "<dt>Transaction ID</dt><dd>order-9</dd>",
        "<dt>Sub 1</dt><dd>aff42</dd>",
        "<dt>Sub 3</dt><dd>banner</dd>",
        "<dt>User agent</dt><dd>Mozilla/5.0 (Test) Shopper</dd>",
        "<dt>Referer</dt><dd>https://blog.example.com/post</dd>",
        "<dt>Unique</dt><dd>Yes</dd>",
        "<dt>Time from click to conversion</dt><dd>3 h 20 min</dd>",
    ] {
        assert!(html.contains(fact), "{fact}: {html}");
    }
    // In-process requests have no socket address: the page shows a dash for the empty IP.
    let ip = if ip.is_empty() { "—".to_string() } else { ip };
    assert!(
        html.contains(&format!("<dt>IP</dt><dd>{ip}</dd>")),
        "{html}"
    );
    assert!(html.contains(&format!("<dt>Click ID</dt><dd>{click}</dd>")));
    assert!(html.contains("(UTC)"), "times in the brand's zone");
    assert!(html.contains("<span class=\"badge warn\">Pending</span>"));
    assert!(html.contains(&format!(
        "action=\"/b/{}/conversions/{id}/status\"",
        dash.brand
    )));

    // Approve this one through its own form.
    let csrf = csrf_in(&html);
    let path = format!("/b/{}/conversions/{id}/status", dash.brand);
    let resp = dash
        .app
        .submit(
            &path,
            &dash.session,
            &[("csrf", &csrf), ("action", "approve")],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        location(&resp),
        format!("/b/{}/conversions/{id}", dash.brand)
    );
    assert_eq!(
        cookie_value(&resp, "trcker_flash").as_deref(),
        Some("conversions_changed")
    );
    assert_eq!(dash.statuses("approved"), 1);
    assert_eq!(dash.totals(offer).await["conversions"], 1);

    // Another brand's conversion, or no number, is not found.
    let other = dash.app.key("Zeta");
    let (o2, p2) = dash
        .app
        .offer_and_partner(&other, common::offer_body("Z"))
        .await;
    let theirs = dash
        .app
        .post(
            &other,
            "/api/v1/conversions",
            json!({"offer_id": o2, "partner_id": p2}),
        )
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let page = |p: String| {
        let (app, s) = (&dash.app, &dash.session);
        async move { app.page(&p, s).await }
    };
    page(format!("/b/{}/conversions/{theirs}", dash.brand))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    page(format!("/b/{}/conversions/abc", dash.brand))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let resp = dash
        .app
        .submit(
            &format!("/b/{}/conversions/{theirs}/status", dash.brand),
            &dash.session,
            &[("csrf", &csrf), ("action", "reject")],
        )
        .await;
    resp.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(dash.statuses("rejected"), 0);
}

#[tokio::test]
async fn bulk_approve_changes_them_and_reports_show_it_at_once() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            dash.conversion(offer, partner, None, &format!("o-{i}"), "pending")
                .await,
        );
    }
    let before = dash.totals(offer).await;
    assert_eq!(before["conversions"], 0);
    assert_eq!(before["pending_conversions"], 3);

    let csrf = dash.list_csrf().await;
    let (a, b) = (ids[0].to_string(), ids[2].to_string());
    let path = format!(
        "/b/{}/conversions/bulk?status=pending&q=&before=999",
        dash.brand
    );
    let resp = dash
        .app
        .submit(
            &path,
            &dash.session,
            &[
                ("csrf", &csrf),
                ("id", &a),
                ("id", &b),
                ("action", "approve"),
            ],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        location(&resp),
        format!("/b/{}/conversions?status=pending&before=999", dash.brand),
        "back to the list as it was filtered"
    );
    assert_eq!(
        cookie_value(&resp, "trcker_flash").as_deref(),
        Some("conversions_changed")
    );
    assert_eq!(dash.statuses("approved"), 2);
    assert_eq!(dash.statuses("pending"), 1);
    let after = dash.totals(offer).await;
    assert_eq!(after["conversions"], 2);
    assert_eq!(after["pending_conversions"], 1);
    assert_eq!(after["revenue"], 20.0);
    assert_eq!(after["payout"], 25.0);

    // The flash shows on the list; the approved ones show as such.
    let html = dash
        .app
        .page(
            &format!("/b/{}/conversions", dash.brand),
            &format!("{}; trcker_flash=conversions_changed", dash.session),
        )
        .await;
    let html = text(html).await;
    assert!(html.contains("Conversions updated."), "{html}");
    assert_eq!(html.matches("badge on\">Approved").count(), 2);

    // Reject them all; then nothing selected is said so and changes nothing.
    let c = ids[1].to_string();
    let resp = dash
        .app
        .submit(
            &format!("/b/{}/conversions/bulk", dash.brand),
            &dash.session,
            &[
                ("csrf", &csrf),
                ("action", "reject"),
                ("id", &a),
                ("id", &b),
                ("id", &c),
            ],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(dash.statuses("rejected"), 3);
    let t = dash.totals(offer).await;
    assert_eq!(t["conversions"], 0);
    assert_eq!(t["pending_conversions"], 0);
    let resp = dash
        .app
        .submit(
            &format!("/b/{}/conversions/bulk", dash.brand),
            &dash.session,
            &[("csrf", &csrf), ("action", "approve")],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), format!("/b/{}/conversions", dash.brand));
    assert_eq!(
        cookie_value(&resp, "trcker_flash").as_deref(),
        Some("nothing_selected")
    );
    assert_eq!(dash.statuses("rejected"), 3);
}

#[tokio::test]
async fn a_bulk_with_another_brands_id_changes_nothing() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let mine = dash
        .conversion(offer, partner, None, "m-1", "pending")
        .await;
    let other = dash.app.key("Zeta");
    let (o2, p2) = dash
        .app
        .offer_and_partner(&other, common::offer_body("Z"))
        .await;
    let theirs = dash
        .app
        .post(
            &other,
            "/api/v1/conversions",
            json!({"offer_id": o2, "partner_id": p2, "status": "pending"}),
        )
        .await
        .json["id"]
        .as_i64()
        .unwrap();
    let csrf = dash.list_csrf().await;
    let (m, t) = (mine.to_string(), theirs.to_string());
    let path = format!("/b/{}/conversions/bulk", dash.brand);
    for ids in [vec![m.as_str(), t.as_str()], vec![m.as_str(), "999999"]] {
        let mut form = vec![("csrf", csrf.as_str()), ("action", "approve")];
        form.extend(ids.iter().map(|i| ("id", *i)));
        let resp = dash.app.submit(&path, &dash.session, &form).await;
        resp.assert_status(StatusCode::NOT_FOUND);
        assert_eq!(dash.statuses("pending"), 2, "nothing changed: {ids:?}");
        assert_eq!(dash.statuses("approved"), 0);
    }
    // The rollups moved nothing either.
    let t = dash.totals(offer).await;
    assert_eq!(t["conversions"], 0);
    assert_eq!(t["pending_conversions"], 1);
    assert_eq!(
        dash.app
            .count("SELECT COALESCE(SUM(conversions), 0) FROM rollups"),
        0
    );
}

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused_and_change_nothing() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let id = dash
        .conversion(offer, partner, None, "c-1", "pending")
        .await;
    let id = id.to_string();
    let bulk = format!("/b/{}/conversions/bulk", dash.brand);
    let one = format!("/b/{}/conversions/{id}/status", dash.brand);
    for (path, form) in [
        (&bulk, vec![("action", "approve"), ("id", id.as_str())]),
        (
            &bulk,
            vec![
                ("csrf", "wrong"),
                ("action", "approve"),
                ("id", id.as_str()),
            ],
        ),
        (&one, vec![("action", "approve")]),
        (&one, vec![("csrf", "wrong"), ("action", "reject")]),
    ] {
        let resp = dash.app.submit(path, &dash.session, &form).await;
        resp.assert_status(StatusCode::FORBIDDEN);
    }
    assert_eq!(dash.statuses("pending"), 1);
    // Signed out, the forms send to sign-in.
    let csrf = dash.list_csrf().await;
    let resp = dash
        .app
        .submit(
            &bulk,
            "",
            &[("csrf", &csrf), ("action", "approve"), ("id", &id)],
        )
        .await;
    assert_eq!(location(&resp), "/login");
    assert_eq!(dash.statuses("pending"), 1);
}

#[tokio::test]
async fn a_change_on_the_page_is_in_the_history_as_the_admin() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let id = dash
        .conversion(offer, partner, None, "h-1", "pending")
        .await;
    let html = dash.html(&format!("/conversions/{id}")).await;
    let csrf = csrf_in(&html);
    let path = format!("/b/{}/conversions/{id}/status", dash.brand);
    let resp = dash
        .app
        .submit(
            &path,
            &dash.session,
            &[("csrf", &csrf), ("action", "approve")],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    let r = dash
        .app
        .get(&dash.key, &format!("/api/v1/conversions/{id}/history"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let h = r.json["data"].as_array().unwrap();
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[0]["actor"], "key:test");
    assert_eq!(h[1]["actor"], format!("admin:{}", common::pages::EMAIL));
    assert_eq!(h[1]["from"], "pending");
    assert_eq!(h[1]["to"], "approved");

    // Reversed through the API: final, so the page offers no button and refuses a post.
    let r = dash
        .app
        .patch(
            &dash.key,
            &format!("/api/v1/conversions/{id}"),
            json!({"status": "reversed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let html = dash.html(&format!("/conversions/{id}")).await;
    assert!(html.contains("Reversed"), "{html}");
    let resp = dash
        .app
        .submit(
            &path,
            &dash.session,
            &[("csrf", &csrf), ("action", "approve")],
        )
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(dash.statuses("reversed"), 1);
}

#[tokio::test]
async fn bulk_with_one_that_cant_change_changes_none() {
    let dash = Dash::new().await;
    let (offer, partner) = dash.offer_and_partner("Shoes").await;
    let pending = dash
        .conversion(offer, partner, None, "b-1", "pending")
        .await;
    let approved = dash
        .conversion(offer, partner, None, "b-2", "approved")
        .await;
    let r = dash
        .app
        .patch(
            &dash.key,
            &format!("/api/v1/conversions/{approved}"),
            json!({"status": "reversed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let csrf = dash.list_csrf().await;
    let (a, b) = (pending.to_string(), approved.to_string());
    let resp = dash
        .app
        .submit(
            &format!("/b/{}/conversions/bulk", dash.brand),
            &dash.session,
            &[
                ("csrf", &csrf),
                ("id", &a),
                ("id", &b),
                ("action", "reject"),
            ],
        )
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(dash.statuses("pending"), 1, "the pending one is unchanged");
    assert_eq!(dash.statuses("reversed"), 1);
    assert_eq!(
        dash.app
            .count("SELECT COUNT(*) FROM conversion_history WHERE actor LIKE 'admin:%'"),
        0
    );
}
