//! Brands: listed, created, renamed.
use super::*;

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

fn timezone_of(app: &App, id: i64) -> String {
    app.state
        .pool
        .get()
        .unwrap()
        .query_row("SELECT timezone FROM brands WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
}

#[tokio::test]
async fn a_brands_time_zone_is_set_on_the_page_and_checked() {
    let app = app();
    let session = app.setup().await;
    app.create_brand(&session, "Acme").await;
    app.create_brand(&session, "Globex").await;
    let acme = count(&app, "SELECT id FROM brands WHERE name = 'Acme'");
    let globex = count(&app, "SELECT id FROM brands WHERE name = 'Globex'");
    let html = text(app.get("/settings/brands", &session).await).await;
    assert!(html.contains("time zone UTC"));
    assert!(html.contains(&format!("action=\"/settings/brands/{acme}/timezone\"")));
    assert!(html.contains(&format!("id=\"timezone-{acme}\" name=\"timezone\"")));
    assert!(html.contains("<datalist id=\"zones\">"));
    assert!(html.contains("<option value=\"Asia/Kolkata\">"));

    let path = format!("/settings/brands/{acme}/timezone");
    // No CSRF token, or another one: refused before anything changes.
    app.post(&path, &session, &[("timezone", "Asia/Kolkata")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.post(
        &path,
        &session,
        &[("csrf", "forged"), ("timezone", "Asia/Kolkata")],
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
    assert_eq!(timezone_of(&app, acme), "UTC");

    let csrf = app.csrf(&session).await;
    let resp = app
        .post(
            &path,
            &session,
            &[("csrf", &csrf), ("timezone", "Mars/Base")],
        )
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(resp).await;
    let error = format!("<p class=\"error\" id=\"timezone-{acme}-error\">");
    let at = html.find(&error).expect("the error is next to the field");
    assert!(html[at..].starts_with(&format!(
        "{error}\u{201c}Mars/Base\u{201d} is not a time zone this server knows."
    )));
    assert!(html.contains(&format!("aria-describedby=\"timezone-{acme}-error\"")));
    assert!(
        html.contains("value=\"Mars/Base\""),
        "the typed zone is kept"
    );
    assert!(!html.contains(&format!("timezone-{globex}-error")));
    let resp = app
        .post(&path, &session, &[("csrf", &csrf), ("timezone", "  ")])
        .await;
    resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(resp).await.contains("Enter a time zone"));
    assert_eq!(timezone_of(&app, acme), "UTC");

    let resp = app
        .post(
            &path,
            &session,
            &[("csrf", &csrf), ("timezone", " Asia/Kolkata ")],
        )
        .await;
    resp.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/settings/brands");
    let cookie = format!(
        "{session}; trcker_flash={}",
        cookie_value(&resp, "trcker_flash").unwrap()
    );
    let html = text(app.get("/settings/brands", &cookie).await).await;
    assert!(html.contains("Time zone saved."));
    assert!(html.contains("time zone Asia/Kolkata"));
    assert_eq!(timezone_of(&app, acme), "Asia/Kolkata");
    assert_eq!(timezone_of(&app, globex), "UTC", "only that brand");

    // The API sees the zone the page set.
    let key = app.key("Acme");
    let brand = app.0.get(&key, "/api/v1/brand").await;
    assert_eq!(brand.json["timezone"], "Asia/Kolkata");

    app.post(
        "/settings/brands/999/timezone",
        &session,
        &[("csrf", &csrf), ("timezone", "UTC")],
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
    app.post(
        "/settings/brands/999/timezone",
        &session,
        &[("csrf", &csrf), ("timezone", "Mars/Base")],
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
}
