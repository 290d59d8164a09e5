//! Partner statements (API 1.1) over HTTP: lines and totals, paying, deleting, a conversion's
//! line following its status, clawbacks, events, and a property test of the whole ledger.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::{TestApp, app, offer_body};

async fn convert(app: &TestApp, key: &str, offer: i64, partner: i64, amount: f64, at: &str) -> i64 {
    let r = app
        .post(
            key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "amount": amount, "occurred_at": at}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["id"].as_i64().unwrap()
}

async fn set(app: &TestApp, key: &str, id: i64, status: &str) -> u16 {
    app.patch(
        key,
        &format!("/api/v1/conversions/{id}"),
        json!({"status": status, "reason": "test"}),
    )
    .await
    .status
}

async fn state_of(app: &TestApp, key: &str, path: &str) -> Value {
    let r = app.get(key, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.json);
    r.json
}

/// Every line of a statement (all pages).
async fn lines(app: &TestApp, key: &str, id: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = state_of(
            app,
            key,
            &format!("/api/v1/statements/{id}/lines?limit=100&cursor={cursor}"),
        )
        .await;
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return out,
        }
    }
}

fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 100.0).round() as i64
}

#[tokio::test]
async fn a_statement_pays_approved_conversions_up_to_its_day_and_claws_back_reversals() {
    let app = app();
    let key = app.key("Acme");
    let (offer, partner) = app.offer_and_partner(&key, offer_body("CPA")).await; // 12.50 USD
    let mut eur = offer_body("EUR");
    eur["currency"] = json!("EUR");
    eur["payout"] = json!(3.0);
    let eur_offer = app.post(&key, "/api/v1/offers", eur).await.json["id"]
        .as_i64()
        .unwrap();

    let r = app
        .post(
            &key,
            "/api/v1/statements",
            json!({"partner_id": partner, "through": "2026-11-30"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "nothing_to_pay"), "{}", r.json);

    let a = convert(&app, &key, offer, partner, 0.0, "2026-11-10T10:00:00Z").await;
    let b = convert(&app, &key, offer, partner, 0.0, "2026-11-30T23:59:59Z").await;
    let late = convert(&app, &key, offer, partner, 0.0, "2026-12-01T00:00:00Z").await;
    let e = convert(&app, &key, eur_offer, partner, 0.0, "2026-11-11T10:00:00Z").await;
    let pending = app
        .post(
            &key,
            "/api/v1/conversions",
            json!({"offer_id": offer, "partner_id": partner, "status": "pending", "occurred_at": "2026-11-12T10:00:00Z"}),
        )
        .await;
    assert_eq!(pending.status, 201);

    let r = app
        .post(
            &key,
            "/api/v1/statements",
            json!({"partner_id": partner, "through": "2026-11-30"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let made = r.json["data"].as_array().unwrap().clone();
    assert_eq!(made.len(), 2, "one per currency: {made:?}");
    let usd = made
        .iter()
        .find(|s| s["currency"] == "USD")
        .unwrap()
        .clone();
    assert_eq!(
        (
            usd["total"].clone(),
            usd["lines"].clone(),
            usd["status"].clone()
        ),
        (json!(25.0), json!(2), json!("open"))
    );
    assert_eq!(usd["through"], "2026-11-30");
    let usd_id = usd["id"].as_i64().unwrap();
    let got: Vec<i64> = lines(&app, &key, usd_id)
        .await
        .iter()
        .map(|l| l["conversion_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![a, b]);
    let conv = state_of(&app, &key, &format!("/api/v1/conversions/{a}")).await;
    assert_eq!(conv["statement_id"], usd_id);
    let conv = state_of(&app, &key, &format!("/api/v1/conversions/{late}")).await;
    assert_eq!(conv["statement_id"], Value::Null, "after its day");
    let eur_line = made.iter().find(|s| s["currency"] == "EUR").unwrap();
    assert_eq!(
        lines(&app, &key, eur_line["id"].as_i64().unwrap()).await[0]["conversion_id"],
        e
    );

    // Nothing left up to that day: a second one has nothing to pay.
    let r = app
        .post(
            &key,
            "/api/v1/statements",
            json!({"partner_id": partner, "through": "2026-11-30"}),
        )
        .await;
    assert_eq!(r.code(), "nothing_to_pay");

    // A change while open takes its line off; the total follows.
    assert_eq!(set(&app, &key, b, "rejected").await, 200);
    let s = state_of(&app, &key, &format!("/api/v1/statements/{usd_id}")).await;
    assert_eq!(
        (s["total"].clone(), s["lines"].clone()),
        (json!(12.5), json!(1))
    );

    // CSV of the lines.
    let resp = app
        .cli
        .get(format!("/api/v1/statements/{usd_id}/lines"))
        .header("Authorization", format!("Bearer {key}"))
        .header("Accept", "text/csv")
        .send()
        .await;
    let text = resp.0.into_body().into_string().await.unwrap();
    assert_eq!(
        text,
        format!(
            "conversion_id,kind,amount,occurred_at\r\n{a},payout,12.50,2026-11-10T10:00:00Z\r\n"
        )
    );

    // Pay; paying again answers it unchanged; a paid one can't be deleted.
    let paid = app
        .post(&key, &format!("/api/v1/statements/{usd_id}/pay"), json!({}))
        .await;
    assert_eq!(paid.status, 200, "{}", paid.json);
    assert_eq!(paid.json["status"], "paid");
    let again = app
        .post(&key, &format!("/api/v1/statements/{usd_id}/pay"), json!({}))
        .await;
    assert_eq!(again.json, paid.json);
    let r = app
        .delete(&key, &format!("/api/v1/statements/{usd_id}"))
        .await;
    assert_eq!((r.status, r.code()), (422, "statement_paid"));

    // On a paid statement a conversion may only be reversed.
    let r = app
        .patch(
            &key,
            &format!("/api/v1/conversions/{a}"),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (422, "invalid_transition"),
        "{}",
        r.json
    );
    assert_eq!(set(&app, &key, a, "reversed").await, 200);

    // The next statement claws it back (and pays what came since).
    let r = app
        .post(
            &key,
            "/api/v1/statements",
            json!({"partner_id": partner, "through": "2026-12-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let next = r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["currency"] == "USD")
        .unwrap()
        .clone();
    let next_lines = lines(&app, &key, next["id"].as_i64().unwrap()).await;
    let kinds: Vec<(i64, String, i64)> = next_lines
        .iter()
        .map(|l| {
            (
                l["conversion_id"].as_i64().unwrap(),
                l["kind"].as_str().unwrap().to_string(),
                cents(&l["amount"]),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![(late, "payout".into(), 1250), (a, "clawback".into(), -1250)]
    );
    assert_eq!(next["total"], 0.0);

    // Deleting an open statement frees its conversions for the next.
    let next_id = next["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&key, &format!("/api/v1/statements/{next_id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get(&key, &format!("/api/v1/statements/{next_id}"))
            .await
            .status,
        404
    );
    let conv = state_of(&app, &key, &format!("/api/v1/conversions/{late}")).await;
    assert_eq!(conv["statement_id"], Value::Null);
    let r = app
        .post(
            &key,
            "/api/v1/statements",
            json!({"partner_id": partner, "through": "2026-12-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);

    // Events: every statement created and paid, with the statement as data.
    let ev = state_of(&app, &key, "/api/v1/events?limit=100").await;
    let types: Vec<&str> = ev["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .filter(|t| t.starts_with("statement."))
        .collect();
    // USD and EUR, the USD one paid, the clawback statement, and its remake after the delete.
    assert_eq!(
        types,
        [
            "statement.created",
            "statement.created",
            "statement.paid",
            "statement.created",
            "statement.created"
        ]
    );
    let paid_ev = ev["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "statement.paid")
        .unwrap();
    assert_eq!(paid_ev["data"]["id"], usd_id);
    assert_eq!(paid_ev["data"]["status"], "paid");

    // Listing and tenancy.
    let list = state_of(
        &app,
        &key,
        &format!("/api/v1/statements?partner_id={partner}&status=paid"),
    )
    .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let other = app.key("Other");
    assert_eq!(
        app.get(&other, &format!("/api/v1/statements/{usd_id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&other, &format!("/api/v1/statements/{usd_id}/lines"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.post(
            &other,
            &format!("/api/v1/statements/{usd_id}/pay"),
            json!({})
        )
        .await
        .status,
        404
    );
    let r = app
        .post(
            &other,
            "/api/v1/statements",
            json!({"partner_id": partner, "through": "2026-12-01"}),
        )
        .await;
    assert_eq!(r.status, 422, "another brand's partner: {}", r.json);
    let r = app
        .post(
            &key,
            "/api/v1/statements",
            json!({"partner_id": partner, "through": "30/11/2026"}),
        )
        .await;
    assert_eq!(r.status, 422);
}

#[derive(Debug, Clone)]
enum Op {
    /// A conversion of partner `p` (0..2) on offer `o` (0..2) on day `day` of November.
    Convert {
        p: usize,
        o: usize,
        day: u32,
        status: usize,
    },
    /// Change the n-th conversion made so far (mod) to a status.
    Status { n: usize, status: usize },
    /// A rule for partner `p`: on offer `o` or all, from day `day`.
    Rule {
        p: usize,
        o: Option<usize>,
        day: u32,
        payout_cents: u32,
    },
    /// Statements for partner `p` through day `day`.
    Statement { p: usize, day: u32 },
    /// Pay the n-th statement made so far.
    Pay { n: usize },
    /// Delete the n-th statement made so far (refused once paid).
    Delete { n: usize },
}

const STATUSES: [&str; 4] = ["approved", "pending", "rejected", "reversed"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..2usize, 0..2usize, 1..29u32, 0..3usize).prop_map(|(p, o, day, status)| Op::Convert { p, o, day, status }),
        4 => (0..100usize, 0..4usize).prop_map(|(n, status)| Op::Status { n, status }),
        1 => (0..2usize, prop::option::of(0..2usize), 1..29u32, 0..5000u32).prop_map(|(p, o, day, payout_cents)| Op::Rule { p, o, day, payout_cents }),
        2 => (0..2usize, 1..29u32).prop_map(|(p, day)| Op::Statement { p, day }),
        2 => (0..100usize).prop_map(|n| Op::Pay { n }),
        1 => (0..100usize).prop_map(|n| Op::Delete { n }),
    ]
}

fn day(d: u32) -> String {
    format!("2026-11-{d:02}T12:00:00Z")
}

/// Check every statement against its lines, and that no conversion is on two payout lines or
/// two clawback lines.
async fn check_statements(app: &TestApp, key: &str, ids: &[i64]) -> Result<(), TestCaseError> {
    let mut paid_once = std::collections::HashSet::new();
    let mut clawed_once = std::collections::HashSet::new();
    for &id in ids {
        let r = app.get(key, &format!("/api/v1/statements/{id}")).await;
        if r.status == 404 {
            continue; // deleted
        }
        let ls = lines(app, key, id).await;
        let sum: i64 = ls.iter().map(|l| cents(&l["amount"])).sum();
        prop_assert_eq!(cents(&r.json["total"]), sum, "statement {} total", id);
        prop_assert_eq!(r.json["lines"].as_i64().unwrap(), ls.len() as i64);
        for l in &ls {
            let c = l["conversion_id"].as_i64().unwrap();
            let fresh = if l["kind"] == "payout" {
                paid_once.insert(c)
            } else {
                clawed_once.insert(c)
            };
            prop_assert!(fresh, "conversion {} on two {} lines", c, l["kind"]);
        }
    }
    Ok(())
}

async fn run_ledger(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let app = app();
    let key = app.key("Acme");
    let mut offers = Vec::new();
    let mut partners = Vec::new();
    for (i, cur) in ["USD", "EUR"].iter().enumerate() {
        let mut body = offer_body(&format!("O{i}"));
        body["currency"] = json!(cur);
        body["payout"] = json!(5.25 + i as f64);
        offers.push(
            app.post(&key, "/api/v1/offers", body).await.json["id"]
                .as_i64()
                .unwrap(),
        );
        let p = app
            .post(
                &key,
                "/api/v1/partners",
                json!({"name": "P", "email": format!("p{i}@example.com")}),
            )
            .await;
        partners.push(p.json["id"].as_i64().unwrap());
    }
    let mut conversions: Vec<i64> = Vec::new();
    let mut statements: Vec<i64> = Vec::new();
    for op in ops {
        match op {
            Op::Convert {
                p,
                o,
                day: d,
                status,
            } => {
                let r = app
                    .post(
                        &key,
                        "/api/v1/conversions",
                        json!({"offer_id": offers[o], "partner_id": partners[p], "status": STATUSES[status], "occurred_at": day(d)}),
                    )
                    .await;
                prop_assert_eq!(r.status, 201);
                conversions.push(r.json["id"].as_i64().unwrap());
            }
            Op::Status { n, status } if !conversions.is_empty() => {
                let id = conversions[n % conversions.len()];
                let r = app
                    .patch(
                        &key,
                        &format!("/api/v1/conversions/{id}"),
                        json!({"status": STATUSES[status]}),
                    )
                    .await;
                prop_assert!(matches!(r.status, 200 | 422), "{}", r.json);
            }
            Op::Rule {
                p,
                o,
                day: d,
                payout_cents,
            } => {
                let mut body = json!({"partner_id": partners[p], "payout": payout_cents as f64 / 100.0, "starts_at": day(d)});
                if let Some(o) = o {
                    body["offer_id"] = json!(offers[o]);
                }
                prop_assert_eq!(
                    app.post(&key, "/api/v1/payout-rules", body).await.status,
                    201
                );
            }
            Op::Statement { p, day: d } => {
                let r = app
                    .post(
                        &key,
                        "/api/v1/statements",
                        json!({"partner_id": partners[p], "through": format!("2026-11-{d:02}")}),
                    )
                    .await;
                prop_assert!(
                    r.status == 201 || r.code() == "nothing_to_pay",
                    "{}",
                    r.json
                );
                for s in r.json["data"].as_array().into_iter().flatten() {
                    statements.push(s["id"].as_i64().unwrap());
                }
            }
            Op::Pay { n } if !statements.is_empty() => {
                let id = statements[n % statements.len()];
                let r = app
                    .post(&key, &format!("/api/v1/statements/{id}/pay"), json!({}))
                    .await;
                prop_assert!(matches!(r.status, 200 | 404));
            }
            Op::Delete { n } if !statements.is_empty() => {
                let id = statements[n % statements.len()];
                let r = app.delete(&key, &format!("/api/v1/statements/{id}")).await;
                prop_assert!(matches!(r.status, 204 | 404 | 422));
            }
            _ => {}
        }
        check_statements(&app, &key, &statements).await?;
    }
    // Settle everything: a statement through the end for each partner, paid. Then what was
    // paid, less what was clawed back, is the payout of the conversions still approved.
    for &p in &partners {
        let r = app
            .post(
                &key,
                "/api/v1/statements",
                json!({"partner_id": p, "through": "2026-11-30"}),
            )
            .await;
        for s in r.json["data"].as_array().into_iter().flatten() {
            let id = s["id"].as_i64().unwrap();
            statements.push(id);
        }
    }
    // Open statements left from before hold lines too; pay every one still there.
    for &id in &statements {
        let _ = app
            .post(&key, &format!("/api/v1/statements/{id}/pay"), json!({}))
            .await;
    }
    check_statements(&app, &key, &statements).await?;
    for cur in ["USD", "EUR"] {
        let mut paid = 0i64;
        for &id in &statements {
            let r = app.get(&key, &format!("/api/v1/statements/{id}")).await;
            if r.status == 200 && r.json["currency"] == cur {
                prop_assert_eq!(&r.json["status"], "paid");
                paid += cents(&r.json["total"]);
            }
        }
        let owed: i64 = app.count(&format!(
            "SELECT coalesce(sum(payout_minor), 0) FROM conversions WHERE status = 'approved' AND currency = '{cur}'"
        ));
        prop_assert_eq!(
            paid,
            owed,
            "{}: paid less clawbacks vs approved payout",
            cur
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn statements_sum_their_lines_pay_nothing_twice_and_settle_to_the_approved_payout(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run_ledger(ops))?;
    }
}
