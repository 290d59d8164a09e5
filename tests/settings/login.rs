//! Sign-in forms, the session cookie, CSRF on every settings post, and sessions.
use super::*;

#[tokio::test]
async fn pre_sign_in_forms_refuse_posts_without_their_csrf_token() {
    let app = app();
    let token = app.state.setup_token.to_string();
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

/// Sign in with `X-Forwarded-Proto: https`, as a TLS-terminating proxy sends it; the
/// session cookie set.
async fn session_cookie_via_https_proxy(app: &App) -> String {
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
    set_cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("trcker_session="))
        .unwrap()
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

    // A client's own X-Forwarded-Proto counts for nothing without --trust-proxy.
    let c = session_cookie_via_https_proxy(&app).await;
    assert!(!c.contains("Secure"), "untrusted X-Forwarded-Proto: {c}");

    // Behind a TLS-terminating proxy the operator trusts.
    let app = app_with(tempfile::tempdir().unwrap(), |c| c.trust_proxy = true);
    app.setup().await;
    let c = session_cookie_via_https_proxy(&app).await;
    assert!(c.ends_with("; Secure"), "{c}");

    // --secure-cookies.
    let app = app_with(tempfile::tempdir().unwrap(), |c| c.secure_cookies = true);
    let (cookie, csrf) = app.pre_form("/setup").await;
    let token = app.state.setup_token.to_string();
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
    drop(first.0.cli);

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
    drop(first.0.state);
}
