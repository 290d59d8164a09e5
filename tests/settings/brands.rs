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
