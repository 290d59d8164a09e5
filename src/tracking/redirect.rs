//! `GET /c/{offer_id}/{partner_id}`: record the click, then 302 to the offer.

use poem::http::StatusCode;
use poem::{Request, Response};

use super::writer::WriteError;
use crate::client_ip::client_ip;
use crate::domain::click::ClickRow;
use crate::domain::click_ids::ClickIds;
use crate::domain::macros::{MacroValues, expand};
use crate::state::AppState;

const MAX_SUB: usize = 255;
const MAX_HEADER: usize = 1024;

/// Keep at most `max` bytes, cut on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Keep at most `max` characters (the contract counts sub ids in characters, not bytes).
fn truncate_chars(mut s: String, max: usize) -> String {
    if let Some((end, _)) = s.char_indices().nth(max) {
        s.truncate(end);
    }
    s
}

/// A sub id as stored: empty means absent, long ones are cut.
fn clean(v: String) -> Option<String> {
    (!v.is_empty()).then(|| truncate_chars(v, MAX_SUB))
}

/// Click ids for this process: time-ordered, unguessable. With the second the click is
/// timed at: its id's, so the id alone locates the stored row.
fn click_id() -> (String, i64) {
    static IDS: ClickIds = ClickIds::new();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let id = IDS.next(now_ms);
    (id.to_string(), (id.timestamp_ms() / 1000) as i64)
}

fn not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header("X-Content-Type-Options", "nosniff")
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><title>Link not found</title><h1>This link is not active</h1>")
}

fn found(location: String) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header("Location", location)
        .header("Cache-Control", "no-store")
        .finish()
}

/// A header as text. Browsers and bots send UTF-8 or Latin-1 bytes in user agents and
/// referers; `to_str` refuses anything but visible ASCII and the value was lost. Invalid UTF-8
/// becomes U+FFFD, so what we keep is always valid text.
fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .map(|s| truncate(s, MAX_HEADER))
}

/// `/c/{offer_id}/{partner_id}` → the two ids (anything else: `None`).
fn ids(path: &str) -> Option<(i64, i64)> {
    let mut parts = path.strip_prefix("/c/")?.split('/');
    let offer = parts.next()?.parse().ok()?;
    let partner = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((offer, partner))
}

/// `sub1`…`sub5` of the query string, decoded, empty ones dropped, long ones cut.
fn subs(query: Option<&str>) -> [Option<String>; 5] {
    let mut subs: [Option<String>; 5] = Default::default();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if let Some(i) = k
            .strip_prefix("sub")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=5).contains(n))
        {
            subs[i - 1] = clean(v.into_owned());
        }
    }
    subs
}

/// Record the click, then 302 to the offer; 404 for links that are not live. HEAD answers the
/// same without recording.
pub async fn click(state: &AppState, req: &Request) -> Response {
    let Some((offer_id, partner_id)) = ids(req.uri().path()) else {
        return not_found();
    };
    let Some(offer) = state.catalog.route(offer_id, partner_id) else {
        return not_found();
    };
    let subs = subs(req.uri().query());
    // Link checkers and previewers ask with HEAD: tell them the link is live and where it
    // goes, and record nothing (no visitor followed it; the click id stays empty).
    let head = req.method() == poem::http::Method::HEAD;
    let (id, ts) = if head { (String::new(), 0) } else { click_id() };
    let location = expand(
        &offer.destination,
        &MacroValues {
            click_id: &id,
            offer_id,
            partner_id,
            subs: &subs,
        },
    );
    if head {
        return found(location);
    }
    let ip = client_ip(req, state.config.trust_proxy);
    let user_agent = header(req, "user-agent").unwrap_or_default();
    let visitor = state.unique.visitor(offer_id, partner_id, &ip, &user_agent);
    let is_unique = state.unique.visit_as(visitor, ts);
    let row = ClickRow {
        id,
        brand_id: offer.brand_id,
        offer_id,
        partner_id,
        currency: offer.currency.clone(),
        created_at: ts,
        subs,
        ip,
        user_agent,
        referer: header(req, "referer"),
        is_unique,
        visitor,
    };
    match state.writer.submit_click(row).await {
        Ok(()) => found(location),
        // Either way the click is not on disk, and the visitor may simply try again.
        Err(WriteError::Unavailable | WriteError::Store(_)) => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("Retry-After", "1")
            .body("the click could not be recorded; try again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_links() {
        assert_eq!(ids("/c/12/34"), Some((12, 34)));
        assert_eq!(ids("/c/12/34/"), None);
        assert_eq!(ids("/c/12"), None);
        assert_eq!(ids("/c/x/34"), None);
        let s = subs(Some("sub1=a%20b&sub5=&sub3=x&sub6=no&sub=no"));
        assert_eq!(s, [Some("a b".into()), None, Some("x".into()), None, None]);
    }

    #[test]
    fn subs_are_cut_at_255_characters() {
        let long = "é".repeat(300);
        let cut = clean(long).unwrap();
        assert_eq!(cut.chars().count(), 255);
        assert_eq!(cut.len(), 510);
        let mixed = format!("{}😀😀", "a".repeat(254));
        assert_eq!(clean(mixed).unwrap(), format!("{}😀", "a".repeat(254)));
        assert_eq!(clean("x".repeat(255)).unwrap().len(), 255);
        // Headers are cut at 1024 bytes, never inside a character.
        let h = truncate("é".repeat(600), MAX_HEADER);
        assert_eq!(h.len(), 1024);
    }
}
