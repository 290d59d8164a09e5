//! The real binary as a process on a random loopback port, keyed by `trcker keys create`.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

mod common;

use common::binary::{self, BIN, Server};

/// Start `trcker serve` on port 0 (data dir by `TRCKER_DATA_DIR`); checks its start-up line.
fn start(data_dir: &std::path::Path, extra: &[&str]) -> Server {
    let server = binary::serve(data_dir).dir_by_env().args(extra).start();
    let line = server
        .wait_for_line(|l| l.contains("listening on"))
        .unwrap();
    assert!(
        line.contains(&data_dir.display().to_string()),
        "says where the data lives: {line}"
    );
    assert!(line.contains("/docs"), "says where the docs are: {line}");
    server
}

fn create_key(data_dir: &std::path::Path, brand: &str) -> (String, String) {
    binary::create_key_with(std::path::Path::new(BIN), data_dir, brand, "e2e")
}

/// The schema version and the rows the store holds.
fn schema_and_rows(db: &std::path::Path) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version), \
         (SELECT COUNT(*) FROM clicks), (SELECT COUNT(*) FROM conversions)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[tokio::test]
async fn real_binary_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let server = start(&data, &["--rate-limit", "1000"]);
    assert!(
        data.join("trcker.db").exists(),
        "database and directories created on first start"
    );

    // A key made by the CLI while the server runs is accepted at once.
    let (key, stderr) = create_key(&data, "E2E Brand");
    assert!(key.starts_with("trk_") && key.len() >= 36, "{key}");
    assert!(stderr.contains("created brand"), "{stderr}");
    let (_, stderr2) = create_key(&data, "E2E Brand");
    assert!(
        !stderr2.contains("created brand"),
        "existing brand is reused"
    );

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = |p: &str| format!("{}/api/v1{p}", server.base);
    // One authenticated call: (status, JSON body).
    let call = async |req: reqwest::RequestBuilder| -> (u16, Value) {
        let resp = req.bearer_auth(&key).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    };
    let (_, health) = call(http.get(format!("{}/healthz", server.base))).await;
    assert_eq!(health, json!({"status": "ok"}));

    let (s, offer) = call(http.post(api("/offers")).json(&json!({
        "name": "E2E", "destination_url": "https://shop.example.com/?c={click_id}", "payout": 4.2
    })))
    .await;
    assert_eq!(s, 201);
    let (s, partner) = call(
        http.post(api("/partners"))
            .json(&json!({"name": "P", "email": "p@example.com"})),
    )
    .await;
    assert_eq!(s, 201);
    let click = http
        .get(format!(
            "{}/c/{}/{}?sub1=e2e",
            server.base, offer["id"], partner["id"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status().as_u16(), 302);
    let loc = click.headers()["location"].to_str().unwrap().to_string();
    let cid = loc.split("c=").nth(1).unwrap().to_string();
    let (s, _) = call(
        http.post(api("/conversions"))
            .json(&json!({"click_id": cid, "transaction_id": "e2e-1"})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, report) = call(http.get(api("/reports?group_by=offer"))).await;
    assert_eq!(report["data"][0]["clicks"], 1);
    assert_eq!(report["data"][0]["conversions"], 1);
    assert_eq!(report["data"][0]["payout"], 4.2);

    let spec = http
        .get(api("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    assert_eq!(spec.trim_end(), committed.trim_end());

    // SIGTERM: a graceful stop with exit status 0.
    let mut server = server;
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut waited = 0;
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        waited += 1;
        assert!(waited < 200, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");

    // Everything acknowledged is there after a restart, and the schema is not re-applied.
    let before = schema_and_rows(&data.join("trcker.db"));
    assert_eq!(
        before,
        (trcker::db::latest_version() as i64, 1, 1),
        "every migration applied, one click and one conversion"
    );
    let server = start(&data, &[]);
    let list: Value = http
        .get(format!("{}/api/v1/conversions", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["click_id"], cid.as_str());
    server.stop();
    assert_eq!(
        schema_and_rows(&data.join("trcker.db")),
        before,
        "the restart changed neither the schema version nor the rows"
    );
}

#[test]
fn cli_help_and_spec() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["keys", "create", "--help"],
        vec!["openapi", "--help"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage"), "{args:?}: {text}");
    }
    let serve_help = String::from_utf8(
        Command::new(BIN)
            .args(["serve", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for flag in [
        "--addr",
        "--data-dir",
        "--rate-limit",
        "TRCKER_ADDR",
        "TRCKER_DATA_DIR",
        "TRCKER_RATE_LIMIT",
        "127.0.0.1:8080",
    ] {
        assert!(serve_help.contains(flag), "serve --help mentions {flag}");
    }
    let spec = Command::new(BIN).arg("openapi").output().unwrap();
    let committed =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    assert_eq!(
        spec.stdout, committed,
        "`trcker openapi` prints the committed spec"
    );
    let bad = Command::new(BIN)
        .args(["serve", "--rate-limit", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// An authenticated JSON call against a running server: (status, body).
async fn call_json(
    http: &reqwest::Client,
    key: &str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test]
async fn held_conversions_are_approved_once_by_the_server_also_after_it_was_down() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start(&data, &["--rate-limit", "100000"]);
    let (key, _) = create_key(&data, "Acme");
    let http = reqwest::Client::new();
    let api = |base: &str, p: &str| format!("{base}/api/v1{p}");
    use reqwest::Method;
    let (s, offer) = call_json(&http, &key, Method::POST, api(&server.base, "/offers"),
        Some(json!({"name": "Held", "destination_url": "https://shop.example/", "payout": 5, "hold_days": 1}))).await;
    assert_eq!(s, 201, "{offer}");
    let (s, partner) = call_json(
        &http,
        &key,
        Method::POST,
        api(&server.base, "/partners"),
        Some(json!({"name": "P", "email": "p@example.com"})),
    )
    .await;
    assert_eq!(s, 201);
    let now = chrono::Utc::now().timestamp();
    // Holds ending 3 s from now (one left alone, one a person changes) and a day from now.
    let post = async |occurred: i64| {
        let (s, c) = call_json(&http, &key, Method::POST, api(&server.base, "/conversions"),
            Some(json!({"offer_id": offer["id"], "partner_id": partner["id"], "occurred_at": rfc3339(occurred)}))).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["status"], "pending");
        c["id"].as_i64().unwrap()
    };
    let due = post(now - 86_400 + 3).await;
    let decided = post(now - 86_400 + 3).await;
    let later = post(now).await;
    for to in ["rejected", "pending"] {
        let (s, _) = call_json(
            &http,
            &key,
            Method::PATCH,
            api(&server.base, &format!("/conversions/{decided}")),
            Some(json!({"status": to})),
        )
        .await;
        assert_eq!(s, 200);
    }
    server.stop();
    // The holds end while no server runs.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let server = start(&data, &["--rate-limit", "100000"]);
    let get = async |id: i64| {
        call_json(
            &http,
            &key,
            Method::GET,
            api(&server.base, &format!("/conversions/{id}")),
            None,
        )
        .await
        .1
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while get(due).await["status"] != "approved" {
        assert!(
            std::time::Instant::now() < deadline,
            "the hold was not released within a minute"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, h) = call_json(
        &http,
        &key,
        Method::GET,
        api(&server.base, &format!("/conversions/{due}/history")),
        None,
    )
    .await;
    let actors: Vec<&str> = h["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        ["key:e2e", "system:hold"],
        "approved once, by the hold"
    );
    assert_eq!(
        get(decided).await["status"],
        "pending",
        "a person's decision ends the hold"
    );
    assert_eq!(
        get(later).await["status"],
        "pending",
        "its hold has a day to run"
    );
    // Exactly once, also after another restart.
    server.stop();
    let server = start(&data, &["--rate-limit", "100000"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, h) = call_json(
        &http,
        &key,
        Method::GET,
        api(&server.base, &format!("/conversions/{due}/history")),
        None,
    )
    .await;
    assert_eq!(h["data"].as_array().unwrap().len(), 2);
    server.stop();
}

#[tokio::test]
async fn every_conversion_acknowledged_before_a_kill_9_has_its_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data, &["--rate-limit", "1000000"]);
    let (key, _) = create_key(&data, "Acme");
    let http = reqwest::Client::new();
    use reqwest::Method;
    let api = |p: &str| format!("{}/api/v1{p}", server.base);
    let (_, offer) = call_json(
        &http,
        &key,
        Method::POST,
        api("/offers"),
        Some(json!({"name": "O", "destination_url": "https://shop.example/", "payout": 5})),
    )
    .await;
    let (_, partner) = call_json(
        &http,
        &key,
        Method::POST,
        api("/partners"),
        Some(json!({"name": "P", "email": "p@example.com"})),
    )
    .await;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, key, acked, url) = (
            http.clone(),
            key.clone(),
            acked.clone(),
            api("/conversions"),
        );
        let body = json!({"offer_id": offer["id"], "partner_id": partner["id"]});
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok(resp) = http.post(&url).bearer_auth(&key).json(&body).send().await else {
                    break;
                };
                if resp.status() != 201 {
                    break;
                }
                let Ok(c) = resp.json::<Value>().await else {
                    break;
                };
                acked.lock().unwrap().push(c["id"].as_i64().unwrap());
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 100,
        "under load: {} acknowledged",
        acked.len()
    );
    let server = start(&data, &["--rate-limit", "1000000"]);
    let mut seen = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let (s, page) = call_json(
            &http,
            &key,
            Method::GET,
            format!("{}/api/v1/events?after={after}&limit=100", server.base),
            None,
        )
        .await;
        assert_eq!(s, 200);
        for e in page["data"].as_array().unwrap() {
            assert!(e["id"].as_i64().unwrap() > after, "ids increase");
            after = e["id"].as_i64().unwrap();
            if e["type"] == "conversion.created" {
                seen.insert(e["data"]["id"].as_i64().unwrap());
            }
        }
        if page["has_more"] != true {
            break;
        }
    }
    let missing: Vec<&i64> = acked.iter().filter(|id| !seen.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged conversions have no event: {missing:?}",
        missing.len()
    );
    server.stop();
}
