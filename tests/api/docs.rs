//! `/docs`: compressed once, served from cached bytes with an ETag, under the pages' security
//! headers.

use std::io::Read;

use crate::common::app;

async fn fetch(
    app: &crate::common::TestApp,
    headers: &[(&str, &str)],
) -> (u16, poem::http::HeaderMap, Vec<u8>) {
    let mut req = app.cli.get("/docs");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await;
    let status = resp.0.status().as_u16();
    let headers = resp.0.headers().clone();
    let body = resp.0.into_body().into_vec().await.unwrap();
    (status, headers, body)
}

#[tokio::test]
async fn docs_come_gzip_brotli_or_plain_and_decode_to_the_same_page() {
    let app = app();
    let (status, h, plain) = fetch(&app, &[]).await;
    assert_eq!(status, 200);
    assert!(h.get("content-encoding").is_none());
    assert!(String::from_utf8_lossy(&plain).contains("withDefaultFonts"));

    let (status, h, gz) = fetch(&app, &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(h["vary"], "Accept-Encoding");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    assert!(
        gz.len() < plain.len() / 3,
        "gzip: {} of {}",
        gz.len(),
        plain.len()
    );

    let (status, h, br) = fetch(&app, &[("Accept-Encoding", "gzip, deflate, br")]).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-encoding"], "br");
    let mut unbr = Vec::new();
    brotli::BrotliDecompress(&mut &br[..], &mut unbr).unwrap();
    assert_eq!(unbr, plain);
    // Unoptimised builds compress brotli at a quick level, so no race with gzip here.
    assert!(
        br.len() < plain.len() / 2,
        "brotli: {} of {}",
        br.len(),
        plain.len()
    );
}

#[tokio::test]
async fn a_known_etag_gets_304_with_no_body() {
    let app = app();
    let (_, h, _) = fetch(&app, &[("Accept-Encoding", "br")]).await;
    let etag = h["etag"].to_str().unwrap().to_string();
    let (_, plain_h, _) = fetch(&app, &[]).await;
    assert_ne!(
        plain_h["etag"], etag,
        "each encoding is its own representation"
    );

    let (status, h, body) =
        fetch(&app, &[("Accept-Encoding", "br"), ("If-None-Match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(h["etag"], etag.as_str());
    let (status, _, _) = fetch(
        &app,
        &[("Accept-Encoding", "br"), ("If-None-Match", "\"other\"")],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn docs_carry_the_pages_security_headers_without_unsafe_inline_scripts() {
    let app = app();
    let (_, h, _) = fetch(&app, &[]).await;
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let scripts = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .expect("a script-src directive");
    assert!(scripts.contains("'sha256-"), "{scripts}");
    assert!(!scripts.contains("unsafe"), "{scripts}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.get("referrer-policy").is_some());
}
