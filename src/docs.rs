//! `/docs`: the interactive API reference (Scalar), a 3 MB page that never changes while the
//! process runs. It is compressed once (gzip and brotli, off the async workers) and served
//! from those bytes with an ETag, so a request costs a header comparison and a copy of an `Arc`
//! instead of ~130 ms of gzip on a worker that tracking links need.

use std::sync::Arc;

use bytes::Bytes;
use poem::http::{HeaderMap, HeaderValue, StatusCode, header};
use poem::{Request, Response};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// The page and its compressed forms.
pub struct Docs {
    html: Bytes,
    /// Shared by every representation, suffixed per encoding (they are different bytes).
    tag: String,
    csp: HeaderValue,
    compressed: OnceCell<Compressed>,
}

struct Compressed {
    gzip: Bytes,
    br: Bytes,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Docs {
    pub fn new(html: String) -> Arc<Docs> {
        let digest = Sha256::digest(html.as_bytes());
        let tag = crate::domain::random::hex(&digest[..12]);
        let csp = HeaderValue::from_str(&policy(&html)).expect("the policy is ASCII");
        Arc::new(Docs {
            html: Bytes::from(html),
            tag,
            csp,
            compressed: OnceCell::new(),
        })
    }

    /// Compress now rather than at the first request (`serve` calls this at start-up).
    pub async fn warm(&self) {
        self.compressed().await;
    }

    async fn compressed(&self) -> &Compressed {
        self.compressed
            .get_or_init(|| {
                let html = self.html.clone();
                async move {
                    tokio::task::spawn_blocking(move || compress(&html))
                        .await
                        .expect("compression does not panic")
                }
            })
            .await
    }

    pub async fn answer(&self, req: &Request) -> Response {
        let encoding = pick(req.headers());
        let etag = match encoding {
            Encoding::Brotli => format!("\"{}-br\"", self.tag),
            Encoding::Gzip => format!("\"{}-gz\"", self.tag),
            Encoding::Identity => format!("\"{}\"", self.tag),
        };
        let builder = Response::builder()
            .header(header::ETAG, &etag)
            .header(header::VARY, "Accept-Encoding")
            // Revalidate each time: the page changes with the binary, and a 304 is cheap.
            .header(header::CACHE_CONTROL, "no-cache")
            .header(header::CONTENT_SECURITY_POLICY, self.csp.clone())
            .header(header::X_FRAME_OPTIONS, "DENY")
            .header(header::REFERRER_POLICY, "same-origin");
        if not_modified(req.headers(), &etag) {
            return builder.status(StatusCode::NOT_MODIFIED).finish();
        }
        let builder = builder.content_type("text/html; charset=utf-8");
        match encoding {
            Encoding::Identity => builder.body(self.html.clone()),
            Encoding::Brotli => builder
                .header(header::CONTENT_ENCODING, "br")
                .body(self.compressed().await.br.clone()),
            Encoding::Gzip => builder
                .header(header::CONTENT_ENCODING, "gzip")
                .body(self.compressed().await.gzip.clone()),
        }
    }
}

fn compress(html: &[u8]) -> Compressed {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(html).expect("writing to memory");
    let gzip = gz.finish().expect("writing to memory");
    let mut br = Vec::new();
    // Quality 9 with a 1 MiB window: within a few per cent of 11 at a tenth of its time. The
    // encoder is generic, so it compiles at this crate's opt-level: unoptimised (the tests'
    // builds) quality 9 takes seconds, so those use a quick level.
    let quality = if cfg!(debug_assertions) { 1 } else { 9 };
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 20,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &html[..], &mut br, &params).expect("writing to memory");
    Compressed {
        gzip: Bytes::from(gzip),
        br: Bytes::from(br),
    }
}

/// The client's preferred encoding among ours: brotli, then gzip; `q=0` refuses one.
fn pick(headers: &HeaderMap) -> Encoding {
    let mut best = Encoding::Identity;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match name.as_str() {
                "br" => best = Encoding::Brotli,
                "gzip" | "x-gzip" if best == Encoding::Identity => best = Encoding::Gzip,
                _ => {}
            }
        }
    }
    best
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The other pages' policy, with Scalar's one inline script allowed by its hash (not
/// `'unsafe-inline'`, which would allow any injected script too). Scalar sets styles from
/// script, so inline styles are allowed; images and fonts may be data URLs.
fn policy(html: &str) -> String {
    let mut script_src = String::new();
    for body in inline_scripts(html) {
        use base64::Engine;
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        script_src.push_str(&format!(" 'sha256-{hash}'"));
    }
    format!(
        "default-src 'self'; script-src{script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// The bodies of the page's executable inline scripts. Scalar's bundle is one `<script>` that
/// runs to the page's last `</script>` (its code has `<script` inside strings); the spec sits
/// in a `type="application/json"` block, which is data, not script.
fn inline_scripts(html: &str) -> Vec<&str> {
    const OPEN: &str = "<script charset=\"UTF-8\">";
    let mut out = Vec::new();
    if let Some(start) = html.find(OPEN) {
        let body_start = start + OPEN.len();
        if let Some(end) = html.rfind("</script>").filter(|e| *e >= body_start) {
            out.push(&html[body_start..end]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        h
    }

    #[test]
    fn brotli_is_preferred_and_q0_refuses() {
        assert_eq!(pick(&headers("gzip, deflate, br")), Encoding::Brotli);
        assert_eq!(pick(&headers("gzip")), Encoding::Gzip);
        assert_eq!(pick(&headers("br;q=0, gzip;q=0.5")), Encoding::Gzip);
        assert_eq!(pick(&headers("identity")), Encoding::Identity);
        assert_eq!(pick(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn the_script_hash_covers_the_bundle_not_the_spec() {
        let html = "<script id=\"a\" type=\"application/json\">{}</script>\
                    <script charset=\"UTF-8\">var s='<script></script>';</script></body>";
        assert_eq!(inline_scripts(html), vec!["var s='<script></script>';"]);
        let policy = policy(html);
        let scripts = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"));
        let scripts = scripts.expect("a script-src directive");
        assert!(scripts.contains("'sha256-"), "{scripts}");
        assert!(!scripts.contains("unsafe-inline"), "{scripts}");
    }
}
