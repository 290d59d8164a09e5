//! Reports read rollups; these tests hold them to aggregation over the raw tables, computed
//! here independently, for random clicks and conversions (status changes and repeated
//! `transaction_id`s included, and random lifecycle transitions: reversals, refused changes)
//! in zones with +05:30, +05:45 and DST offsets. Sub-id reports too, read from the sub-id
//! rollups while their blocks are sealed and late deltas reach sealed blocks, and while their
//! backfill runs beside live writes.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use poem::Endpoint;
use poem::test::TestClient;
use proptest::prelude::*;
use serde_json::{Value, json};
use trcker::AppState;
use trcker::domain::click::ClickRow;

mod common;

/// 2026-02-26T00:00:00Z and 2026-10-24T00:00:00Z: events fall in the 16 days after either,
/// which hold New York's DST start (2026-03-08) and end (2026-11-01).
const T0: i64 = 1_772_064_000;
const T1: i64 = 1_792_800_000;
const SPAN: i64 = 16 * 86_400;

fn when() -> impl Strategy<Value = i64> {
    (any::<bool>(), 0..SPAN).prop_map(|(autumn, at)| if autumn { T1 + at } else { T0 + at })
}

const ZONES: [&str; 4] = ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York"];
const GROUPS: [&str; 20] = [
    "day",
    "hour",
    "week",
    "month",
    "offer",
    "partner",
    "day,offer",
    "hour,partner",
    "offer,partner,month",
    "day,sub1",
    "sub1",
    "sub2",
    "sub1,sub2",
    "hour,sub1",
    "week,sub2",
    "month,sub1",
    "offer,sub1",
    "partner,sub1",
    "day,offer,sub1",
    "partner,sub1,sub2",
];

#[derive(Debug, Clone)]
enum Op {
    Click {
        offer: usize,
        partner: usize,
        at: i64,
        visitor: u8,
        sub1: Option<u8>,
        sub2: Option<u8>,
    },
    Conversion {
        /// Some: credit the n-th click made so far (mod); None: offer and partner directly.
        click: Option<usize>,
        offer: usize,
        partner: usize,
        at: i64,
        amount_cents: u32,
        status: usize,
        txn: Option<u8>,
    },
    Status {
        conversion: usize,
        status: usize,
    },
    /// The hold job's run: every held conversion still pending is approved (`system:hold`).
    ReleaseHolds,
}

/// What a postback may send (the first three) and a change may ask for (all four).
const STATUSES: [&str; 4] = ["approved", "pending", "rejected", "reversed"];

/// The lifecycle's table (API.md), kept here independently of the server's.
fn may_become(from: &str, to: &str) -> bool {
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

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..3usize, when(), 0..4u8, proptest::option::of(0..3u8),
              proptest::option::of(0..2u8)).prop_map(
            |(offer, partner, at, visitor, sub1, sub2)| Op::Click {
                offer, partner, at, visitor, sub1, sub2
            }
        ),
        3 => (proptest::option::of(0..1000usize), 0..3usize, 0..3usize, when(), 0..50_000u32,
              0..3usize, proptest::option::of(0..6u8)).prop_map(
            |(click, offer, partner, at, amount_cents, status, txn)| Op::Conversion {
                click, offer, partner, at, amount_cents, status, txn
            }
        ),
        3 => (0..1000usize, 0..4usize).prop_map(|(conversion, status)| Op::Status { conversion, status }),
        1 => Just(Op::ReleaseHolds),
    ]
}

struct App<E> {
    cli: TestClient<E>,
    state: AppState,
    auth: String,
    offers: Vec<i64>,
    partners: Vec<i64>,
    brand_id: i64,
}

