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

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery";

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

async fn text(resp: TestResponse) -> String {
    resp.0.into_body().into_string().await.unwrap()
}

fn set_cookies(resp: &TestResponse) -> Vec<String> {
    resp.0
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The value a response sets for cookie `name` (`None` when it does not set it).
fn cookie_value(resp: &TestResponse, name: &str) -> Option<String> {
    set_cookies(resp).iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn location(resp: &TestResponse) -> String {
    resp.0
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The first hidden CSRF field of a page.
fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("page has a CSRF field")
        + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
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
        self.cli.get(path).header("cookie", cookie).send().await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> TestResponse {
        self.cli
            .post(path)
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
    }

    /// A form page that exists before sign-in: its pre-session CSRF cookie and token.
    async fn pre_form(&self, path: &str) -> (String, String) {
        let resp = self.get(path, "").await;
        resp.assert_status_is_ok();
        let cookie = format!(
            "trcker_csrf={}",
            cookie_value(&resp, "trcker_csrf").expect("form page sets the CSRF cookie")
        );
        let token = csrf_in(&text(resp).await);
        (cookie, token)
    }

    /// First-run setup through the page; returns the session cookie.
    async fn setup(&self) -> String {
        let (cookie, csrf) = self.pre_form("/setup").await;
        let token = self.state.setup_token.to_string();
        let resp = self
            .post(
                "/setup",
                &cookie,
                &[
                    ("csrf", &csrf),
                    ("token", &token),
                    ("email", EMAIL),
                    ("password", PASSWORD),
                    ("password2", PASSWORD),
                ],
            )
            .await;
        resp.assert_status(StatusCode::SEE_OTHER);
        format!(
            "trcker_session={}",
            cookie_value(&resp, "trcker_session").unwrap()
        )
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

    /// The session's CSRF token, read off a settings page.
    async fn csrf(&self, session: &str) -> String {
        let resp = self.get("/settings/brands", session).await;
        resp.assert_status_is_ok();
        csrf_in(&text(resp).await)
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
