//! Security headers on every page; embedded assets.
use super::*;

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
