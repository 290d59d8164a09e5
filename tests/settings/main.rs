//! The settings pages over plain HTTP (no browser): first run, sign-in, sessions, CSRF,
//! throttling, brands and API keys. In-process through `poem::test::TestClient`, except where
//! the real binary is the point (start-up output, the admin CLI, request size limits).

#[path = "../common/mod.rs"]
mod common;

mod brands;
mod cli;
mod keys;
mod limits;
mod login;
mod pages;
mod setup;
mod throttle;

use poem::http::StatusCode;
use poem::test::TestResponse;
use trcker::Config;
use trcker::web::session::{IDLE_SECS, MAX_AGE_SECS};
use trcker::web::settings::LOGIN_FAILED_MESSAGE;
use trcker::web::settings::throttle::{FREE_PER_ACCOUNT, FREE_PER_ACCOUNT_AND_IP, FREE_PER_IP};

use common::pages::{EMAIL, PASSWORD, cookie_value, csrf_in, location, set_cookies, text};

/// The shared in-process app, with the settings pages' own helpers (cookies and forms).
struct App(common::TestApp);

impl std::ops::Deref for App {
    type Target = common::TestApp;
    fn deref(&self) -> &common::TestApp {
        &self.0
    }
}

fn app_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> App {
    App(common::open_in(dir, tweak))
}

fn app() -> App {
    app_with(tempfile::tempdir().unwrap(), |_| {})
}

fn count(app: &App, sql: &str) -> i64 {
    app.state
        .pool
        .get()
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

impl App {
    async fn get(&self, path: &str, cookie: &str) -> TestResponse {
        self.page(path, cookie).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> TestResponse {
        self.submit(path, cookie, form).await
    }

    /// Sign in as a client at `ip` (the app must trust the proxy), with `cookie` (say, a
    /// device cookie) next to the form's CSRF cookie.
    async fn login_from(
        &self,
        ip: &str,
        cookie: &str,
        email: &str,
        password: &str,
    ) -> TestResponse {
        let (csrf_cookie, csrf) = self.pre_form("/login").await;
        self.cli
            .post("/login")
            .header("cookie", format!("{csrf_cookie}; {cookie}"))
            .header("x-forwarded-for", ip)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
    }

    async fn login(&self, email: &str, password: &str) -> TestResponse {
        let (cookie, csrf) = self.pre_form("/login").await;
        self.post(
            "/login",
            &cookie,
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    async fn create_brand(&self, session: &str, name: &str) -> TestResponse {
        let csrf = self.csrf(session).await;
        self.post(
            "/settings/brands",
            session,
            &[("csrf", &csrf), ("name", name)],
        )
        .await
    }

    /// Generate a key through the page (POST, then the page it redirects to); returns that page
    /// and the key read off it.
    async fn generate_key(&self, session: &str, brand_id: i64, name: &str) -> (String, String) {
        let csrf = self.csrf(session).await;
        let resp = self
            .post(
                "/settings/api-keys",
                session,
                &[
                    ("csrf", &csrf),
                    ("name", name),
                    ("brand_id", &brand_id.to_string()),
                ],
            )
            .await;
        resp.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(location(&resp), "/settings/api-keys");
        let html = text(self.get("/settings/api-keys", session).await).await;
        let at = html.find("id=\"new-key\"").expect("the new key is shown");
        let v = at + html[at..].find("value=\"").unwrap() + 7;
        let key = html[v..v + html[v..].find('"').unwrap()].to_string();
        (html, key)
    }

    async fn api_status(&self, key: &str) -> StatusCode {
        self.cli
            .get("/api/v1/offers")
            .header("authorization", format!("Bearer {key}"))
            .send()
            .await
            .0
            .status()
    }
}

fn sha256(s: &str) -> Vec<u8> {
    trcker::domain::ids::hash_secret(s)
}

/// Run the binary with `input` on stdin.
fn trcker(args: &[&str], input: &str) -> std::process::Output {
    common::binary::run_with_input(args, input)
}
