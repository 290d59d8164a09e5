use crate::common::app_with_limit;

#[tokio::test]
async fn per_key_limit_with_headers() {
    let app = app_with_limit(5);
    let key = app.key("Acme");
    let other = app.key("Other");
    for i in 0..5u32 {
        let r = app.get(&key, "/api/v1/offers").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some((4 - i).to_string().as_str())
        );
        assert!(
            r.header("x-ratelimit-reset")
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
    }
    // Bad keys are not charged to anyone's budget.
    for _ in 0..3 {
        let r = app
            .raw(app.cli.get("/api/v1/offers").header(
                "Authorization",
                "Bearer trk_0000000000000000000000000000000000000000000",
            ))
            .await;
        assert_eq!(r.status, 401);
        assert!(r.header("x-ratelimit-remaining").is_none());
    }
    let over = app.get(&key, "/api/v1/offers").await;
    assert_eq!(over.status, 429);
    assert_eq!(over.code(), "rate_limit_exceeded");
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(
        over.json["error"]["message"],
        format!("You have exceeded the rate limit. Try again in {retry} seconds.")
    );
    assert_eq!(over.header("x-ratelimit-remaining"), Some("0"));
    // Errors count too and carry the headers; another key has its own budget.
    let r = app.get(&other, "/api/v1/offers/999").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("4"));
}
