//! `/b/{brand}`: the Overview: the numbers block (see `numbers`) and the top offers and
//! partners by payout.

use askama::Template;
use askama_web::WebTemplate;
use poem::web::{Path, Query};
use poem::{Request, Response, handler};

use super::Ctx;
use super::numbers::{Numbers, Requests};
use super::range::{self, Chosen, RangeQuery};
use crate::domain::period::Preset;
use crate::domain::report::{Dims, GroupBy, Metrics, Report};
use crate::store::{offers, partners, reports};
use crate::web::format;
use crate::web::page::{Layout, internal};
use crate::web::session::Admin;

/// A top offer or partner.
pub struct Top {
    pub id: i64,
    pub name: String,
    pub clicks: String,
    pub conversions: String,
    pub payout: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/overview.html")]
struct OverviewPage {
    l: Layout,
    brand_id: i64,
    zone: String,
    range: Chosen,
    /// Where a new brand stands: offers and partners exist.
    has_offers: bool,
    has_partners: bool,
    n: Numbers,
    top_offers: Vec<Top>,
    top_partners: Vec<Top>,
}

/// The top `n` rows of a report grouped by offer or partner, by payout.
fn top(r: &Report, by_offer: bool, n: usize) -> Vec<(i64, Metrics, String)> {
    let mut rows: Vec<(i64, Metrics, String)> = r
        .rows
        .iter()
        .filter_map(|row| {
            let id = if by_offer {
                row.offer_id
            } else {
                row.partner_id
            }?;
            Some((id, row.metrics, row.currency.clone()))
        })
        .collect();
    rows.sort_by(|a, b| {
        b.1.payout
            .cmp(&a.1.payout)
            .then(b.1.clicks.cmp(&a.1.clicks))
    });
    rows.truncate(n);
    rows
}

#[handler]
pub async fn page(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Query(q): Query<RangeQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Overview", "overview").await?;
    let range = range::choose(&q, ctx.tz, Preset::Last7);
    let by = |offer: bool| GroupBy {
        time: None,
        dims: Dims {
            offer,
            partner: !offer,
            ..Dims::default()
        },
    };
    let (tz, period, brand) = (ctx.tz, range.period, ctx.brand.id);
    let numbers = Requests::new(&range, tz, None, None)?;
    let offers_req = range::request(period, tz, by(true), None, None)?;
    let partners_req = range::request(period, tz, by(false), None, None)?;
    let (numbers, top_o, top_p, has_offers, has_partners) = ctx
        .state(req)
        .db(move |c| {
            let numbers = numbers.run(c, brand)?;
            let mut top_o = Vec::new();
            for (id, m, cur) in top(&reports::report(c, brand, &offers_req)?, true, 5) {
                top_o.push((offers::get(c, brand, id)?.name, id, m, cur));
            }
            let mut top_p = Vec::new();
            for (id, m, cur) in top(&reports::report(c, brand, &partners_req)?, false, 5) {
                top_p.push((partners::get(c, brand, id)?.name, id, m, cur));
            }
            let has_offers = !offers::list(c, brand, None, None, 1)?.rows.is_empty();
            let has_partners = !partners::list(c, brand, None, None, 1)?.rows.is_empty();
            Ok((numbers, top_o, top_p, has_offers, has_partners))
        })
        .await
        .map_err(internal)?;
    let to_top = |rows: Vec<(String, i64, Metrics, String)>| {
        rows.into_iter()
            .map(|(name, id, m, cur)| Top {
                id,
                name,
                clicks: format::int(m.clicks),
                conversions: format::int(m.conversions),
                payout: format::money(m.payout, &cur),
            })
            .collect()
    };
    let p = OverviewPage {
        brand_id,
        zone: tz.name().to_string(),
        has_offers,
        has_partners,
        n: numbers,
        top_offers: to_top(top_o),
        top_partners: to_top(top_p),
        range,
        l: ctx.l,
    };
    Ok(super::render(req, brand, p))
}
