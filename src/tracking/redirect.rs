//! `GET /c/{offer_id}/{partner_id}`: record the click, then 302 to the offer.

use std::sync::Mutex;

use poem::http::StatusCode;
use poem::web::{Data, Path, Query, RemoteAddr};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::writer::{WriteOp, WriteReply};
use crate::domain::macros::{MacroValues, expand};
use crate::domain::time::now;
use crate::state::AppState;
use crate::store::clicks::ClickRow;

const MAX_SUB: usize = 255;
const MAX_HEADER: usize = 1024;

#[derive(Deserialize, Default)]
pub struct Subs {
    sub1: Option<String>,
    sub2: Option<String>,
    sub3: Option<String>,
    sub4: Option<String>,
    sub5: Option<String>,
}

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

fn clean(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty()).map(|s| truncate(s, MAX_SUB))
}

/// Monotonic ULIDs: sortable as strings in creation order, 80 random bits each.
fn click_id() -> String {
    static GEN: Mutex<Option<ulid::Generator>> = Mutex::new(None);
    let mut g = GEN.lock().unwrap_or_else(|e| e.into_inner());
    let g = g.get_or_insert_with(ulid::Generator::new);
    g.generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

fn not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><title>Link not found</title><h1>This link is not active</h1>")
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| truncate(s.to_string(), MAX_HEADER))
}

#[handler]
pub async fn click(
    req: &Request,
    Path((offer_id, partner_id)): Path<(String, String)>,
    subs: Option<Query<Subs>>,
    remote: &RemoteAddr,
    state: Data<&AppState>,
) -> Response {
    let (Ok(offer_id), Ok(partner_id)) = (offer_id.parse::<i64>(), partner_id.parse::<i64>())
    else {
        return not_found();
    };
    let Some(offer) = state.catalog.route(offer_id, partner_id) else {
        return not_found();
    };
    let Query(subs) = subs.unwrap_or_default();
    let subs = [
        clean(subs.sub1),
        clean(subs.sub2),
        clean(subs.sub3),
        clean(subs.sub4),
        clean(subs.sub5),
    ];
    let ip = remote
        .as_socket_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let user_agent = header(req, "user-agent").unwrap_or_default();
    let ts = now();
    let is_unique = state
        .unique
        .visit(offer_id, partner_id, &ip, &user_agent, ts);
    let id = click_id();
    let location = expand(
        &offer.destination,
        &MacroValues {
            click_id: &id,
            offer_id,
            partner_id,
            subs: &subs,
        },
    );
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
    };
    match state.writer.submit(WriteOp::Click(row)).await {
        Ok(WriteReply::Click(Ok(()))) => Response::builder()
            .status(StatusCode::FOUND)
            .header("Location", location)
            .header("Cache-Control", "no-store")
            .finish(),
        _ => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("Retry-After", "1")
            .body("the click could not be recorded; try again"),
    }
}
