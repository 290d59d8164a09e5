//! Every documented error case, including what the framework would answer on its own.

use serde_json::json;

use crate::common::app;

fn assert_shape(a: &crate::common::Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.json);
    assert_eq!(a.code(), code, "{}", a.json);
    let msg = a.json["error"]["message"].as_str().unwrap();
    assert!(!msg.is_empty());
    assert_eq!(a.json.as_object().unwrap().len(), 1, "nothing but `error`");
    for leak in ["SQL", "sqlite", "rusqlite", "/src/", "panicked", "poem"] {
        assert!(!msg.contains(leak), "message leaks internals: {msg}");
    }
}

#[tokio::test]
async fn unauthorized_in_every_form() {
    let app = app();
    let key = app.key("Acme");
    let no_header = app.raw(app.cli.get("/api/v1/offers")).await;
    assert_shape(&no_header, 401, "unauthorized");
    assert_eq!(no_header.header("www-authenticate"), Some("Bearer"));
    assert!(
        no_header.header("x-ratelimit-limit").is_none(),
        "401s are not charged to a key"
    );
    for auth in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer not-a-key",
        "Bearer trk_short",
        "Bearer trk_0000000000000000000000000000000000000000000",
    ] {
        let r = app
            .raw(app.cli.get("/api/v1/offers").header("Authorization", auth))
            .await;
        assert_shape(&r, 401, "unauthorized");
    }
    // A bad key gets 401 before its bad body is looked at.
    let r = app
        .raw(
            app.cli
                .post("/api/v1/offers")
                .header("Authorization", "Bearer nope")
                .body("{bad"),
        )
        .await;
    assert_shape(&r, 401, "unauthorized");
    // Unknown routes need a key too.
    let r = app.raw(app.cli.get("/api/v1/nothing")).await;
    assert_shape(&r, 401, "unauthorized");
    assert_eq!(app.get(&key, "/api/v1/offers").await.status, 200);
}

#[tokio::test]
async fn request_errors_have_the_contract_shape() {
    let app = app();
    let key = app.key("Acme");
    let auth = format!("Bearer {key}");

    let r = app
        .raw(
            app.cli
                .post("/api/v1/offers")
                .header("Authorization", &auth)
                .body("{not json"),
        )
        .await;
    assert_shape(&r, 400, "invalid_json");
    let r = app
        .raw(
            app.cli
                .post("/api/v1/offers")
                .header("Authorization", &auth)
                .body(""),
        )
        .await;
    assert_shape(&r, 400, "invalid_json");
    let r = app
        .raw(
            app.cli
                .post("/api/v1/offers")
                .header("Authorization", &auth)
                .content_type("text/plain")
                .body("[1,2"),
        )
        .await;
    assert_shape(&r, 400, "invalid_json");
    // Forgetting the Content-Type of a JSON body is forgiven.
    let r = app
        .raw(
            app.cli
                .post("/api/v1/offers")
                .header("Authorization", &auth)
                .body(r#"{"name":"x","destination_url":"https://a.example","payout":1}"#),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);

    assert_shape(
        &app.get(&key, "/api/v1/offers?limit=abc").await,
        400,
        "invalid_request",
    );
    assert_shape(
        &app.get(&key, "/api/v1/offers?cursor=%%%").await,
        400,
        "invalid_request",
    );
    assert_shape(
        &app.get(&key, "/api/v1/offers?limit=0").await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/offers?limit=101").await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/offers?status=nope").await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/reports?timezone=Mars/Olympus").await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/reports?from=2026-02-01&to=2026-01-01")
            .await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/reports?from=2024-01-01&to=2026-01-01")
            .await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/reports?group_by=color").await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/reports?group_by=day,offer,partner,sub1")
            .await,
        422,
        "validation_error",
    );
    assert_shape(
        &app.get(&key, "/api/v1/reports?from=soon").await,
        400,
        "invalid_request",
    );

    assert_shape(
        &app.get(&key, "/api/v1/offers/424242").await,
        404,
        "not_found",
    );
    assert_shape(&app.get(&key, "/api/v1/offers/abc").await, 404, "not_found");
    assert_shape(
        &app.get(&key, "/api/v1/no/such/route").await,
        404,
        "not_found",
    );
    assert_shape(
        &app.raw(
            app.cli
                .delete("/api/v1/offers")
                .header("Authorization", &auth),
        )
        .await,
        405,
        "method_not_allowed",
    );
    assert_shape(
        &app.raw(
            app.cli
                .put("/api/v1/partners/1")
                .header("Authorization", &auth),
        )
        .await,
        405,
        "method_not_allowed",
    );

    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(70 * 1024));
    let r = app
        .raw(
            app.cli
                .post("/api/v1/offers")
                .header("Authorization", &auth)
                .body(big),
        )
        .await;
    assert_shape(&r, 413, "payload_too_large");

    let r = app
        .post(
            &key,
            "/api/v1/offers",
            json!({"name": "x", "destination_url": "https://a.example", "payout": 1e300}),
        )
        .await;
    assert_shape(&r, 422, "validation_error");
    assert_eq!(app.count("SELECT COUNT(*) FROM offers"), 1);
}

#[tokio::test]
async fn around_the_api_needs_no_key() {
    let app = app();
    let spec = app.raw(app.cli.get("/api/v1/openapi.json")).await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.json["openapi"], "3.0.0");
    let health = app.raw(app.cli.get("/healthz")).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json, json!({"status": "ok"}));
    let docs = app.cli.get("/docs").send().await;
    docs.assert_status_is_ok();
    let html = docs.0.into_body().into_string().await.unwrap();
    assert!(
        html.contains("withDefaultFonts"),
        "Scalar runs without external fonts"
    );
}
