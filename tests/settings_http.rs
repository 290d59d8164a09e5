//! The settings pages over plain HTTP (no browser): first run, sign-in, sessions, CSRF,
//! throttling, brands and API keys. In-process through `poem::test::TestClient`, except where
//! the real binary is the point (start-up output, the admin CLI).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{EndpointExt, Response};
use trcker::settings::LOGIN_FAILED_MESSAGE;
use trcker::settings::session::{IDLE_SECS, MAX_AGE_SECS};
use trcker::settings::throttle::{FREE_PER_ACCOUNT, FREE_PER_ACCOUNT_AND_IP, FREE_PER_IP};
use trcker::{AppState, Config};

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery";

struct App {
    cli: TestClient<BoxEndpoint<'static, Response>>,
    state: AppState,
    dir: tempfile::TempDir,
}

fn app_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    tweak(&mut config);
    let state = AppState::open(config).expect("open state");
    let cli = TestClient::new(trcker::build_app(state.clone()).map_to_response().boxed());
    App { cli, state, dir }
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
        let token = self.state.settings.setup_token().to_string();
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

#[tokio::test]
async fn first_run_leads_to_setup_which_needs_the_token_once() {
    let app = app();
    for path in [
        "/settings",
        "/settings/brands",
        "/settings/api-keys",
        "/login",
        "/",
    ] {
        let mut resp = app.get(path, "").await;
        if path == "/" {
            assert_eq!(location(&resp), "/settings");
            resp = app.get("/settings", "").await;
        }
        resp.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(location(&resp), "/setup", "{path}");
    }

    // A wrong token: the error stands next to the field, and no admin exists.
    let (cookie, csrf) = app.pre_form("/setup").await;
    let form = |token: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("token", token.to_string()),
            ("email", EMAIL.to_string()),
            ("password", PASSWORD.to_string()),
            ("password2", PASSWORD.to_string()),
        ]
    };
    let resp = app
        .cli
        .post("/setup")
        .header("cookie", &cookie)
        .form(&form("0123456789abcdef0123456789abcdef"))
        .send()
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(cookie_value(&resp, "trcker_session").is_none());
    let html = text(resp).await;
    assert!(html.contains("id=\"token-error\""), "{html}");
    assert!(html.contains("not the setup token"));
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 0);

    // The real token works and signs the new admin in.
    let session = app.setup().await;
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 1);
    let stored: String = app
        .state
        .pool
        .get()
        .unwrap()
        .query_row("SELECT password_hash FROM admins", [], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(PASSWORD));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM sessions WHERE length(id_hash) = 32"
        ),
        1,
        "only the session id's SHA-256 is stored"
    );
    app.get("/settings/brands", &session)
        .await
        .assert_status_is_ok();

    // Spent: the page now sends people to sign in, and the token no longer creates anyone.
    let resp = app.get("/setup", "").await;
    assert_eq!(location(&resp), "/login");
    let (cookie, csrf) = app.pre_form("/login").await;
    let token = app.state.settings.setup_token().to_string();
    let resp = app
        .post(
            "/setup",
            &cookie,
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("email", "intruder@example.com"),
                ("password", "intruder password"),
                ("password2", "intruder password"),
            ],
        )
        .await;
    assert_eq!(location(&resp), "/login");
    assert!(cookie_value(&resp, "trcker_session").is_none());
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 1);
    // And a signed-out visitor of a settings page is sent to sign in, not to setup.
    assert_eq!(location(&app.get("/settings/api-keys", "").await), "/login");
}

#[tokio::test]
async fn setup_validates_every_field() {
    let app = app();
    let (cookie, csrf) = app.pre_form("/setup").await;
    let token = app.state.settings.setup_token().to_string();
    let resp = app
        .post(
            "/setup",
            &cookie,
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password2", "short"),
            ],
        )
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(resp).await;
    assert!(html.contains("id=\"email-error\""));
    assert!(html.contains("id=\"password-error\""));
    assert!(!html.contains("id=\"token-error\""));
    let resp = app
        .post(
            "/setup",
            &cookie,
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("email", EMAIL),
                ("password", PASSWORD),
                ("password2", "something else entirely"),
            ],
        )
        .await;
    assert!(text(resp).await.contains("id=\"password2-error\""));
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 0);
}

