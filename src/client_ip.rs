//! Who is on the other end, and over what: the socket's view, or, behind a reverse proxy the
//! operator trusts (`--trust-proxy`), what that proxy forwards. The one place that reads
//! `X-Forwarded-*` headers: without `--trust-proxy` any client could send them.

use poem::Request;

/// Whether the client's request arrived over https: a TLS connection here, or, with
/// `--trust-proxy`, the first `X-Forwarded-Proto` entry saying `https`.
pub fn is_https(req: &Request, trust_proxy: bool) -> bool {
    req.uri().scheme_str() == Some("https")
        || req.scheme() == &poem::http::uri::Scheme::HTTPS
        || (trust_proxy
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
}

/// The client's IP as text (`""` when unknown, as with an in-process test client).
///
/// Only the last `X-Forwarded-For` entry is taken: it is the one the trusted proxy appended;
/// anything before it was sent by the client and can be forged.
pub fn client_ip(req: &Request, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(ip) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|v| v.parse::<std::net::IpAddr>().ok())
    {
        return ip.to_string();
    }
    req.remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// The origin of tracking links: `--public-url` when set, else `scheme://host` the client used.
pub fn public_base(req: &Request, public_url: Option<&str>, trust_proxy: bool) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("127.0.0.1:8080");
    let scheme = if is_https(req, trust_proxy) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(xff: &[&str]) -> Request {
        let mut b = Request::builder();
        for v in xff {
            b = b.header("X-Forwarded-For", *v);
        }
        b.finish()
    }

    #[test]
    fn takes_the_proxy_appended_address_only_when_trusted() {
        let r = req(&["6.6.6.6, 10.0.0.1", "203.0.113.7"]);
        assert_eq!(client_ip(&r, true), "203.0.113.7");
        assert_eq!(client_ip(&r, false), "");
        assert_eq!(
            client_ip(&req(&["1.1.1.1, 2001:db8::1"]), true),
            "2001:db8::1"
        );
        assert_eq!(client_ip(&req(&["garbage"]), true), "");
    }
}
