//! Migration 0011 (the compact click layout) on stores of the old layout, through the real
//! binary: the clicks API gives back the very same values after it, a kill -9 in the middle
//! loses and duplicates nothing, and the unique-click window survives a kill.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::binary::{self, BIN};

/// The schema before 0011, as the binaries before it created it.
const OLD: [&str; 10] = [
    include_str!("../src/db/migrations/0001_init.sql"),
    include_str!("../src/db/migrations/0002_rollups.sql"),
    include_str!("../src/db/migrations/0003_health.sql"),
    include_str!("../src/db/migrations/0004_brand_timezone.sql"),
    include_str!("../src/db/migrations/0005_lifecycle.sql"),
    include_str!("../src/db/migrations/0006_events.sql"),
    include_str!("../src/db/migrations/0007_conversions_partner.sql"),
    include_str!("../src/db/migrations/0008_conversions_offer.sql"),
    include_str!("../src/db/migrations/0009_ledger.sql"),
    include_str!("../src/db/migrations/0010_conversions_payable.sql"),
];

/// One click as the old layout held it (and as the API must show it).
#[derive(Debug, Clone)]
struct Old {
    id: String,
    offer: i64,
    partner: i64,
    at: i64,
    subs: [Option<String>; 5],
    ip: String,
    ua: String,
    referer: Option<String>,
    unique: bool,
}

