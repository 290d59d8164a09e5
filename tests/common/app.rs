//! The real app in-process over a throwaway data dir: through poem's `TestClient`, or served
//! on a real loopback listener.

use poem::endpoint::BoxEndpoint;
use poem::test::TestClient;
use poem::{EndpointExt, Response};
use std::net::SocketAddr;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;
use trcker::{AppState, Config};

pub type Client = TestClient<BoxEndpoint<'static, Response>>;

pub struct TestApp {
    pub cli: Client,
    pub state: AppState,
    pub dir: TempDir,
}

/// The configuration for `dir`, adjusted by `tweak` (nothing else changed).
pub fn config_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::for_data_dir(dir.to_path_buf());
    tweak(&mut config);
    config
}

/// The app state over `dir`, configured by `tweak`.
pub fn state_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> AppState {
    AppState::open(config_in(dir, tweak)).expect("app state")
}

/// A test client over the real app for `state`.
pub fn client(state: &AppState) -> Client {
    TestClient::new(trcker::build_app(state.clone()).map_to_response().boxed())
}

pub fn app() -> TestApp {
    app_with_limit(10_000)
}

pub fn app_with_limit(rate_limit: u32) -> TestApp {
    app_with(|c| c.rate_limit = rate_limit)
}

/// The app with a configuration adjusted by `tweak` (the rate limit raised to 10,000 first).
pub fn app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    open_in(tempfile::tempdir().expect("temp dir"), |c| {
        c.rate_limit = 10_000;
        tweak(c)
    })
}

/// The app over an existing data dir, its configuration the default adjusted by `tweak`.
pub fn open_in(dir: TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let state = state_in(dir.path(), tweak);
    TestApp {
        cli: client(&state),
        state,
        dir,
    }
}

/// The real server in-process (`trcker::serve`) on a random loopback port; stopped (gracefully)
/// by `stop` or on drop.
pub struct Served {
    pub addr: SocketAddr,
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Served {
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn serve(state: AppState) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(trcker::serve(state, listener, async move {
        let _ = stopped.await;
    }));
    Served {
        addr,
        base: format!("http://{addr}"),
        stop: Some(stop),
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: poem::http::HeaderMap,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

async fn answer(resp: poem::test::TestResponse) -> Answer {
    let status = resp.0.status().as_u16();
    let headers = resp.0.headers().clone();
    let bytes = resp.0.into_body().into_bytes().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
    }
}

impl TestApp {
    /// A key for `brand`, created the way `trcker keys create` does.
    pub fn key(&self, brand: &str) -> String {
        trcker::admin_cli::create_key(self.dir.path(), brand, "test")
            .expect("key")
            .key
    }

    pub async fn get(&self, key: &str, path: &str) -> Answer {
        answer(
            self.cli
                .get(path)
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await,
        )
        .await
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> Answer {
        answer(
            self.cli
                .post(path)
                .header("Authorization", format!("Bearer {key}"))
                .body_json(&body)
                .send()
                .await,
        )
        .await
    }

    pub async fn patch(&self, key: &str, path: &str, body: Value) -> Answer {
        answer(
            self.cli
                .patch(path)
                .header("Authorization", format!("Bearer {key}"))
                .body_json(&body)
                .send()
                .await,
        )
        .await
    }

    pub async fn delete(&self, key: &str, path: &str) -> Answer {
        answer(
            self.cli
                .delete(path)
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await,
        )
        .await
    }

    pub async fn raw(
        &self,
        req: poem::test::TestRequestBuilder<'_, BoxEndpoint<'static, Response>>,
    ) -> Answer {
        answer(req.send().await).await
    }

    /// An offer and a partner of the key's brand; returns their ids.
    pub async fn offer_and_partner(&self, key: &str, offer: Value) -> (i64, i64) {
        let o = self.post(key, "/api/v1/offers", offer).await;
        assert_eq!(o.status, 201, "{}", o.json);
        let email = format!("p{}@example.com", o.json["id"]);
        let p = self
            .post(
                key,
                "/api/v1/partners",
                serde_json::json!({"name": "P", "email": email}),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.json);
        (
            o.json["id"].as_i64().unwrap(),
            p.json["id"].as_i64().unwrap(),
        )
    }

    /// Hit a tracking link; returns (status, Location).
    pub async fn click(&self, path: &str) -> (u16, Option<String>) {
        let resp = self
            .cli
            .get(path)
            .header("User-Agent", "test-agent")
            .send()
            .await;
        let loc = resp
            .0
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        (resp.0.status().as_u16(), loc)
    }

    /// The click id a redirect carried in `click_id=`.
    pub async fn click_id(&self, path: &str) -> String {
        let (status, loc) = self.click(path).await;
        assert_eq!(status, 302);
        let loc = loc.unwrap();
        let url = url::Url::parse(&loc).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "click_id")
            .map(|(_, v)| v.to_string())
            .expect("click_id in Location")
    }

    /// The id of the brand named `name`.
    pub fn brand_id(&self, name: &str) -> i64 {
        let conn = self.state.pool.get().unwrap();
        conn.query_row("SELECT id FROM brands WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .unwrap()
    }

    /// Record `click` through the writer, as the redirect handler does, but at the time and
    /// with the visitor the test chooses.
    pub async fn record_click(&self, click: trcker::domain::click::ClickRow) {
        assert!(self.state.writer.submit_click(click).await.is_ok());
    }

    pub fn count(&self, sql: &str) -> i64 {
        let conn = self.state.pool.get().unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

pub fn offer_body(name: &str) -> Value {
    serde_json::json!({"name": name, "destination_url": "https://shop.example.com/l?x=1", "payout": 12.5})
}

/// A click of `brand_id` on `offer`/`partner` (USD) at `at`, with `id` and sub1; the visitor
/// and the rest fixed (`203.0.113.9`, `agent/1`, no referer, unique).
pub fn click_row(
    brand_id: i64,
    (offer, partner): (i64, i64),
    id: &str,
    at: i64,
    sub1: Option<&str>,
) -> trcker::domain::click::ClickRow {
    trcker::domain::click::ClickRow {
        id: id.to_string(),
        brand_id: brand_id.into(),
        offer_id: offer,
        partner_id: partner,
        currency: "USD".into(),
        created_at: at,
        subs: [sub1.map(String::from), None, None, None, None],
        ip: "203.0.113.9".into(),
        user_agent: "agent/1".into(),
        referer: None,
        is_unique: true,
        visitor: 0,
    }
}

/// Every stored click of every brand, as the store reads them back (text ids, IPs, user
/// agents and referers), newest first: the clicks table itself holds bytes and dictionary ids.
pub fn stored_clicks(conn: &rusqlite::Connection) -> Vec<trcker::domain::click::Click> {
    let brands: Vec<i64> = conn
        .prepare("SELECT id FROM brands ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for b in brands {
        let page = trcker::store::clicks::list(
            conn,
            b.into(),
            &trcker::store::clicks::Filter::default(),
            None,
            1_000_000,
        )
        .unwrap();
        out.extend(page.rows);
    }
    out
}
