//! The click hot path through the real binary: nothing acknowledged is lost to SIGKILL or
//! SIGTERM, a paused offer stops redirecting at once, and a restart does not count a visitor
//! as unique twice.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::sync::Mutex;

mod common;

use common::binary::{self, Server, create_key as key_for};

/// `trcker serve` on a free loopback port; returns once it listens.
fn start(dir: &Path) -> Server {
    binary::serve(dir)
        .args(&["--rate-limit", "1000000"])
        .start()
}

fn create_key(dir: &Path) -> String {
    key_for(dir, "acme")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .header("Authorization", &self.auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// A new offer and partner; returns their ids.
    async fn offer_and_partner(&self) -> (i64, i64) {
        let o = self
            .send(
                reqwest::Method::POST,
                "/offers",
                Some(
                    json!({"name": "Shoes", "destination_url": "https://shop.example/landing",
                            "payout": 5.0}),
                ),
            )
            .await;
        let p = self
            .send(
                reqwest::Method::POST,
                "/partners",
                Some(json!({"name": "Blog", "email": "blog@example.com"})),
            )
            .await;
        (o["id"].as_i64().unwrap(), p["id"].as_i64().unwrap())
    }
}

async fn click(http: &reqwest::Client, base: &str, offer: i64, partner: i64) -> reqwest::Response {
    http.get(format!("{base}/c/{offer}/{partner}"))
        .header("User-Agent", "hot-path-test")
        .send()
        .await
        .unwrap()
}

fn click_id(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "click_id")
        .map(|(_, v)| v.into_owned())
        .expect("click_id in Location")
}

#[derive(Default)]
struct Acked {
    clicks: Mutex<Vec<String>>,
    conversions: Mutex<Vec<i64>>,
    /// Load tasks still running; all gone before the wanted load means the server died.
    live: AtomicUsize,
}

/// Clicks and conversions from many tasks until `stop`, recording what was acknowledged.
/// Connection errors (the server died) end a task.
async fn drive(
    base: &str,
    auth: &str,
    offer: i64,
    partner: i64,
    stop: Arc<AtomicBool>,
) -> Arc<Acked> {
    let acked = Arc::new(Acked::default());
    let http = client();
    let mut tasks = Vec::new();
    acked.live.store(24, Ordering::SeqCst);
    for t in 0..24 {
        let (http, base, auth, acked, stop) = (
            http.clone(),
            base.to_string(),
            auth.to_string(),
            acked.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                if t % 4 == 0 {
                    let r = http
                        .post(format!("{base}/api/v1/conversions"))
                        .header("Authorization", &auth)
                        .json(&json!({"offer_id": offer, "partner_id": partner,
                                      "transaction_id": format!("t{t}-{n}")}))
                        .send()
                        .await;
                    let Ok(r) = r else { break };
                    if r.status() == 201 {
                        let Ok(v) = r.json::<Value>().await else {
                            break;
                        };
                        acked
                            .conversions
                            .lock()
                            .await
                            .push(v["id"].as_i64().unwrap());
                    }
                } else {
                    let r = http.get(format!("{base}/c/{offer}/{partner}")).send().await;
                    let Ok(r) = r else { break };
                    if r.status() == 302 {
                        let loc = r.headers()["location"].to_str().unwrap().to_string();
                        acked.clicks.lock().await.push(click_id(&loc));
                    }
                }
            }
            acked.live.fetch_sub(1, Ordering::SeqCst);
        }));
    }
    // Hand the tasks to the caller through `acked`; they end on `stop` or a dead server.
    tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
    acked
}