#[tokio::test]
async fn pre_sign_in_forms_refuse_posts_without_their_csrf_token() {
    let app = app();
    let token = app.state.settings.setup_token().to_string();
    let fields = [
        ("token", token.as_str()),
        ("email", EMAIL),
        ("password", PASSWORD),
        ("password2", PASSWORD),
    ];
    // No cookie, no field; a field that does not match the cookie.
    let resp = app.post("/setup", "", &fields).await;
    resp.assert_status(StatusCode::FORBIDDEN);
    let (cookie, _) = app.pre_form("/setup").await;
    let mut forged = fields.to_vec();
    forged.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    app.post("/setup", &cookie, &forged)
        .await
        .assert_status(StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 0);

    app.setup().await;
    let resp = app
        .post("/login", "", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    resp.assert_status(StatusCode::FORBIDDEN);
    assert!(cookie_value(&resp, "trcker_session").is_none());
}

#[tokio::test]
async fn session_cookie_is_httponly_lax_and_secure_over_https() {
    let app = app();
    app.setup().await;
    let plain = app.login(EMAIL, PASSWORD).await;
    plain.assert_status(StatusCode::SEE_OTHER);
    let c = set_cookies(&plain)
        .into_iter()
        .find(|c| c.starts_with("trcker_session="))
        .unwrap();
    assert!(
        c.contains("; HttpOnly") && c.contains("; SameSite=Lax") && c.contains("; Path=/"),
        "{c}"
    );
    assert!(!c.contains("Secure"), "plain http: {c}");

    // Behind a TLS-terminating proxy.
    let (cookie, csrf) = app.pre_form("/login").await;
    let resp = app
        .cli
        .post("/login")
        .header("cookie", &cookie)
        .header("x-forwarded-proto", "https")
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await;
    let c = set_cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("trcker_session="))
        .unwrap();
    assert!(c.ends_with("; Secure"), "{c}");

    // --secure-cookies.
    let app = app_with(tempfile::tempdir().unwrap(), |c| c.secure_cookies = true);
    let (cookie, csrf) = app.pre_form("/setup").await;
    let token = app.state.settings.setup_token().to_string();
    let resp = app
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
    for c in set_cookies(&resp) {
        assert!(c.contains("; Secure") && c.contains("HttpOnly"), "{c}");
    }
}

