//! The conversion lifecycle (API 1.1): the transition table, `reason`, history, bulk changes
//! all or nothing, and the reversed/rejected report counts.

use serde_json::{Value, json};

use crate::common::{TestApp, app, offer_body};

const STATUSES: [&str; 4] = ["pending", "approved", "rejected", "reversed"];

/// The table of API.md, "Conversion lifecycle".
fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("pending", "approved")
            | ("pending", "rejected")
            | ("approved", "rejected")
            | ("approved", "reversed")
            | ("rejected", "approved")
            | ("rejected", "pending")
    )
}

/// A conversion of 10.00 on `offer`/`partner` in `status` (reached through allowed changes
/// when it can't be posted so); its id.
async fn conversion_in(app: &TestApp, key: &str, offer: i64, partner: i64, status: &str) -> i64 {
    let posted = if status == "reversed" {
        "approved"
    } else {
        status
    };
    let r = app
        .post(
            key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "amount": 10.0, "status": posted}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_i64().unwrap();
    if status == "reversed" {
        let r = app
            .patch(
                key,
                &format!("/api/v1/conversions/{id}"),
                json!({"status": "reversed"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    id
}

async fn get(app: &TestApp, key: &str, id: i64) -> Value {
    let r = app.get(key, &format!("/api/v1/conversions/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

#[tokio::test]
async fn every_pair_of_the_transition_table() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    for from in STATUSES {
        for to in STATUSES {
            let id = conversion_in(&app, &key, offer, partner, from).await;
            let before = get(&app, &key, id).await;
            let r = app
                .patch(
                    &key,
                    &format!("/api/v1/conversions/{id}"),
                    json!({"status": to, "reason": "because"}),
                )
                .await;
            let after = get(&app, &key, id).await;
            if from == to {
                assert_eq!(r.status, 200, "{from} -> {to}: {}", r.json);
                assert_eq!(after, before, "{from} -> {to} is a no-op");
            } else if allowed(from, to) {
                assert_eq!(r.status, 200, "{from} -> {to}: {}", r.json);
                assert_eq!(r.json["status"], to);
                assert_eq!(r.json["reason"], "because");
                assert_eq!(after, r.json);
            } else {
                assert_eq!(r.status, 422, "{from} -> {to}: {}", r.json);
                assert_eq!(r.code(), "invalid_transition", "{from} -> {to}");
                let msg = r.json["error"]["message"].as_str().unwrap();
                assert!(msg.contains(&id.to_string()) && msg.contains(to), "{msg}");
                assert_eq!(after, before, "{from} -> {to} changed nothing");
            }
        }
    }
}

#[tokio::test]
async fn reason_and_updated_at_are_stored_and_shown() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let id = conversion_in(&app, &key, offer, partner, "pending").await;
    let c = get(&app, &key, id).await;
    assert_eq!(c["reason"], Value::Null, "always present, null when empty");
    assert_eq!(c["updated_at"], c["created_at"]);
    let r = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{id}"),
            json!({"status": "rejected", "reason": "fraud: same card, 40 orders"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let c = get(&app, &key, id).await;
    assert_eq!(c["reason"], "fraud: same card, 40 orders");
    assert!(c["updated_at"].as_str().unwrap() >= c["created_at"].as_str().unwrap());
    // A change without a reason leaves none.
    let r = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{id}"),
            json!({"status": "approved"}),
        )
        .await;
    assert_eq!(r.json["reason"], Value::Null);
    // Over 200 characters: 422, nothing changes.
    let r = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{id}"),
            json!({"status": "rejected", "reason": "x".repeat(201)}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(get(&app, &key, id).await["status"], "approved");
    // The list shows them too.
    let r = app.get(&key, "/api/v1/conversions").await;
    assert!(r.json["data"][0].get("reason").is_some());
    assert!(r.json["data"][0].get("updated_at").is_some());
}

#[tokio::test]
async fn history_lists_creation_and_changes_oldest_first_with_the_key_as_actor() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let id = conversion_in(&app, &key, offer, partner, "pending").await;
    for (status, reason) in [
        ("approved", Some("window passed")),
        ("approved", None),
        ("reversed", Some("chargeback")),
    ] {
        let r = app
            .patch(
                &key,
                &format!("/api/v1/conversions/{id}"),
                json!({"status": status, "reason": reason}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let r = app
        .get(&key, &format!("/api/v1/conversions/{id}/history"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let h = r.json["data"].as_array().unwrap();
    assert_eq!(
        h.len(),
        3,
        "creation and two changes (the no-op is none): {h:?}"
    );
    assert_eq!(h[0]["from"], Value::Null);
    assert_eq!(h[0]["to"], "pending");
    assert_eq!(h[0]["reason"], Value::Null);
    assert_eq!(h[1]["from"], "pending");
    assert_eq!(h[1]["to"], "approved");
    assert_eq!(h[1]["reason"], "window passed");
    assert_eq!(h[2]["from"], "approved");
    assert_eq!(h[2]["to"], "reversed");
    assert_eq!(h[2]["reason"], "chargeback");
    for e in h {
        assert_eq!(e["actor"], "key:test", "{e}");
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
    }
    // Another brand's conversion has no history to show.
    let other = app.key("Other");
    let r = app
        .get(&other, &format!("/api/v1/conversions/{id}/history"))
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
}

#[tokio::test]
async fn bulk_changes_all_or_nothing() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(conversion_in(&app, &key, offer, partner, "pending").await);
    }
    let reversed = conversion_in(&app, &key, offer, partner, "reversed").await;
    let other = app.key("Other");
    let (o2, p2) = app.offer_and_partner(&other, offer_body("Theirs")).await;
    let theirs = conversion_in(&app, &other, o2, p2, "pending").await;

    let snapshot = |app: &TestApp| {
        app.count("SELECT COUNT(*) FROM conversions WHERE status = 'pending'") * 1000
            + app.count("SELECT COUNT(*) FROM conversion_history")
    };
    let before = snapshot(&app);

    // An id of another brand: 404 naming it, nothing changes.
    let r = app
        .post(
            &key,
            "/api/v1/conversions/bulk",
            json!({"ids": [ids[0], theirs, ids[1]], "status": "approved"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&theirs.to_string())
    );
    assert_eq!(snapshot(&app), before);

    // One that can't make the transition: 422 naming it, nothing changes.
    let r = app
        .post(
            &key,
            "/api/v1/conversions/bulk",
            json!({"ids": [ids[0], ids[1], reversed], "status": "approved"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.code(), "invalid_transition");
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&reversed.to_string())
    );
    assert_eq!(snapshot(&app), before);
    for id in &ids {
        assert_eq!(get(&app, &key, *id).await["status"], "pending");
    }

    // 0 or 101 ids: 422.
    let r = app
        .post(
            &key,
            "/api/v1/conversions/bulk",
            json!({"ids": [], "status": "approved"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    let many: Vec<i64> = (1..=101).collect();
    let r = app
        .post(
            &key,
            "/api/v1/conversions/bulk",
            json!({"ids": many, "status": "approved"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);

    // All allowed: 200 with every conversion as it now is.
    let r = app
        .post(
            &key,
            "/api/v1/conversions/bulk",
            json!({"ids": ids, "status": "approved", "reason": "batch ok"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let data = r.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (c, id) in data.iter().zip(&ids) {
        assert_eq!(c["id"], *id);
        assert_eq!(c["status"], "approved");
        assert_eq!(c["reason"], "batch ok");
        assert_eq!(get(&app, &key, *id).await, *c);
    }
    let totals = app.get(&key, "/api/v1/reports?group_by=offer").await;
    assert_eq!(totals.json["totals"][0]["conversions"], 3);
}

#[tokio::test]
async fn reports_count_reversed_and_rejected() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await;
    for status in [
        "approved", "pending", "rejected", "rejected", "reversed", "reversed", "reversed",
    ] {
        conversion_in(&app, &key, offer, partner, status).await;
    }
    let r = app.get(&key, "/api/v1/reports?group_by=offer").await;
    assert_eq!(r.status, 200, "{}", r.json);
    for m in [&r.json["data"][0], &r.json["totals"][0]] {
        assert_eq!(m["conversions"], 1, "{m}");
        assert_eq!(m["pending_conversions"], 1, "{m}");
        assert_eq!(m["rejected_conversions"], 2, "{m}");
        assert_eq!(m["reversed_conversions"], 3, "{m}");
        assert_eq!(m["revenue"], 10.0, "reversed count in no money: {m}");
    }
}