/// A data dir at schema 10 with brand "Old", offer 1 and partner 1, and `clicks`.
fn old_store(dir: &Path, clicks: &[Old]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut conn = rusqlite::Connection::open(dir.join("trcker.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    for sql in OLD {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 10).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute_batch(
        "INSERT INTO brands (id, name, created_at) VALUES (1, 'Old', 0);
         INSERT INTO offers (id, brand_id, name, destination_url, payout_type, payout_minor,
           currency, status, created_at, updated_at)
         VALUES (1, 1, 'O', 'https://shop.example/?c={click_id}', 'cpa', 500, 'USD', 'active', 0, 0);
         INSERT INTO partners (id, brand_id, name, email, status, created_at, updated_at)
         VALUES (1, 1, 'P', 'p@example.com', 'active', 0, 0);",
    )
    .unwrap();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO clicks (id, brand_id, offer_id, partner_id, created_at, sub1, sub2,
                 sub3, sub4, sub5, ip, user_agent, referer, is_unique)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .unwrap();
        for c in clicks {
            ins.execute(rusqlite::params![
                c.id, c.offer, c.partner, c.at, c.subs[0], c.subs[1], c.subs[2], c.subs[3],
                c.subs[4], c.ip, c.ua, c.referer, c.unique
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

/// `n` ordinary clicks, one every 7 seconds from `start`, ids as the old server made them.
fn bulk(n: usize, start: i64) -> Vec<Old> {
    (0..n)
        .map(|i| {
            let at = start + 7 * i as i64;
            let ms = at as u64 * 1000 + (i as u64 % 1000);
            Old {
                id: ulid::Ulid::from_parts(ms, (i as u128) << 40 | 0xabcdef).to_string(),
                offer: 1,
                partner: 1,
                at,
                subs: [Some(format!("s{}", i % 10)), None, None, None, None],
                ip: format!("10.0.{}.{}", (i / 250) % 250, i % 250),
                ua: format!("agent/{}", i % 13),
                referer: (i % 3 == 0).then(|| format!("https://ref.example/{}", i % 7)),
                unique: i % 2 == 0,
            }
        })
        .collect()
}

/// Clicks the compact layout has to store in its fallbacks.
fn odd_ones(now: i64) -> Vec<Old> {
    let base = Old {
        id: String::new(),
        offer: 1,
        partner: 1,
        at: now - 100,
        subs: [None, None, None, None, None],
        ip: "203.0.113.9".into(),
        ua: "Mozilla/5.0 caf\u{FFFD} 日本".into(),
        referer: None,
        unique: true,
    };
    let ulid_at = |s: i64, ms: u64| ulid::Ulid::from_parts(s as u64 * 1000 + ms, 77).to_string();
    vec![
        // Timed a second after its id's millisecond (the old server read the clock twice).
        Old {
            id: ulid_at(now - 200, 999),
            at: now - 199,
            subs: [
                Some("a,b".into()),
                Some("\"q\"".into()),
                None,
                None,
                Some("x".into()),
            ],
            ..base.clone()
        },
        // Not a ULID at all.
        Old {
            id: "legacy-id-1".into(),
            at: now - 150,
            ip: "2001:DB8::1".into(),
            ..base.clone()
        },
        Old {
            id: ulid_at(now - 120, 5),
            at: now - 120,
            ip: "2001:db8::1".into(),
            ua: String::new(),
            referer: Some("https://ref.example/café?q=日本".into()),
            ..base.clone()
        },
        Old {
            id: ulid_at(now - 110, 6),
            at: now - 110,
            ip: String::new(),
            ..base.clone()
        },
        Old {
            id: ulid_at(now - 100, 7),
            at: now - 100,
            ip: "::ffff:192.0.2.1".into(),
            ..base.clone()
        },
    ]
}

fn as_api(c: &Old) -> Value {
    json!({
        "id": c.id,
        "offer_id": c.offer,
        "partner_id": c.partner,
        "created_at": trcker::domain::time::to_rfc3339(c.at),
        "sub1": c.subs[0], "sub2": c.subs[1], "sub3": c.subs[2], "sub4": c.subs[3],
        "sub5": c.subs[4],
        "ip": c.ip,
        "user_agent": c.ua,
        "referer": c.referer,
        "unique": c.unique,
    })
}

fn sqlite(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("trcker.db")).unwrap()
}

fn version(dir: &Path) -> i64 {
    sqlite(dir)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn the_clicks_api_answers_the_same_after_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let now = trcker::domain::time::now();
    let mut old = bulk(1_200, now - 86_400);
    old.extend(odd_ones(now));
    old_store(&data, &old);

    let mut server = binary::serve(&data)
        .env("TRCKER_LOG", "info")
        .args(&["--rate-limit", "100000"])
        .capture_stderr()
        .start();
    assert_eq!(version(&data), trcker::db::latest_version() as i64);
    let key = server.key("Old");
    let http = reqwest::Client::new();
    let get = async |path: &str| -> (u16, String) {
        let r = http
            .get(format!("{}/api/v1{path}", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };

    // Every click by id, exactly as stored before.
    for c in &old {
        let (s, body) = get(&format!("/clicks/{}", c.id)).await;
        assert_eq!(s, 200, "{c:?}: {body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), as_api(c));
    }
    // The list, page by page, newest first by (created_at, id).
    let mut want = old.clone();
    want.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/clicks?limit=100&cursor={c}"),
            None => "/clicks?limit=100".into(),
        };
        let (s, body) = get(&q).await;
        assert_eq!(s, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        got.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let want_json: Vec<Value> = want.iter().map(as_api).collect();
    assert_eq!(got.len(), want_json.len());
    assert_eq!(got, want_json);
    // Filters and time bounds.
    let (s, body) = get("/clicks?sub1=s3&limit=100").await;
    assert_eq!(s, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let s3: Vec<&Value> = want_json
        .iter()
        .filter(|c| c["sub1"] == "s3")
        .take(100)
        .collect();
    assert_eq!(
        page["data"].as_array().unwrap().iter().collect::<Vec<_>>(),
        s3
    );
    let from = trcker::domain::time::to_rfc3339(now - 200);
    let (s, body) = get(&format!("/clicks?from={from}&limit=100")).await;
    assert_eq!(s, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let recent: Vec<&Value> = want
        .iter()
        .zip(&want_json)
        .filter(|(c, _)| c.at >= now - 200)
        .map(|(_, j)| j)
        .collect();
    assert_eq!(
        page["data"].as_array().unwrap().iter().collect::<Vec<_>>(),
        recent
    );
    // CSV: one record per click, in the same order.
    let (s, text) = get("/clicks?format=csv").await;
    assert_eq!(s, 200);
    let records = csv::Reader::from_reader(text.as_bytes()).records().count();
    assert_eq!(records, old.len());
    assert!(
        text.contains("legacy-id-1") && text.contains("2001:DB8::1"),
        "{text}"
    );

    // A postback naming a migrated click is credited to it, the odd ones too.
    for c in old.iter().rev().take(5) {
        let r = http
            .post(format!("{}/api/v1/conversions", server.base))
            .bearer_auth(&key)
            .json(&json!({"click_id": c.id, "amount": 10}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{c:?}: {body}");
        assert_eq!(body["sub1"], json!(c.subs[0]), "{body}");
    }
    server.sigterm();
    let logs = server.stderr();
    assert!(
        logs.contains("migration 0011") && logs.contains("1205 clicks in the compact layout"),
        "{logs}"
    );

    // The old table is gone; the store holds each click once.
    let conn = sqlite(&data);
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'clicks_old'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(common::stored_clicks(&conn).len(), old.len());
}

/// Run `trcker serve` on `data` without waiting for it: the migration runs before it listens.
fn spawn_serve(data: &Path) -> std::process::Child {
    Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("TRCKER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// (rows in the new table, rows left in the old one), read beside the migration.
fn progress(data: &Path) -> Option<(i64, i64)> {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("trcker.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    conn.busy_timeout(Duration::from_secs(1)).ok()?;
    conn.query_row(
        "SELECT (SELECT count(*) FROM clicks), (SELECT count(*) FROM clicks_old)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

#[tokio::test]
async fn a_migration_killed_at_any_moment_resumes_with_every_click_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let now = trcker::domain::time::now();
    let total = 150_000;
    let mut old = bulk(total, now - 30 * 86_400);
    old.extend(odd_ones(now));
    old_store(&data, &old);

    // Kill it three times, each as soon as more rows have moved (mid-batch, at a moment the
    // test does not choose), then let it finish.
    let mut last_moved = 0;
    let mut kills = 0;
    for _ in 0..3 {
        let mut child = spawn_serve(&data);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(Instant::now() < deadline, "no progress");
            if let Some((moved, left)) = progress(&data)
                && moved > last_moved
                && left > 0
            {
                assert_eq!(
                    moved + left,
                    old.len() as i64,
                    "every click in one table or the other"
                );
                last_moved = moved;
                break;
            }
            if version(&data) >= 11 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        if version(&data) >= 11 {
            break;
        }
    }
    assert!(kills >= 1 && last_moved > 0, "killed mid-migration");
    assert!(version(&data) < 11, "the kills came before the end");

    let mut server = binary::serve(&data)
        .env("TRCKER_LOG", "info")
        .capture_stderr()
        .start();
    assert_eq!(version(&data), trcker::db::latest_version() as i64);
    server.sigterm();
    let logs = server.stderr();
    assert!(logs.contains("migration 0011: moving clicks"), "{logs}");
    let conn = sqlite(&data);
    let stored = common::stored_clicks(&conn);
    assert_eq!(stored.len(), old.len(), "nothing lost or duplicated");
    let mut ids: Vec<&str> = stored.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), old.len());
    let mut want: Vec<&str> = old.iter().map(|c| c.id.as_str()).collect();
    want.sort();
    assert_eq!(ids, want);
    // And each as it was.
    let by_id: std::collections::HashMap<&str, &trcker::domain::click::Click> =
        stored.iter().map(|c| (c.id.as_str(), c)).collect();
    for c in &old {
        let s = by_id[c.id.as_str()];
        assert_eq!(
            (
                s.created_at,
                &s.ip,
                &s.user_agent,
                &s.referer,
                &s.subs,
                s.is_unique
            ),
            (c.at, &c.ip, &c.ua, &c.referer, &c.subs, c.unique),
            "{c:?}"
        );
    }
}

/// `trcker serve` and `trcker keys create` started together on a new store (CI's clients step
/// does exactly that) both run the migrations, 0011's batches included: neither may fail,
/// whichever of them finishes 0011 first. (The race is narrow: a round hits it only now and
/// then, so there are many rounds.)
#[test]
fn a_new_store_opened_by_two_processes_at_once_is_migrated_by_either() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut server = binary::trcker(Path::new(BIN))
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let keys = binary::trcker(Path::new(BIN))
            .args([
                "keys",
                "create",
                "--brand",
                "Race",
                "--name",
                "k",
                "--data-dir",
            ])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            keys.status.success(),
            "round {round}: keys create beside a starting server: {}",
            String::from_utf8_lossy(&keys.stderr)
        );
        // The store is current now (keys create migrated it, or saw it done); the server got
        // past its own migrations too if it is still running a moment later.
        std::thread::sleep(Duration::from_millis(500));
        let exited = server.try_wait().unwrap();
        let _ = server.kill();
        let out = server.wait_with_output().unwrap();
        assert!(
            exited.is_none(),
            "round {round}: the server stopped: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
