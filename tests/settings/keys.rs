//! API keys: shown once, working and revoked at once, form errors.
use super::*;

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
