//! Shared test harness: the real app in-process over a throwaway data dir.
#![allow(
    dead_code,
    reason = "each test binary includes this module and uses only part of it"
)]

use poem::endpoint::BoxEndpoint;
use poem::test::TestClient;
use poem::{EndpointExt, Response};
use serde_json::Value;
use tempfile::TempDir;
use trcker::{AppState, Config};

pub struct TestApp {
    pub cli: TestClient<BoxEndpoint<'static, Response>>,
    pub state: AppState,
    pub dir: TempDir,
}

pub fn app() -> TestApp {
    app_with_limit(10_000)
}

pub fn app_with_limit(rate_limit: u32) -> TestApp {
    app_with(|c| c.rate_limit = rate_limit)
}

/// The app with a configuration adjusted by `tweak`.
pub fn app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.rate_limit = 10_000;
    tweak(&mut config);
    let state = AppState::open(config).expect("app state");
    let ep = trcker::build_app(state.clone()).map_to_response().boxed();
    TestApp {
        cli: TestClient::new(ep),
        state,
        dir,
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

    pub fn count(&self, sql: &str) -> i64 {
        let conn = self.state.pool.get().unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

pub fn offer_body(name: &str) -> Value {
    serde_json::json!({"name": name, "destination_url": "https://shop.example.com/l?x=1", "payout": 12.5})
}