#[tokio::test]
async fn every_settings_post_needs_the_session_csrf_token() {
    let app = app();
    let session = app.setup().await;
    app.create_brand(&session, "Acme")
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let brand_id = count(&app, "SELECT id FROM brands");
    let (_, key) = app.generate_key(&session, brand_id, "shop").await;
    let key_id = count(&app, "SELECT id FROM api_keys");

    let other = app.login(EMAIL, PASSWORD).await;
    let other_session = format!(
        "trcker_session={}",
        cookie_value(&other, "trcker_session").unwrap()
    );
    let other_csrf = app.csrf(&other_session).await;
    assert_ne!(
        other_csrf,
        app.csrf(&session).await,
        "each session has its own token"
    );

    let bid = brand_id.to_string();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/settings/brands".into(), vec![("name", "Evil")]),
        (
            format!("/settings/brands/{brand_id}"),
            vec![("name", "Evil")],
        ),
        (
            "/settings/api-keys".into(),
            vec![("name", "evil"), ("brand_id", &bid)],
        ),
        (format!("/settings/api-keys/{key_id}/revoke"), vec![]),
        ("/logout".into(), vec![]),
    ];
    for (path, fields) in &posts {
        for csrf in [None, Some(""), Some("wrong"), Some(other_csrf.as_str())] {
            let mut form = fields.clone();
            if let Some(c) = csrf {
                form.push(("csrf", c));
            }
            let resp = app.post(path, &session, &form).await;
            resp.assert_status(StatusCode::FORBIDDEN);
            assert!(
                text(resp).await.contains("This form can"),
                "{path}: the 403 page"
            );
        }
    }
    // Nothing changed.
    assert_eq!(
        count(&app, "SELECT count(*) FROM brands WHERE name = 'Acme'"),
        1
    );
    assert_eq!(count(&app, "SELECT count(*) FROM brands"), 1);
    assert_eq!(count(&app, "SELECT count(*) FROM api_keys"), 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL"
        ),
        1
    );
    assert_eq!(app.api_status(&key).await, StatusCode::OK);
    app.get("/settings/brands", &session)
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn wrong_passwords_are_throttled_per_account_and_per_ip_with_one_message() {
    let app = app();
    app.setup().await;
    trcker::admin_cli::create_admin(app.dir.path(), "second@example.com", PASSWORD).unwrap();

    let mut messages = Vec::new();
    for _ in 0..FREE_PER_ACCOUNT_AND_IP {
        let resp = app.login(EMAIL, "wrong password!").await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        assert!(cookie_value(&resp, "trcker_session").is_none());
        messages.push(text(resp).await);
    }
    // Waiting now: the right password is refused too, with the very same message.
    let resp = app.login(EMAIL, PASSWORD).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert!(cookie_value(&resp, "trcker_session").is_none());
    messages.push(text(resp).await);
    // Unknown emails get it as well.
    let resp = app.login("nobody@example.com", PASSWORD).await;
    messages.push(text(resp).await);
    for m in &messages {
        assert!(m.contains(LOGIN_FAILED_MESSAGE), "{m}");
    }
    // The wait is on this account from this client, not on the client: another account signs
    // in.
    app.login("second@example.com", PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // Spraying over many accounts from one address makes the address wait.
    for i in 0..FREE_PER_IP {
        app.login(&format!("guess{i}@example.com"), "password123")
            .await;
    }
    let resp = app.login("second@example.com", PASSWORD).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    assert!(cookie_value(&resp, "trcker_session").is_none());
}

#[tokio::test]
async fn keys_are_shown_once_work_at_once_and_revoke_at_once() {
    let app = app();
    let session = app.setup().await;
    // No brand yet: the keys page says so instead of offering a form.
    let html = text(app.get("/settings/api-keys", &session).await).await;
    assert!(html.contains("No brands yet."), "{html}");
    assert!(!html.contains("action=\"/settings/api-keys\""));

    app.create_brand(&session, "Acme").await;
    let brand_id = count(&app, "SELECT id FROM brands");
    let html = text(app.get("/settings/api-keys", &session).await).await;
    assert!(html.contains("No keys for this brand yet."));

    let (page, key) = app.generate_key(&session, brand_id, "shop backend").await;
    assert!(key.starts_with("trk_") && key.len() > 40, "{key}");
    assert!(page.contains("Store this key now."));
    assert!(page.contains("data-copy=\"new-key\""));
    assert_eq!(
        page.matches(&key).count(),
        1,
        "the key appears once on its page"
    );
    let key_id = count(&app, "SELECT id FROM api_keys");
    let prefix: String = app
        .state
        .pool
        .get()
        .unwrap()
        .query_row("SELECT prefix FROM api_keys", [], |r| r.get(0))
        .unwrap();
    assert!(key.starts_with(&prefix) && prefix.len() < 16);

    // The list shows the prefix only, and "never" until the key is used.
    let html = text(app.get("/settings/api-keys", &session).await).await;
    assert!(!html.contains(&key), "the full key is not shown again");
    assert!(html.contains(&format!("<code>{prefix}…</code>")));
    assert!(html.contains("shop backend"));
    assert!(html.contains("<td data-label=\"Last used\">never</td>"));
    assert!(html.contains(">Active<"));

    assert_eq!(app.api_status(&key).await, StatusCode::OK);
    // "Last used" is current before the 5-second flush writes it.
    let stored: Option<i64> = app
        .state
        .pool
        .get()
        .unwrap()
        .query_row("SELECT last_used_at FROM api_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, None, "no write on the API's path");
    let html = text(app.get("/settings/api-keys", &session).await).await;
    assert!(
        !html.contains("<td data-label=\"Last used\">never</td>"),
        "{html}"
    );
    assert!(html.contains(" UTC</td>"));

    // Revoke: a confirmation page first, then the POST.
    let resp = app
        .get(&format!("/settings/api-keys/{key_id}/revoke"), &session)
        .await;
    resp.assert_status_is_ok();
    let html = text(resp).await;
    assert!(html.contains("Revoke key “shop backend”?"));
    let csrf = csrf_in(&html);
    assert_eq!(
        app.api_status(&key).await,
        StatusCode::OK,
        "showing the page revokes nothing"
    );
    let resp = app
        .post(
            &format!("/settings/api-keys/{key_id}/revoke"),
            &session,
            &[("csrf", &csrf)],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(app.api_status(&key).await, StatusCode::UNAUTHORIZED);
    let flash = cookie_value(&resp, "trcker_flash").unwrap();
    let html = text(
        app.get(
            "/settings/api-keys",
            &format!("{session}; trcker_flash={flash}"),
        )
        .await,
    )
    .await;
    assert!(html.contains("Key revoked."));
    assert!(html.contains(">Revoked<"));
    assert!(!html.contains(&format!("/settings/api-keys/{key_id}/revoke")));
    app.get(&format!("/settings/api-keys/{key_id}/revoke"), &session)
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn key_form_errors_stand_next_to_their_field() {
    let app = app();
    let session = app.setup().await;
    app.create_brand(&session, "Acme").await;
    let csrf = app.csrf(&session).await;
    let resp = app
        .post(
            "/settings/api-keys",
            &session,
            &[("csrf", &csrf), ("name", "  "), ("brand_id", "1")],
        )
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(resp).await.contains("id=\"key-name-error\""));
    let resp = app
        .post(
            "/settings/api-keys",
            &session,
            &[("csrf", &csrf), ("name", "x"), ("brand_id", "999")],
        )
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(resp).await.contains("id=\"key-brand-error\""));
    assert_eq!(count(&app, "SELECT count(*) FROM api_keys"), 0);
}

#[tokio::test]
async fn brands_are_listed_created_and_renamed() {
    let app = app();
    let session = app.setup().await;
    // Signed in already: the sign-in page sends you on.
    assert_eq!(location(&app.get("/login", &session).await), "/settings");
    let html = text(app.get("/settings/brands", &session).await).await;
    assert!(html.contains("No brands yet."));

    let resp = app.create_brand(&session, "  Acme  ").await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/settings/brands");
    let cookie = format!(
        "{session}; trcker_flash={}",
        cookie_value(&resp, "trcker_flash").unwrap()
    );
    let html = text(app.get("/settings/brands", &cookie).await).await;
    assert!(html.contains("Brand created."));
    assert!(html.contains("<span class=\"name\">Acme</span>"));

    // Errors next to the field, the typed value kept.
    let resp = app.create_brand(&session, "Acme").await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(resp).await;
    assert!(html.contains("id=\"brand-name-error\"") && html.contains("exists already"));
    assert!(html.contains("aria-invalid=\"true\""));
    app.create_brand(&session, "")
        .await
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    app.create_brand(&session, "Globex").await;
    assert_eq!(count(&app, "SELECT count(*) FROM brands"), 2);

    let acme = count(&app, "SELECT id FROM brands WHERE name = 'Acme'");
    let csrf = app.csrf(&session).await;
    let path = format!("/settings/brands/{acme}");
    let resp = app
        .post(&path, &session, &[("csrf", &csrf), ("name", "Acme Shoes")])
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM brands WHERE name = 'Acme Shoes'"
        ),
        1
    );
    let resp = app
        .post(&path, &session, &[("csrf", &csrf), ("name", "Globex")])
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(resp).await;
    assert!(html.contains(&format!("id=\"rename-{acme}-error\"")));
    assert!(html.contains("value=\"Globex\""), "the typed name is kept");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM brands WHERE name = 'Acme Shoes'"
        ),
        1
    );
    app.post(
        "/settings/brands/999",
        &session,
        &[("csrf", &csrf), ("name", "Ghost")],
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sessions_survive_a_restart_expire_when_idle_and_end_at_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let first = app_with(dir, |_| {});
    let session = first.setup().await;
    let second_login = first.login(EMAIL, PASSWORD).await;
    let second = format!(
        "trcker_session={}",
        cookie_value(&second_login, "trcker_session").unwrap()
    );
    drop(first.cli);

    // A new process on the same data dir knows the session.
    let app = app_with(tempfile::tempdir().unwrap(), |c| c.data_dir = path.clone());
    app.get("/settings/brands", &session)
        .await
        .assert_status_is_ok();
    app.get("/settings/brands", "trcker_session=made-up")
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // Idle too long: over.
    app.state
        .pool
        .get()
        .unwrap()
        .execute(
            "UPDATE sessions SET last_seen = last_seen - ?1 WHERE id_hash = ?2",
            rusqlite::params![
                IDLE_SECS + 5,
                sha256(session.trim_start_matches("trcker_session="))
            ],
        )
        .unwrap();
    let resp = app.get("/settings/brands", &session).await;
    assert_eq!(location(&resp), "/login");

    // Busy but old: over as well.
    let third_login = app.login(EMAIL, PASSWORD).await;
    let third = format!(
        "trcker_session={}",
        cookie_value(&third_login, "trcker_session").unwrap()
    );
    app.get("/settings/brands", &third)
        .await
        .assert_status_is_ok();
    app.state
        .pool
        .get()
        .unwrap()
        .execute(
            "UPDATE sessions SET created_at = created_at - ?1 WHERE id_hash = ?2",
            rusqlite::params![
                MAX_AGE_SECS + 5,
                sha256(third.trim_start_matches("trcker_session="))
            ],
        )
        .unwrap();
    assert_eq!(
        location(&app.get("/settings/brands", &third).await),
        "/login"
    );

    // Sign out ends that session only, and clears the cookie.
    let csrf = app.csrf(&second).await;
    let resp = app.post("/logout", &second, &[("csrf", &csrf)]).await;
    assert_eq!(location(&resp), "/login");
    assert_eq!(cookie_value(&resp, "trcker_session").as_deref(), Some(""));
    assert_eq!(
        location(&app.get("/settings/brands", &second).await),
        "/login"
    );
    drop(first.state);
}

