//! First run: the setup page, its token and its validation.
use super::*;

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
        // `/` is the dashboard, which needs an admin like the settings pages.
        let resp = app.get(path, "").await;
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
    let token = app.state.setup_token.to_string();
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
    let token = app.state.setup_token.to_string();
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
async fn blank_and_common_passwords_are_refused_by_setup_and_the_cli() {
    let app = app();
    let (cookie, csrf) = app.pre_form("/setup").await;
    let token = app.state.setup_token.to_string();
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