/// `mode` 0: a fresh store (the past the ops write is before where sealing starts, so it
/// stays in 15-minute rows); 1: sealing starts before the ops' times, so the writer seals
/// blocks between the ops and later ops reach sealed blocks as late deltas; 2: as after the
/// migration of a store with rows: a backfill from before the ops' times runs beside them
/// (every delta it hasn't reached yet is left to it), then sealing.
async fn setup_with(dir: &std::path::Path, mode: u8) -> App<impl Endpoint> {
    let key = trcker::admin_cli::create_key(dir, "prop", "test")
        .unwrap()
        .key;
    if mode > 0 {
        let conn = rusqlite::Connection::open(dir.join("trcker.db")).unwrap();
        let start = (T0 - 86_400).div_euclid(16 * 86_400) * 16 * 86_400;
        conn.execute(
            "UPDATE sub_state SET value = ?1 WHERE name = 'first'",
            [start],
        )
        .unwrap();
        if mode == 2 {
            conn.execute(
                "UPDATE sub_state SET value = ?1 WHERE name = 'backfill_next'",
                [start],
            )
            .unwrap();
        }
    }
    // A few rows a sealing step: blocks are summed over many steps, between which the ops'
    // late deltas arrive.
    let state = common::state_in(dir, |c| {
        c.rate_limit = 1_000_000;
        c.seal_step_rows = 5;
    });
    let cli = common::client(&state);
    let auth = format!("Bearer {key}");
    let mut offers = Vec::new();
    // Two currencies, a revshare offer whose payout depends on the amount, and one that holds
    // approved conversions pending for 3 days.
    for (i, (ty, payout, cur)) in [
        ("cpa", 2.5, "USD"),
        ("revshare", 12.5, "EUR"),
        ("cpa", 1.0, "USD"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = cli
            .post("/api/v1/offers")
            .header("Authorization", &auth)
            .body_json(
                &json!({"name": format!("o{i}"), "destination_url": "https://example.com/",
                               "payout_type": ty, "payout": payout, "currency": cur,
                               "hold_days": if i == 2 { 3 } else { 0 }}),
            )
            .send()
            .await;
        r.assert_status(poem::http::StatusCode::CREATED);
        offers.push(r.json().await.value().object().get("id").i64());
    }
    let mut partners = Vec::new();
    for i in 0..3 {
        let r = cli
            .post("/api/v1/partners")
            .header("Authorization", &auth)
            .body_json(&json!({"name": format!("p{i}"), "email": format!("p{i}@example.com")}))
            .send()
            .await;
        r.assert_status(poem::http::StatusCode::CREATED);
        partners.push(r.json().await.value().object().get("id").i64());
    }
    let brand_id = {
        let c = state.pool.get().unwrap();
        c.query_row("SELECT id FROM brands WHERE name = 'prop'", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    App {
        cli,
        state,
        auth,
        offers,
        partners,
        brand_id,
    }
}

fn rfc3339(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

async fn apply<E: Endpoint>(app: &App<E>, ops: &[Op]) {
    let mut clicks: Vec<String> = Vec::new();
    let mut conversions: Vec<i64> = Vec::new();
    let mut current: std::collections::HashMap<i64, &str> = Default::default();
    for (n, op) in ops.iter().enumerate() {
        match op {
            Op::Click {
                offer,
                partner,
                at,
                visitor,
                sub1,
                sub2,
            } => {
                // Through the writer, as the redirect handler does, but at a chosen time.
                let id = ulid::Ulid::new().to_string();
                let row = ClickRow {
                    id: id.clone(),
                    brand_id: app.brand_id.into(),
                    offer_id: app.offers[*offer],
                    partner_id: app.partners[*partner],
                    currency: if *offer == 1 { "EUR" } else { "USD" }.into(),
                    created_at: *at,
                    subs: [
                        sub1.map(|s| format!("s{s}")),
                        sub2.map(|s| format!("t{s}")),
                        None,
                        None,
                        None,
                    ],
                    ip: format!("10.0.0.{visitor}"),
                    user_agent: "prop".into(),
                    referer: None,
                    is_unique: n % 3 != 0,
                    visitor: 0,
                };
                let r = app.state.writer.submit_click(row).await;
                assert!(r.is_ok());
                clicks.push(id);
            }
            Op::Conversion {
                click,
                offer,
                partner,
                at,
                amount_cents,
                status,
                txn,
            } => {
                let mut body = json!({
                    "amount": f64::from(*amount_cents) / 100.0,
                    "status": STATUSES[*status],
                    "occurred_at": rfc3339(*at),
                });
                match click {
                    Some(i) if !clicks.is_empty() => {
                        body["click_id"] = json!(clicks[i % clicks.len()]);
                    }
                    _ => {
                        body["offer_id"] = json!(app.offers[*offer]);
                        body["partner_id"] = json!(app.partners[*partner]);
                    }
                }
                if let Some(t) = txn {
                    body["transaction_id"] = json!(format!("order-{t}"));
                }
                let r = app
                    .cli
                    .post("/api/v1/conversions")
                    .header("Authorization", &app.auth)
                    .body_json(&body)
                    .send()
                    .await;
                let status = r.0.status().as_u16();
                assert!(
                    status == 201 || status == 200,
                    "conversion answered {status}"
                );
                let json = r.json().await;
                let id = json.value().object().get("id").i64();
                // As stored: an approved one on the holding offer is pending.
                let stored = json.value().object().get("status").string().to_string();
                let stored = *STATUSES.iter().find(|s| **s == stored).unwrap();
                if status == 201 {
                    conversions.push(id);
                    current.insert(id, stored);
                } else {
                    assert!(conversions.contains(&id), "a repeat answers the first one");
                }
            }
            Op::Status { conversion, status } => {
                if conversions.is_empty() {
                    continue;
                }
                let id = conversions[conversion % conversions.len()];
                let (from, to) = (current[&id], STATUSES[*status]);
                let r = app
                    .cli
                    .patch(format!("/api/v1/conversions/{id}"))
                    .header("Authorization", &app.auth)
                    .body_json(&json!({"status": to}))
                    .send()
                    .await;
                if from == to || may_become(from, to) {
                    r.assert_status_is_ok();
                    current.insert(id, to);
                } else {
                    r.assert_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY);
                }
            }
            Op::ReleaseHolds => {
                // Through the writer, as the job does, at a time past every hold.
                let released = app
                    .state
                    .writer
                    .run(|conn, rollups| {
                        trcker::store::conversions::release_holds(
                            conn,
                            i64::MAX / 4,
                            10_000,
                            rollups,
                        )
                    })
                    .await
                    .unwrap();
                let conn = app.state.pool.get().unwrap();
                let mut approved = 0;
                for (id, status) in current.iter_mut() {
                    let now: String = conn
                        .query_row("SELECT status FROM conversions WHERE id = ?1", [*id], |r| {
                            r.get(0)
                        })
                        .unwrap();
                    if *status != now {
                        assert_eq!((*status, now.as_str()), ("pending", "approved"));
                        approved += 1;
                    }
                    *status = STATUSES.iter().find(|s| **s == now).unwrap();
                }
                assert_eq!(approved, released, "each held one approved once");
            }
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct M {
    clicks: i64,
    unique: i64,
    conversions: i64,
    pending: i64,
    rejected: i64,
    reversed: i64,
    revenue: i64,
    payout: i64,
}

/// (time label, offer, partner, sub1, sub2, currency)
type GroupKey = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    String,
);

fn label(grain: &str, ts: i64, tz: Tz) -> String {
    let t = tz.timestamp_opt(ts, 0).unwrap();
    match grain {
        "hour" => {
            // The hour's start as an instant, so the repeated 01:00 of a DST end stays apart.
            let start = tz
                .timestamp_opt(ts - i64::from(t.minute() * 60 + t.second()), 0)
                .unwrap();
            format!("{}{}", start.format("%Y-%m-%dT%H:%M:%S"), t.offset().fix())
        }
        "day" => t.format("%Y-%m-%d").to_string(),
        "week" => (t.date_naive()
            - chrono::Duration::days(i64::from(t.weekday().num_days_from_monday())))
        .format("%Y-%m-%d")
        .to_string(),
        "month" => t.format("%Y-%m").to_string(),
        _ => unreachable!(),
    }
}

/// The report recomputed from the raw tables: (groups with their metrics, totals).
fn expected(
    conn: &rusqlite::Connection,
    group_by: &str,
    tz: Tz,
    (from, to): (NaiveDate, NaiveDate),
    (only_offer, only_partner): Filter,
) -> (BTreeMap<GroupKey, M>, BTreeMap<String, M>) {
    let local_day = |ts: i64| tz.timestamp_opt(ts, 0).unwrap().date_naive();
    let wanted = |offer: i64, partner: i64| {
        only_offer.is_none_or(|o| o == offer) && only_partner.is_none_or(|p| p == partner)
    };
    let parts: Vec<&str> = group_by.split(',').collect();
    let grain = parts
        .iter()
        .find(|p| ["hour", "day", "week", "month"].contains(p))
        .copied();
    let key = |ts: i64, offer: i64, partner: i64, subs: [Option<String>; 2], cur: String| {
        let [sub1, sub2] = subs;
        (
            grain.map(|g| label(g, ts, tz)),
            parts.contains(&"offer").then_some(offer),
            parts.contains(&"partner").then_some(partner),
            if parts.contains(&"sub1") { sub1 } else { None },
            if parts.contains(&"sub2") { sub2 } else { None },
            cur,
        )
    };
    let mut groups: BTreeMap<GroupKey, M> = BTreeMap::new();
    let mut totals: BTreeMap<String, M> = BTreeMap::new();
    let mut add = |k: GroupKey, m: M| {
        for g in [
            groups.entry(k.clone()).or_default(),
            totals.entry(k.5).or_default(),
        ] {
            g.clicks += m.clicks;
            g.unique += m.unique;
            g.conversions += m.conversions;
            g.pending += m.pending;
            g.rejected += m.rejected;
            g.reversed += m.reversed;
            g.revenue += m.revenue;
            g.payout += m.payout;
        }
    };
    let mut s = conn
        .prepare(
            "SELECT c.created_at, c.offer_id, c.partner_id, c.sub1, o.currency, c.is_unique,
             c.sub2 FROM clicks c JOIN offers o ON o.id = c.offer_id",
        )
        .unwrap();
    let mut rows = s.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let ts: i64 = r.get(0).unwrap();
        if local_day(ts) < from
            || local_day(ts) > to
            || !wanted(r.get(1).unwrap(), r.get(2).unwrap())
        {
            continue;
        }
        let m = M {
            clicks: 1,
            unique: r.get(5).unwrap(),
            ..M::default()
        };
        add(
            key(
                ts,
                r.get(1).unwrap(),
                r.get(2).unwrap(),
                [r.get(3).unwrap(), r.get(6).unwrap()],
                r.get(4).unwrap(),
            ),
            m,
        );
    }
    let mut s = conn
        .prepare(
            "SELECT occurred_at, offer_id, partner_id, sub1, currency, status, amount_minor,
             payout_minor, sub2 FROM conversions",
        )
        .unwrap();
    let mut rows = s.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let ts: i64 = r.get(0).unwrap();
        if local_day(ts) < from
            || local_day(ts) > to
            || !wanted(r.get(1).unwrap(), r.get(2).unwrap())
        {
            continue;
        }
        let status: String = r.get(5).unwrap();
        let approved = status == "approved";
        let m = M {
            conversions: i64::from(approved),
            pending: i64::from(status == "pending"),
            rejected: i64::from(status == "rejected"),
            reversed: i64::from(status == "reversed"),
            revenue: if approved {
                r.get::<_, Option<i64>>(6).unwrap().unwrap_or(0)
            } else {
                0
            },
            payout: if approved { r.get(7).unwrap() } else { 0 },
            ..M::default()
        };
        add(
            key(
                ts,
                r.get(1).unwrap(),
                r.get(2).unwrap(),
                [r.get(3).unwrap(), r.get(8).unwrap()],
                r.get(4).unwrap(),
            ),
            m,
        );
    }
    (groups, totals)
}

fn metrics(v: &Value) -> M {
    let cents = |f: &str| (v[f].as_f64().unwrap() * 100.0).round() as i64;
    M {
        clicks: v["clicks"].as_i64().unwrap(),
        unique: v["unique_clicks"].as_i64().unwrap(),
        conversions: v["conversions"].as_i64().unwrap(),
        pending: v["pending_conversions"].as_i64().unwrap(),
        rejected: v["rejected_conversions"].as_i64().unwrap(),
        reversed: v["reversed_conversions"].as_i64().unwrap(),
        revenue: cents("revenue"),
        payout: cents("payout"),
    }
}

/// `offer_id` and `partner_id` filters of a report.
type Filter = (Option<i64>, Option<i64>);

/// Fetch the report and compare it with the raw aggregation.
async fn check<E: Endpoint>(app: &App<E>, group_by: &str, zone: &str, from: &str, to: &str) {
    check_filtered(app, group_by, zone, from, to, (None, None)).await;
}

async fn check_filtered<E: Endpoint>(
    app: &App<E>,
    group_by: &str,
    zone: &str,
    from: &str,
    to: &str,
    filter: Filter,
) {
    let tz: Tz = zone.parse().unwrap();
    let mut req = app
        .cli
        .get("/api/v1/reports")
        .header("Authorization", &app.auth)
        .query("group_by", &group_by)
        .query("timezone", &zone)
        .query("from", &from)
        .query("to", &to);
    if let Some(o) = filter.0 {
        req = req.query("offer_id", &o);
    }
    if let Some(p) = filter.1 {
        req = req.query("partner_id", &p);
    }
    let resp = req.send().await;
    resp.assert_status_is_ok();
    let body: Value = resp.json().await.value().deserialize();
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let conn = app.state.pool.get().unwrap();
    let (want, want_totals) = expected(&conn, group_by, tz, (day(from), day(to)), filter);

    let mut got: BTreeMap<GroupKey, M> = BTreeMap::new();
    for row in body["data"].as_array().unwrap() {
        let time = ["hour", "day", "week", "month"]
            .iter()
            .find_map(|g| row[*g].as_str().map(String::from));
        let k = (
            time,
            row["offer_id"].as_i64(),
            row["partner_id"].as_i64(),
            row["sub1"].as_str().map(String::from),
            row["sub2"].as_str().map(String::from),
            row["currency"].as_str().unwrap().to_string(),
        );
        let m = metrics(row);
        assert!(
            got.insert(k.clone(), m).is_none(),
            "{group_by} {zone}: row {k:?} twice"
        );
    }
    let ctx = format!("group_by={group_by} timezone={zone} {from}..{to} filter={filter:?}");
    // Every group with data is reported with exactly the raw metrics ...
    for (k, m) in &want {
        assert_eq!(got.get(k), Some(m), "{ctx}: group {k:?}");
    }
    // ... and every other row is an empty time bucket.
    for (k, m) in &got {
        if !want.contains_key(k) {
            assert_eq!(*m, M::default(), "{ctx}: unexpected row {k:?}");
            assert!(
                k.0.is_some() && k.1.is_none() && k.2.is_none(),
                "{ctx}: {k:?}"
            );
        }
    }
    let mut totals: BTreeMap<String, M> = BTreeMap::new();
    for t in body["totals"].as_array().unwrap() {
        totals.insert(t["currency"].as_str().unwrap().to_string(), metrics(t));
    }
    if want_totals.is_empty() {
        assert_eq!(totals.len(), 1, "{ctx}: one zero total");
        assert_eq!(totals.get("USD"), Some(&M::default()), "{ctx}");
    } else {
        assert_eq!(totals, want_totals, "{ctx}: totals");
    }
}

async fn check_all<E: Endpoint>(app: &App<E>, ranges: &[(String, String)]) {
    for zone in ZONES {
        for (from, to) in ranges {
            for g in GROUPS {
                check(app, g, zone, from, to).await;
            }
            let (o, p) = (app.offers[0], app.partners[app.partners.len() - 1]);
            for filter in [(Some(o), None), (None, Some(p)), (Some(o), Some(p))] {
                check_filtered(app, "day,partner", zone, from, to, filter).await;
                check_filtered(app, "day,sub1", zone, from, to, filter).await;
                check_filtered(app, "sub1,sub2", zone, from, to, filter).await;
            }
        }
    }
}

/// Wait until the writer has backfilled the sub-id rollups and sealed every ended block.
async fn settled<E: Endpoint>(app: &App<E>) {
    const DAY: i64 = 86_400;
    let spans = [3_600, 21_600, DAY, 2 * DAY, 4 * DAY, 8 * DAY, 16 * DAY];
    for _ in 0..600 {
        let state: BTreeMap<String, i64> = {
            let conn = app.state.pool.get().unwrap();
            let mut s = conn.prepare("SELECT name, value FROM sub_state").unwrap();
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let now = Utc::now().timestamp();
        // A span without a row starts at `first`; its next block must not have ended.
        let sealed = spans.iter().all(|s| {
            let next = state
                .get(&format!("seal_{s}"))
                .copied()
                .unwrap_or(state["first"].div_euclid(*s) * s);
            next + s > now - 5
        });
        if state["backfill_next"] >= state["live_from"] && sealed {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the sub-id rollups did not settle");
}

fn date(base: i64, offset_days: i64) -> String {
    rfc3339(base + offset_days * 86_400)[..10].to_string()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn reports_equal_raw_aggregation(
        ops in proptest::collection::vec(op(), 1..60),
        a in 0..16i64,
        len in 0..4i64,
        autumn in any::<bool>(),
        mode in 0..3u8,
        settle in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let app = setup_with(dir.path(), mode).await;
            apply(&app, &ops).await;
            if settle {
                // Else the reports run while the writer may still be sealing or backfilling.
                settled(&app).await;
            }
            let (base, dst_day) = if autumn { (T1, "2026-11-01") } else { (T0, "2026-03-08") };
            let ranges = [
                (date(T0, -1), date(T0, 16)),
                (date(T1, -1), date(T1, 16)),
                (date(base, a), date(base, a + len)),
                (dst_day.to_string(), dst_day.to_string()),
            ];
            check_all(&app, &ranges).await;
            let writer = app.state.writer.clone();
            drop(app);
            tokio::task::spawn_blocking(move || writer.shutdown()).await.unwrap();
        });
    }
}

/// Rows written before the rollups existed are counted by the migration that adds them.
#[tokio::test]
async fn migration_backfills_rollups_from_raw_rows() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("trcker.db")).unwrap();
        conn.execute_batch(include_str!("../src/db/migrations/0001_init.sql"))
            .unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO brands (name, created_at) VALUES ('prop', 0);
             INSERT INTO offers (brand_id, name, destination_url, payout_type, payout_minor,
               currency, status, created_at, updated_at)
             VALUES (1, 'a', 'https://example.com/', 'cpa', 250, 'USD', 'active', 0, 0),
                    (1, 'b', 'https://example.com/', 'cpa', 100, 'EUR', 'active', 0, 0);
             INSERT INTO partners (brand_id, name, email, status, created_at, updated_at)
             VALUES (1, 'p', 'p@example.com', 'active', 0, 0);",
        )
        .unwrap();
        for i in 0..200i64 {
            let at = T0 + i * 4_321;
            conn.execute(
                "INSERT INTO clicks (id, brand_id, offer_id, partner_id, created_at, sub1, ip,
                 user_agent, is_unique) VALUES (?1, 1, ?2, 1, ?3, NULL, '10.0.0.1', 'ua', ?4)",
                rusqlite::params![format!("c{i:05}"), 1 + i % 2, at, i % 3 == 0],
            )
            .unwrap();
            if i % 4 == 0 {
                conn.execute(
                    "INSERT INTO conversions (brand_id, click_id, offer_id, partner_id, event,
                     amount_minor, payout_minor, currency, status, occurred_at, created_at,
                     updated_at) VALUES (1, NULL, ?1, 1, 'conversion', ?2, 250, ?3, ?4, ?5, ?5, ?5)",
                    rusqlite::params![
                        1 + i % 2,
                        1000 + i,
                        if i % 2 == 0 { "USD" } else { "EUR" },
                        STATUSES[(i / 4 % 3) as usize],
                        at + 1_000
                    ],
                )
                .unwrap();
            }
        }
    }
    let key = trcker::admin_cli::create_key(dir.path(), "prop", "test")
        .unwrap()
        .key;
    let state = common::state_in(dir.path(), |c| {
        c.rate_limit = 1_000_000;
        c.seal_step_rows = 50;
    });
    let app = App {
        cli: common::client(&state),
        state,
        auth: format!("Bearer {key}"),
        offers: vec![1, 2],
        partners: vec![1],
        brand_id: 1,
    };
    let n: i64 = app
        .state
        .pool
        .get()
        .unwrap()
        .query_row("SELECT COUNT(*) FROM rollups", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0, "the migration filled the rollups");
    // Sub-id reports read the raw rows until the backfill has run, the rollups after it.
    check(
        &app,
        "day,sub1",
        "Asia/Kolkata",
        &date(T0, -1),
        &date(T0, 12),
    )
    .await;
    settled(&app).await;
    check_all(
        &app,
        &[(date(T0, -1), date(T0, 12)), (date(T0, 3), date(T0, 4))],
    )
    .await;
    let writer = app.state.writer.clone();
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .unwrap();
}