fn sha256(s: &str) -> Vec<u8> {
    trcker::domain::ids::hash_secret(s)
}

#[tokio::test]
async fn pages_send_the_security_headers_and_assets_are_embedded() {
    let app = app();
    let session = app.setup().await;
    for (path, cookie) in [
        ("/login", ""),
        ("/settings/brands", session.as_str()),
        ("/settings/api-keys", session.as_str()),
        ("/settings/api-keys/99/revoke", session.as_str()),
        ("/settings", ""),
        ("/settings/no-such-page", ""),
    ] {
        let resp = app.get(path, cookie).await;
        let csp = resp
            .0
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        resp.assert_header("x-content-type-options", "nosniff");
        resp.assert_header("referrer-policy", "same-origin");
        resp.assert_header("cache-control", "no-store");
    }
    let html = text(app.get("/settings/api-keys", &session).await).await;
    assert!(
        html.contains("href=\"/docs\""),
        "settings link to the API docs"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );

    let css = app.get("/assets/app.css", "").await;
    css.assert_status_is_ok();
    css.assert_content_type("text/css");
    let etag = css
        .0
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(text(css).await.contains("@media (max-width"));
    let again = app
        .cli
        .get("/assets/app.css")
        .header("if-none-match", &etag)
        .send()
        .await;
    again.assert_status(StatusCode::NOT_MODIFIED);
    let js = app.get("/assets/app.js", "").await;
    js.assert_status_is_ok();
    assert!(text(js).await.contains("clipboard"));
    app.get("/assets/nope.css", "")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get("/assets/../Cargo.toml", "")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

/// Run the binary with `input` on stdin.
fn trcker(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trcker"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn admin_cli_creates_admins_and_resets_passwords_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let d = d.as_str();
    let out = trcker(
        &[
            "admin",
            "create",
            "--email",
            "Ops@Example.com",
            "--data-dir",
            d,
        ],
        "too short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10"));
    let out = trcker(
        &[
            "admin",
            "create",
            "--email",
            "Ops@Example.com",
            "--data-dir",
            d,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
    let out = trcker(
        &[
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--data-dir",
            d,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!out.status.success(), "duplicate admin");

    let app = app_with(dir, |_| {});
    // With an admin made headless, setup is closed.
    assert_eq!(location(&app.get("/setup", "").await), "/login");
    let resp = app.login("ops@example.com", PASSWORD).await;
    resp.assert_status(StatusCode::SEE_OTHER);
    let session = format!(
        "trcker_session={}",
        cookie_value(&resp, "trcker_session").unwrap()
    );
    app.get("/settings/brands", &session)
        .await
        .assert_status_is_ok();

    let out = trcker(
        &[
            "admin",
            "reset-password",
            "--email",
            "ops@example.com",
            "--data-dir",
            d,
        ],
        "a brand new passphrase\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        location(&app.get("/settings/brands", &session).await),
        "/login",
        "sessions end"
    );
    app.login("ops@example.com", PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login("ops@example.com", "a brand new passphrase")
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let out = trcker(
        &[
            "admin",
            "reset-password",
            "--email",
            "nobody@example.com",
            "--data-dir",
            d,
        ],
        "whatever password\n",
    );
    assert!(!out.status.success());
}

#[tokio::test]
async fn serve_prints_a_setup_token_that_works_until_an_admin_exists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trcker"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir", d])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let base = first.split_whitespace().nth(3).unwrap().to_string();
        (child, lines, base)
    };
    let (mut child, mut lines, base) = start();
    let line = lines.next().unwrap().unwrap();
    let token = line.rsplit(' ').next().unwrap().to_string();
    assert!(line.contains("/setup") && token.len() == 32, "{line}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{base}/setup")).send().await.unwrap();
    let pre = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = csrf_in(&page.text().await.unwrap());
    let resp = http
        .post(format!("{base}/setup"))
        .header("cookie", &pre)
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", &token),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/settings/brands");
    child.kill().unwrap();
    child.wait().unwrap();

    // An admin exists: the next start prints no token.
    let (mut child, lines, _) = start();
    // Give it time to print everything it would print after the first line.
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().all(|l| !l.contains("setup token")), "{rest:?}");
}