async fn wait_for(acked: &Acked, clicks: usize, conversions: usize) {
    loop {
        let (c, v) = (
            acked.clicks.lock().await.len(),
            acked.conversions.lock().await.len(),
        );
        if c >= clicks && v >= conversions {
            return;
        }
        assert!(
            acked.live.load(Ordering::SeqCst) > 0,
            "the server stopped answering after {c} clicks and {v} conversions"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every acknowledged row is in the database, it is intact, and the rollups match the raw rows.
fn assert_durable(dir: &Path, clicks: &[String], conversions: &[i64]) {
    let conn = rusqlite::Connection::open(dir.join("trcker.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let stored: HashSet<String> = conn
        .prepare("SELECT id FROM clicks")
        .unwrap()
        // Stored as the ULID's 16 bytes.
        .query_map([], |r| {
            let b: Vec<u8> = r.get(0)?;
            Ok(trcker::domain::click::id_text(&b).unwrap())
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let missing = clicks.iter().filter(|c| !stored.contains(*c)).count();
    assert_eq!(missing, 0, "acknowledged clicks lost (of {})", clicks.len());
    let stored: HashSet<i64> = conn
        .prepare("SELECT id FROM conversions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let missing = conversions.iter().filter(|c| !stored.contains(*c)).count();
    assert_eq!(
        missing,
        0,
        "acknowledged conversions lost (of {})",
        conversions.len()
    );
    for span in [900, 3600, 21_600, 86_400] {
        let (rc, rv): (i64, i64) = conn
            .query_row(
                "SELECT COALESCE(SUM(clicks), 0), COALESCE(SUM(conversions + pending_conversions
                 + rejected_conversions), 0) FROM rollups WHERE span = ?1",
                [span],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let raw_c: i64 = conn
            .query_row("SELECT COUNT(*) FROM clicks", [], |r| r.get(0))
            .unwrap();
        let raw_v: i64 = conn
            .query_row("SELECT COUNT(*) FROM conversions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            (rc, rv),
            (raw_c, raw_v),
            "rollups of span {span} match raw rows"
        );
    }
}

async fn setup(dir: &Path) -> (Server, Api, i64, i64) {
    let key = create_key(dir);
    let server = start(dir);
    let api = Api {
        http: client(),
        base: server.base.clone(),
        auth: format!("Bearer {key}"),
    };
    let (offer, partner) = api.offer_and_partner().await;
    (server, api, offer, partner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, api, offer, partner) = setup(dir.path()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = drive(&server.base, &api.auth, offer, partner, stop.clone()).await;
    wait_for(&acked, 3_000, 300).await;
    server.child.kill().unwrap(); // SIGKILL, mid-load
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    // Late answers can't arrive any more; take what was acknowledged.
    let clicks = acked.clicks.lock().await.clone();
    let conversions = acked.conversions.lock().await.clone();
    drop(server);

    let restarted = start(dir.path());
    assert_durable(dir.path(), &clicks, &conversions);
    let api = Api {
        base: restarted.base.clone(),
        ..api
    };
    // The restarted server serves the recovered rows.
    let v = api
        .send(
            reqwest::Method::GET,
            &format!("/conversions/{}", conversions[0]),
            None,
        )
        .await;
    assert_eq!(v["id"].as_i64(), Some(conversions[0]));
    restarted.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, offer, partner) = setup(dir.path()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = drive(&server.base, &api.auth, offer, partner, stop.clone()).await;
    wait_for(&acked, 1_000, 100).await;
    server.stop(); // SIGTERM while requests are in flight; exits 0
    stop.store(true, Ordering::Relaxed);
    let clicks = acked.clicks.lock().await.clone();
    let conversions = acked.conversions.lock().await.clone();
    assert_durable(dir.path(), &clicks, &conversions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_offer_and_blocked_partner_stop_redirecting_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, offer, partner) = setup(dir.path()).await;
    let http = client();
    assert_eq!(
        click(&http, &server.base, offer, partner).await.status(),
        302
    );
    let patch = |path: String, body: Value| {
        let api = &api;
        async move { api.send(reqwest::Method::PATCH, &path, Some(body)).await }
    };
    patch(format!("/offers/{offer}"), json!({"status": "paused"})).await;
    assert_eq!(
        click(&http, &server.base, offer, partner).await.status(),
        404
    );
    patch(format!("/offers/{offer}"), json!({"status": "active"})).await;
    assert_eq!(
        click(&http, &server.base, offer, partner).await.status(),
        302
    );
    patch(format!("/partners/{partner}"), json!({"status": "blocked"})).await;
    assert_eq!(
        click(&http, &server.base, offer, partner).await.status(),
        404
    );
    // Refused clicks are not recorded.
    let report = api
        .send(reqwest::Method::GET, "/reports?group_by=offer", None)
        .await;
    assert_eq!(report["totals"][0]["clicks"], 2);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_does_not_count_a_visitor_unique_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, offer, partner) = setup(dir.path()).await;
    let http = client();
    assert_eq!(
        click(&http, &server.base, offer, partner).await.status(),
        302
    );
    assert_eq!(
        click(&http, &server.base, offer, partner).await.status(),
        302
    );
    server.stop();

    let server = start(dir.path());
    let api = Api {
        base: server.base.clone(),
        ..api
    };
    assert_eq!(
        click(&http, &server.base, offer, partner).await.status(),
        302
    );
    // Another visitor (user agent) is unique.
    let r = http
        .get(format!("{}/c/{offer}/{partner}", server.base))
        .header("User-Agent", "someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let report = api
        .send(reqwest::Method::GET, "/reports?group_by=offer", None)
        .await;
    assert_eq!(report["totals"][0]["clicks"], 4);
    assert_eq!(report["totals"][0]["unique_clicks"], 2);
    server.stop();
}

/// A visitor seen before a kill -9 is not unique after it: one seen before a graceful stop
/// comes back from the saved window, one seen after it from the clicks replayed since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_does_not_count_a_visitor_unique_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api, offer, partner) = setup(dir.path()).await;
    let http = client();
    let visit = async |base: &str, ua: &str| {
        let r = http
            .get(format!("{base}/c/{offer}/{partner}"))
            .header("User-Agent", ua)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
    };
    visit(&server.base, "before-the-stop").await;
    // Older than the replay's margin at the stop: only the saved window can know this visitor.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    server.stop();
    assert!(
        dir.path().join("unique-window.bin").exists(),
        "saved at the stop"
    );

    let mut server = start(dir.path());
    visit(&server.base, "after-the-stop").await;
    // No graceful stop: the window is rebuilt from the saved one and what was committed since.
    server.kill9();

    let server = start(dir.path());
    let api = Api {
        base: server.base.clone(),
        ..api
    };
    visit(&server.base, "before-the-stop").await;
    visit(&server.base, "after-the-stop").await;
    visit(&server.base, "someone-new").await;
    let report = api
        .send(reqwest::Method::GET, "/reports?group_by=offer", None)
        .await;
    assert_eq!(report["totals"][0]["clicks"], 5);
    assert_eq!(report["totals"][0]["unique_clicks"], 3);
    server.stop();
}
