//! The numbers block of the Overview, an offer's and a partner's page: count tiles and money
//! tiles per currency with their change against the previous period, and the chart of clicks
//! and conversions with its table. One report over the range (by time) and one over the
//! previous period, through `store::reports` like the API's `/reports`.

use std::collections::BTreeMap;

use crate::db::Conn;
use chrono_tz::Tz;

use super::range::{self, Chosen};
use crate::domain::ids::BrandId;
use crate::domain::report::{Dims, GroupBy, Metrics, Report, TimeGrain};
use crate::domain::report_request::ReportRequest;
use crate::store::{StoreResult, reports};
use crate::web::chart::{self, Point};
use crate::web::format;

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

/// A row of the chart's table (the chart's numbers for screen readers).
pub struct ChartRow {
    pub label: String,
    pub clicks: String,
    pub conversions: String,
}

/// Everything the numbers block shows.
pub struct Numbers {
    pub tiles: Vec<Tile>,
    pub money: Vec<MoneyRow>,
    pub chart: String,
    pub chart_rows: Vec<ChartRow>,
}

/// The two report requests of the block: the range by time, and the previous period.
pub struct Requests {
    now: ReportRequest,
    before: ReportRequest,
    grain: TimeGrain,
    tz: Tz,
}

impl Requests {
    pub fn new(
        range: &Chosen,
        tz: Tz,
        offer: Option<i64>,
        partner: Option<i64>,
    ) -> poem::Result<Requests> {
        let grain = range.grain();
        let by_time = GroupBy {
            time: Some(grain),
            dims: Dims::default(),
        };
        Ok(Requests {
            now: range::request(range.period, tz, by_time, offer, partner)?,
            before: range::request(
                range.period.previous(),
                tz,
                GroupBy::default(),
                offer,
                partner,
            )?,
            grain,
            tz,
        })
    }

    /// Run both reports and lay the numbers out (on the blocking pool: `conn` is the store's).
    pub fn run(self, conn: &Conn, brand: BrandId) -> StoreResult<Numbers> {
        let now = reports::report(conn, brand, &self.now)?;
        let before = reports::report(conn, brand, &self.before)?;
        Ok(self.numbers(&now, &before))
    }

    fn numbers(&self, now: &Report, before: &Report) -> Numbers {
        // The chart: one point per time bucket, counts summed over currencies.
        let mut buckets: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for r in &now.rows {
            let e = buckets
                .entry(r.time.clone().unwrap_or_default())
                .or_default();
            e.0 += r.metrics.clicks;
            e.1 += r.metrics.conversions;
        }
        let short = |label: &str| match self.grain {
            TimeGrain::Hour => label.get(11..16).unwrap_or(label).to_string(),
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
        let (total_now, total_before) = (counts(now), counts(before));
        let desc = format!(
            "{} clicks and {} conversions from {} to {} ({}), one {} per bar.",
            format::int(total_now.clicks),
            format::int(total_now.conversions),
            self.now.from,
            self.now.to,
            self.tz.name(),
            if self.grain == TimeGrain::Hour {
                "hour"
            } else {
                "day"
            }
        );
        Numbers {
            tiles: count_tiles(&total_now, &total_before),
            money: money_rows(now, before),
            chart: chart::svg(&points, "Clicks (bars) and conversions (line)", &desc),
            chart_rows: buckets
                .into_iter()
                .map(|(label, (clicks, conversions))| ChartRow {
                    label,
                    clicks: format::int(clicks),
                    conversions: format::int(conversions),
                })
                .collect(),
        }
    }
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