#[tokio::test]
async fn a_generated_key_is_shown_once_to_the_session_that_made_it() {
    let app = app();
    let session = app.setup().await;
    app.create_brand(&session, "Acme").await;
    let brand_id = count(&app, "SELECT id FROM brands");
    let other = format!(
        "trcker_session={}",
        cookie_value(&app.login(EMAIL, PASSWORD).await, "trcker_session").unwrap()
    );
    let csrf = app.csrf(&session).await;
    let resp = app
        .post(
            "/settings/api-keys",
            &session,
            &[
                ("csrf", &csrf),
                ("name", "ci"),
                ("brand_id", &brand_id.to_string()),
            ],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert!(
        !text(resp).await.contains("trk_"),
        "the POST answer carries no key"
    );
    let theirs = text(app.get("/settings/api-keys", &other).await).await;
    assert!(
        !theirs.contains("id=\"new-key\""),
        "another session never sees it"
    );
    let mine = text(app.get("/settings/api-keys", &session).await).await;
    assert!(mine.contains("id=\"new-key\""));
    let again = text(app.get("/settings/api-keys", &session).await).await;
    assert!(
        !again.contains("id=\"new-key\""),
        "a reload shows it no more"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM api_keys"), 1);
}

/// A request body that counts what is read of it: `len` bytes, or without end.
struct CountingBody {
    read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    len: Option<usize>,
}

impl tokio::io::AsyncRead for CountingBody {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::sync::atomic::Ordering;
        let done = self.read.load(Ordering::SeqCst);
        let left = self.len.map_or(usize::MAX, |l| l - done);
        let n = buf.remaining().min(8192).min(left);
        buf.put_slice(&vec![b'a'; n]);
        self.read.fetch_add(n, Ordering::SeqCst);
        std::task::Poll::Ready(Ok(()))
    }
}

fn counting_body(
    len: Option<usize>,
) -> (poem::Body, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let body = poem::Body::from_async_read(CountingBody {
        read: read.clone(),
        len,
    });
    (body, read)
}

const SETTINGS_FORMS: [&str; 7] = [
    "/setup",
    "/login",
    "/logout",
    "/settings/brands",
    "/settings/brands/1",
    "/settings/api-keys",
    "/settings/api-keys/1/revoke",
];

async fn assert_too_large_page(resp: TestResponse) {
    resp.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    let h = resp.0.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(text(resp).await.contains("This form is too large"));
}

#[tokio::test]
async fn oversized_forms_are_refused_with_413_before_their_body_is_read() {
    use std::sync::atomic::Ordering;
    let app = app();
    let session = app.setup().await;
    for path in SETTINGS_FORMS {
        // Claims 300 MiB: refused on the header alone, not a byte of the body read.
        let (body, read) = counting_body(Some(300 << 20));
        let resp = app
            .cli
            .post(path)
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", (300u64 << 20).to_string())
            .body(body)
            .send()
            .await;
        assert_too_large_page(resp).await;
        assert_eq!(read.load(Ordering::SeqCst), 0, "{path}: the body was read");

        // No Content-Length (chunked) and no end: read only up to the cap.
        let (body, read) = counting_body(None);
        let resp = app
            .cli
            .post(path)
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        assert_too_large_page(resp).await;
        let n = read.load(Ordering::SeqCst);
        assert!(
            n <= trcker::settings::MAX_FORM_BYTES + 16 * 1024,
            "{path}: read {n} bytes"
        );
    }
    // A form just under the cap is still read and answered as usual.
    let long = "x".repeat(trcker::settings::MAX_FORM_BYTES - 200);
    app.login(&long, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login(EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

/// Hold every argon2 slot, as a burst of sign-ins in progress would.
fn hold_argon2_slots(app: &App) -> Vec<trcker::settings::argon2_gate::Slot> {
    let gate = &app.state.settings.argon2;
    let held: Vec<_> = std::iter::from_fn(|| gate.try_enter()).collect();
    assert_eq!(held.len(), gate.limit());
    held
}

#[tokio::test]
async fn sign_in_and_setup_answer_503_while_argon2_is_saturated() {
    let app = app();
    assert!(
        app.state.settings.argon2.limit()
            == std::thread::available_parallelism().map_or(2, |n| n.get()),
        "one slot per core by default"
    );
    // Setup hashes a password: refused while the slots are full, nothing created.
    let (cookie, csrf) = app.pre_form("/setup").await;
    let token = app.state.settings.setup_token().to_string();
    let held = hold_argon2_slots(&app);
    let resp = app
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
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 0);
    drop(held);
    app.setup().await;

    let held = hold_argon2_slots(&app);
    // More refusals than free failures: they must not count as failures.
    for _ in 0..2 * FREE_PER_ACCOUNT_AND_IP {
        let resp = app.login(EMAIL, PASSWORD).await;
        resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
        let h = resp.0.headers();
        assert!(h["retry-after"].to_str().unwrap().parse::<u32>().unwrap() > 0);
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(cookie_value(&resp, "trcker_session").is_none());
        assert!(text(resp).await.contains("The server is busy"));
    }
    drop(held);
    app.login(EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn correct_sign_ins_never_use_up_the_ip_budget() {
    let app = app();
    app.setup().await;
    for i in 0..FREE_PER_IP + 5 {
        let resp = app.login(EMAIL, PASSWORD).await;
        assert_eq!(resp.0.status(), StatusCode::SEE_OTHER, "sign-in {}", i + 1);
    }
}

#[tokio::test]
async fn strangers_failing_elsewhere_do_not_keep_the_admin_out() {
    let app = app_with(tempfile::tempdir().unwrap(), |c| c.trust_proxy = true);
    app.setup().await;
    let admin_ip = "203.0.113.1";
    let resp = app.login_from(admin_ip, "", EMAIL, PASSWORD).await;
    resp.assert_status(StatusCode::SEE_OTHER);
    let device = format!(
        "trcker_device={}",
        cookie_value(&resp, "trcker_device").expect("a sign-in sets the device cookie")
    );

    // One stranger: after the free failures, their address waits, even with the right
    // password; the admin's does not.
    let stranger = "198.51.100.7";
    for _ in 0..FREE_PER_ACCOUNT_AND_IP {
        app.login_from(stranger, "", EMAIL, "wrong password!")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    app.login_from(stranger, "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login_from(admin_ip, "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);

    // Many strangers, one failure each: the account-wide count slows new browsers at new
    // addresses, not the admin's address nor a browser with the device cookie.
    for i in 0..FREE_PER_ACCOUNT {
        app.login_from(
            &format!("10.1.{}.{}", i / 200, i % 200),
            "",
            EMAIL,
            "guess!guess!",
        )
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    }
    app.login_from("192.0.2.50", "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login_from(admin_ip, "", EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app.login_from("192.0.2.51", &device, EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_password_reset_by_the_cli_clears_the_accounts_backoff() {
    let app = app();
    app.setup().await;
    for _ in 0..FREE_PER_ACCOUNT_AND_IP {
        app.login(EMAIL, "wrong password!")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    // The refusal needs no argon2: it comes even while every argon2 slot is taken.
    let held = hold_argon2_slots(&app);
    app.login(EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    drop(held);
    // Another process's way of changing the password: only the database changes.
    trcker::admin_cli::reset_password(app.dir.path(), EMAIL, "a brand new passphrase").unwrap();
    app.login(EMAIL, "a brand new passphrase")
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn blank_and_common_passwords_are_refused_by_setup_and_the_cli() {
    let app = app();
    let (cookie, csrf) = app.pre_form("/setup").await;
    let token = app.state.settings.setup_token().to_string();
    for (password, message) in [
        ("            ", "only spaces"),
        ("QwertyUiop", "most common passwords"),
        ("1234567890", "most common passwords"),
    ] {
        let resp = app
            .post(
                "/setup",
                &cookie,
                &[
                    ("csrf", &csrf),
                    ("token", &token),
                    ("email", EMAIL),
                    ("password", password),
                    ("password2", password),
                ],
            )
            .await;
        resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        let html = text(resp).await;
        assert!(html.contains("id=\"password-error\""), "{password:?}");
        assert!(html.contains(message), "{password:?}: {html}");

        let err = trcker::admin_cli::create_admin(app.dir.path(), "ops@example.com", password)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{password:?}: {err}");
        let err = trcker::admin_cli::reset_password(app.dir.path(), "ops@example.com", password)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{password:?}: {err}");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), 0);
}

/// `trcker serve` on a random loopback port: the child and its `host:port`.
fn serve(dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trcker"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.split_whitespace().nth(3).unwrap().to_string();
    std::thread::spawn(move || for _ in lines {});
    (child, base.trim_start_matches("http://").to_string())
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// POST `body_len` bytes to /login over a raw socket, declared or chunked; the status line of
/// the answer if one arrives (the server may close while we are still sending).
fn raw_post(addr: &str, body_len: usize, chunked: bool) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let framing = if chunked {
        "transfer-encoding: chunked".to_string()
    } else {
        format!("content-length: {body_len}")
    };
    let head = format!(
        "POST /login HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let n = chunk.len().min(body_len - sent);
        let ok = if chunked {
            s.write_all(format!("{n:x}\r\n").as_bytes())
                .and_then(|_| s.write_all(&chunk[..n]))
                .and_then(|_| s.write_all(b"\r\n"))
        } else {
            s.write_all(&chunk[..n])
        };
        if ok.is_err() {
            break;
        }
        sent += n;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    answer.lines().next().map(str::to_string)
}

#[tokio::test]
async fn the_real_server_refuses_huge_forms_without_buffering_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path());
    // Claims 300 MiB, sends 100 bytes: answered at once, nothing more awaited.
    let status = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            use std::io::Read;
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
                .unwrap();
            s.write_all(
                format!(
                    "POST /login HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{}",
                    300u64 << 20,
                    "a".repeat(100)
                )
                .as_bytes(),
            )
            .unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        }
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");

    let before = vm_rss_kib(child.id());
    // Several 50 MiB bodies at once, declared and chunked.
    let senders: Vec<_> = (0..6)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || raw_post(&addr, 50 << 20, i % 2 == 1))
        })
        .collect();
    for s in senders {
        if let Some(status) = s.join().unwrap() {
            assert!(status.starts_with("HTTP/1.1 413"), "{status}");
        }
    }
    let after = vm_rss_kib(child.id());
    // Buffering even one body would add 50 MiB; allow a wide margin for allocator noise.
    assert!(
        after < before + 40 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    // And the server is fine.
    let page = reqwest::get(format!("http://{addr}/login")).await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    child.kill().unwrap();
    child.wait().unwrap();
}
