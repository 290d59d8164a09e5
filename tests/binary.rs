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
