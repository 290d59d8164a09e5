//! An offer's caps on its page: what each has used of its current window, adding one and
//! removing one. Changes go through the writer, as the API's do, so a cap's count stays exact
//! with the postbacks around it.

use chrono_tz::Tz;
use poem::web::{Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;

use crate::domain::cap::{self, Cap};
use crate::domain::ids::BrandId;
use crate::domain::status::{CapMetric, CapWindow};
use crate::store::{StoreError, StoreResult, brands, caps};
use crate::web::format;
use crate::web::page::{not_found, redirect_with_flash, refused, write_refused};
use crate::web::session::{self, Admin, CsrfOnly};

/// A cap as the offer page lists it.
pub struct CapRow {
    pub id: i64,
    pub scope: String,
    pub metric: &'static str,
    pub window: &'static str,
    pub used: String,
    pub limit: String,
    /// Used of the limit, 0–100 (for the meter).
    pub percent: i64,
}

fn window_label(w: CapWindow) -> &'static str {
    match w {
        CapWindow::Day => "per day",
        CapWindow::Week => "per week (from Monday)",
        CapWindow::Month => "per month",
        CapWindow::Lifetime => "in total",
    }
}

fn amount(metric: CapMetric, v: i64, currency: &str) -> String {
    match metric {
        CapMetric::Conversions => format::int(v),
        CapMetric::Payout => format::money(v, currency),
    }
}

/// The offer's caps with their current window's use (`partner` names a partner id).
pub fn rows(
    conn: &crate::db::Conn,
    brand: BrandId,
    offer_id: i64,
    currency: &str,
    tz: Tz,
    partner: impl Fn(i64) -> String,
) -> StoreResult<Vec<CapRow>> {
    let now = crate::domain::time::now();
    Ok(caps::of_offer_with_use(conn, brand, offer_id, now, tz)?
        .into_iter()
        .map(|(c, used): (Cap, i64)| CapRow {
            id: c.id,
            scope: c
                .partner_id
                .map_or_else(|| "Whole offer".to_string(), &partner),
            metric: match c.metric {
                CapMetric::Conversions => "Conversions",
                CapMetric::Payout => "Payout",
            },
            window: window_label(c.window),
            used: amount(c.metric, used, currency),
            limit: amount(c.metric, c.limit, currency),
            percent: (used.saturating_mul(100) / c.limit.max(1)).clamp(0, 100),
        })
        .collect())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CapForm {
    csrf: String,
    partner_id: String,
    metric: String,
    window: String,
    limit: String,
}

/// `POST /b/{brand}/offers/{id}/caps`: a new cap, counting what its window already holds.
#[handler]
pub async fn add(
    req: &Request,
    admin: Admin,
    Path((brand_id, offer_id)): Path<(i64, i64)>,
    Form(f): Form<CapForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let metric: CapMetric = f
        .metric
        .parse()
        .map_err(|_| refused("Choose what the cap counts"))?;
    let window: CapWindow = f
        .window
        .parse()
        .map_err(|_| refused("Choose the cap's period"))?;
    let value: f64 = f
        .limit
        .trim()
        .parse()
        .map_err(|_| refused("limit must be a number such as 50 or 1000.00"))?;
    let limit = cap::limit(metric, value).map_err(|m| refused(&m))?;
    let partner_id = match f.partner_id.trim() {
        "" => None,
        p => Some(p.parse::<i64>().map_err(|_| not_found())?),
    };
    let new = caps::NewCap {
        partner_id,
        metric,
        window,
        limit,
    };
    let brand = BrandId::new(brand_id);
    session::state(req)
        .writer
        .run(move |c, _| {
            let tz = brands::timezone(c, brand)?;
            caps::create(c, brand, offer_id, &new, tz).map(|_| ())
        })
        .await
        .map_err(write_refused)?;
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/offers/{offer_id}#caps"),
        "cap_added",
    ))
}

/// `POST /b/{brand}/offers/{id}/caps/{cap}/delete`.
#[handler]
pub async fn remove(
    req: &Request,
    admin: Admin,
    Path((brand_id, offer_id, cap_id)): Path<(i64, i64, i64)>,
    Form(f): Form<CsrfOnly>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let brand = BrandId::new(brand_id);
    session::state(req)
        .writer
        .run(move |c, _| {
            if caps::get(c, brand, cap_id)?.offer_id != offer_id {
                return Err(StoreError::NotFound);
            }
            caps::delete(c, brand, cap_id)
        })
        .await
        .map_err(write_refused)?;
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/offers/{offer_id}#caps"),
        "cap_removed",
    ))
}