/// `trcker seed` writes raw rows and rollups that agree, spread over the days asked for.
#[tokio::test]
async fn seeded_store_reports_equal_raw_aggregation() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now().timestamp();
    let plan = trcker::seed::Plan {
        brand: "seeded".into(),
        clicks: 3_000,
        conversions: 200,
        days: 30,
        offers: 3,
        partners: 4,
        end: now,
        sub_cardinality: 10,
    };
    let mut progress = 0;
    let seeded = trcker::seed::run(dir.path(), &plan, |c, _| progress = c).unwrap();
    assert_eq!((seeded.clicks, seeded.conversions), (3_000, 200));
    assert_eq!(progress, 3_000);
    let key = trcker::admin_cli::create_key(dir.path(), "seeded", "test")
        .unwrap()
        .key;
    let state = common::state_in(dir.path(), |c| {
        c.rate_limit = 1_000_000;
        c.seal_step_rows = 50;
    });
    let app = App {
        cli: common::client(&state),
        state,
        auth: format!("Bearer {key}"),
        offers: seeded.offer_ids.clone(),
        partners: seeded.partner_ids.clone(),
        brand_id: seeded.brand_id,
    };
    let (clicks, conversions): (i64, i64) = app
        .state
        .pool
        .get()
        .unwrap()
        .query_row(
            "SELECT (SELECT COUNT(*) FROM clicks), (SELECT COUNT(*) FROM conversions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((clicks, conversions), (3_000, 200));
    let range = (date(now, -31), date(now, 1));
    for zone in ZONES {
        for g in [
            "day",
            "offer",
            "day,partner",
            "sub1",
            "day,sub1",
            "hour,sub1",
            "offer,sub1",
            "week,partner,sub1",
        ] {
            check(&app, g, zone, &range.0, &range.1).await;
        }
    }
    let writer = app.state.writer.clone();
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .unwrap();
}
