//! `/b/{brand}`: the Overview. Tiles with their change against the previous period, a chart of
//! clicks and conversions, the top offers and partners by payout.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use poem::web::{Path, Query};
use poem::{Request, Response, handler};

use super::Ctx;
use super::range::{self, Chosen, RangeQuery};
use crate::domain::period::Preset;
use crate::domain::report::{Dims, GroupBy, Metrics, Report};
use crate::store::{offers, partners, reports};
use crate::web::chart::{self, Point};
use crate::web::format;
use crate::web::page::{Layout, internal};
use crate::web::session::Admin;

/// A count tile: the figure and its change against the previous period.
pub struct Tile {
    pub label: &'static str,
    pub value: String,
    pub change: String,
    /// "up", "down" or "flat".
    pub trend: &'static str,
}

/// One currency's money tiles.
pub struct MoneyRow {
    pub currency: String,
    pub tiles: Vec<Tile>,
}

/// A top offer or partner.
pub struct Top {
    pub id: i64,
    pub name: String,
    pub clicks: String,
    pub conversions: String,
    pub payout: String,
}

/// A row of the chart's table (the chart's numbers for screen readers).
pub struct ChartRow {
    pub label: String,
    pub clicks: String,
    pub conversions: String,
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
    tiles: Vec<Tile>,
    money: Vec<MoneyRow>,
    chart: String,
    chart_rows: Vec<ChartRow>,
    top_offers: Vec<Top>,
    top_partners: Vec<Top>,
}

fn tile(label: &'static str, now: f64, before: f64, value: String) -> Tile {
    let (change, trend) = format::change(now, before);
    Tile {
        label,
        value,
        change,
        trend,
    }
}

/// Counts summed over currencies (a click is counted in its offer's currency).
fn counts(r: &Report) -> Metrics {
    let mut all = Metrics::default();
    for (_, m) in &r.totals {
        all.add(m);
    }
    all
}

fn count_tiles(now: &Metrics, before: &Metrics) -> Vec<Tile> {
    vec![
        tile(
            "Clicks",
            now.clicks as f64,
            before.clicks as f64,
            format::int(now.clicks),
        ),
        tile(
            "Unique clicks",
            now.unique_clicks as f64,
            before.unique_clicks as f64,
            format::int(now.unique_clicks),
        ),
        tile(
            "Conversions",
            now.conversions as f64,
            before.conversions as f64,
            format::int(now.conversions),
        ),
        tile(
            "Conversion rate",
            now.conversion_rate(),
            before.conversion_rate(),
            format::percent(now.conversion_rate()),
        ),
    ]
}

fn money_rows(now: &Report, before: &Report) -> Vec<MoneyRow> {
    let before: BTreeMap<&str, &Metrics> =
        before.totals.iter().map(|(c, m)| (c.as_str(), m)).collect();
    now.totals
        .iter()
        .map(|(c, m)| {
            let b = before.get(c.as_str()).copied().copied().unwrap_or_default();
            MoneyRow {
                currency: c.clone(),
                tiles: vec![
                    tile(
                        "Revenue",
                        m.revenue as f64,
                        b.revenue as f64,
                        format::money(m.revenue, c),
                    ),
                    tile(
                        "Payout",
                        m.payout as f64,
                        b.payout as f64,
                        format::money(m.payout, c),
                    ),
                    tile(
                        "EPC",
                        m.epc(),
                        b.epc(),
                        format::money((m.epc() * 100.0).round() as i64, c),
                    ),
                ],
            }
        })
        .collect()
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
    let grain = range.grain();
    let by_time = GroupBy {
        time: Some(grain),
        dims: Dims::default(),
    };
    let by = |offer: bool| GroupBy {
        time: None,
        dims: Dims {
            offer,
            partner: !offer,
            ..Dims::default()
        },
    };
    let (tz, period, brand) = (ctx.tz, range.period, ctx.brand.id);
    let now_req = range::request(period, tz, by_time, None, None)?;
    let before_req = range::request(period.previous(), tz, GroupBy::default(), None, None)?;
    let offers_req = range::request(period, tz, by(true), None, None)?;
    let partners_req = range::request(period, tz, by(false), None, None)?;
    let (now, before, top_o, top_p, has_offers, has_partners) = ctx
        .state(req)
        .db(move |c| {
            let now = reports::report(c, brand, &now_req)?;
            let before = reports::report(c, brand, &before_req)?;
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
            Ok((now, before, top_o, top_p, has_offers, has_partners))
        })
        .await
        .map_err(internal)?;
    // The chart: one point per time bucket, counts summed over currencies.
    let mut buckets: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in &now.rows {
        let e = buckets
            .entry(r.time.clone().unwrap_or_default())
            .or_default();
        e.0 += r.metrics.clicks;
        e.1 += r.metrics.conversions;
    }
    let short = |label: &str| match grain {
        crate::domain::report::TimeGrain::Hour => label.get(11..16).unwrap_or(label).to_string(),
        _ => label.get(5..).unwrap_or(label).to_string(),
    };
    let points: Vec<Point> = buckets
        .iter()
        .map(|(label, (clicks, conversions))| Point {
            label: short(label),
            clicks: *clicks,
            conversions: *conversions,
        })
        .collect();
    let (total_now, total_before) = (counts(&now), counts(&before));
    let desc = format!(
        "{} clicks and {} conversions from {} to {} ({}), {} per bar.",
        format::int(total_now.clicks),
        format::int(total_now.conversions),
        period.from,
        period.to,
        tz.name(),
        if !points.is_empty() && grain == crate::domain::report::TimeGrain::Hour {
            "one hour"
        } else {
            "one day"
        }
    );
    let chart = chart::svg(&points, "Clicks (bars) and conversions (line)", &desc);
    let chart_rows = buckets
        .into_iter()
        .map(|(label, (clicks, conversions))| ChartRow {
            label,
            clicks: format::int(clicks),
            conversions: format::int(conversions),
        })
        .collect();
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
        tiles: count_tiles(&total_now, &total_before),
        money: money_rows(&now, &before),
        chart,
        chart_rows,
        top_offers: to_top(top_o),
        top_partners: to_top(top_p),
        range,
        l: ctx.l,
    };
    Ok(super::render(req, brand, p))
}
