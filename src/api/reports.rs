//! `/reports`: clicks, conversions, revenue and payout grouped by time and dimensions.

use poem::Request;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Serialize;

use super::ApiTags;
use super::auth::BrandKey;
use super::errors::ApiError;
use super::export::{Answer, Csv, CsvDoc, Format, wants_csv};
use super::serde_json_payload::JsonBytes;
use crate::domain::export::report_csv;
use crate::domain::money::Money;
use crate::domain::report::{Metrics, Row, TimeGrain, shown_ratio};
use crate::domain::report_request::{ReportParams, ReportRequest, RequestError};
use crate::heavy_reads::{PER_KEY, Refused};
use crate::state::AppState;
use crate::store::brands;
use crate::store::reports as store;

/// One group's metrics. Group keys not in `group_by` are `null`.
#[derive(Object, Serialize, Debug, Clone)]
#[oai(example)]
pub struct ReportRow {
    /// Bucket start, RFC 3339 with the zone's offset (`group_by=hour`).
    #[oai(nullable)]
    pub hour: Option<String>,
    /// `YYYY-MM-DD` (`group_by=day`).
    #[oai(nullable)]
    pub day: Option<String>,
    /// The week's Monday, `YYYY-MM-DD` (`group_by=week`).
    #[oai(nullable)]
    pub week: Option<String>,
    /// `YYYY-MM` (`group_by=month`).
    #[oai(nullable)]
    pub month: Option<String>,
    #[oai(nullable)]
    pub offer_id: Option<i64>,
    #[oai(nullable)]
    pub partner_id: Option<i64>,
    #[oai(nullable)]
    pub sub1: Option<String>,
    #[oai(nullable)]
    pub sub2: Option<String>,
    #[oai(nullable)]
    pub sub3: Option<String>,
    #[oai(nullable)]
    pub sub4: Option<String>,
    #[oai(nullable)]
    pub sub5: Option<String>,
    pub currency: String,
    #[oai(flatten)]
    #[serde(flatten)]
    pub metrics: ReportMetrics,
}

#[derive(Object, Serialize, Debug, Clone)]
pub struct ReportMetrics {
    pub clicks: i64,
    pub unique_clicks: i64,
    /// Approved conversions.
    pub conversions: i64,
    pub pending_conversions: i64,
    pub rejected_conversions: i64,
    /// Approved, then refunded or charged back.
    pub reversed_conversions: i64,
    /// Sum of approved conversions' `amount`.
    pub revenue: f64,
    /// Sum of approved conversions' `payout`.
    pub payout: f64,
    /// conversions / clicks (0 without clicks).
    pub conversion_rate: f64,
    /// Earnings per click: payout / clicks (0 without clicks).
    pub epc: f64,
}

/// Totals of one currency over the whole range.
#[derive(Object, Serialize, Debug, Clone)]
pub struct ReportTotal {
    pub currency: String,
    #[oai(flatten)]
    #[serde(flatten)]
    pub metrics: ReportMetrics,
}

#[derive(Object, Serialize, Debug)]
pub struct Report {
    pub data: Vec<ReportRow>,
    /// One object per currency present (a zero `USD` one when the range has no data).
    pub totals: Vec<ReportTotal>,
}

fn metrics(m: &Metrics) -> ReportMetrics {
    ReportMetrics {
        clicks: m.clicks,
        unique_clicks: m.unique_clicks,
        conversions: m.conversions,
        pending_conversions: m.pending_conversions,
        rejected_conversions: m.rejected_conversions,
        reversed_conversions: m.reversed_conversions,
        revenue: Money(m.revenue).to_json(),
        payout: Money(m.payout).to_json(),
        conversion_rate: shown_ratio(m.conversion_rate()),
        epc: shown_ratio(m.epc()),
    }
}

/// A report row as `/reports` shows it: the bucket in the column of the report's time grain.
fn report_row(time: Option<TimeGrain>, r: Row) -> ReportRow {
    let t = |g: TimeGrain| {
        if time == Some(g) {
            r.time.clone()
        } else {
            None
        }
    };
    let [sub1, sub2, sub3, sub4, sub5] = r.subs;
    ReportRow {
        hour: t(TimeGrain::Hour),
        day: t(TimeGrain::Day),
        week: t(TimeGrain::Week),
        month: t(TimeGrain::Month),
        offer_id: r.offer_id,
        partner_id: r.partner_id,
        sub1,
        sub2,
        sub3,
        sub4,
        sub5,
        currency: r.currency,
        metrics: metrics(&r.metrics),
    }
}

/// The example row (`group_by=day,offer`), for the JSON and the CSV examples alike.
fn example_row() -> Row {
    Row {
        time: Some("2026-11-01".into()),
        offer_id: Some(1),
        partner_id: None,
        subs: Default::default(),
        currency: "USD".into(),
        metrics: Metrics {
            clicks: 100,
            unique_clicks: 80,
            conversions: 5,
            pending_conversions: 1,
            revenue: 25_000,
            payout: 2_500,
            ..Metrics::default()
        },
    }
}

impl Example for ReportRow {
    fn example() -> Self {
        report_row(Some(TimeGrain::Day), example_row())
    }
}

/// The CSV answer of `/reports`.
pub struct ReportCsv;

impl CsvDoc for ReportCsv {
    const DESCRIPTION: &'static str = "The `data` rows (no totals), in the same order: a header \
        row of `ReportRow`'s fields in schema order, then one record per row (RFC 4180). Money \
        as plain decimals (`250.00`), empty cells for null.";

    fn example() -> String {
        String::from_utf8_lossy(&report_csv(Some(TimeGrain::Day), &[example_row()])).into_owned()
    }
}

/// A report as its thread hands it back.
enum Built {
    Json(JsonBytes<Report>),
    Csv(Vec<u8>),
    /// How many rows, and whether that is exact (else a lower bound).
    TooLarge(usize, bool),
    Failed(String),
}

pub struct ReportsApi;

#[OpenApi(tag = "ApiTags::Reports")]
impl ReportsApi {
    /// Get a report
    ///
    /// Metrics over `from`..`to` (dates, inclusive, in `timezone`, by default the brand's
    /// zone; default the last 7 days), grouped by up to 3 of `hour`, `day`, `week`, `month`
    /// (one of these at most), `offer`, `partner`, `sub1`…`sub5`. Every time bucket of the range appears, in order, zeros
    /// included; other groups appear where they have data. Rows and totals are split by
    /// currency. `conversions`, `revenue` and `payout` count approved conversions only.
    ///
    /// With `Accept: text/csv` or `format=csv` the answer is the `data` rows as CSV
    /// (`text/csv; charset=utf-8`), without totals.
    ///
    /// An answer holds at most 50,000 rows: past that, 422 `report_too_large` says how many
    /// there are and how to narrow the query. A key builds at most 2 reports at once (a third
    /// is 429 `too_many_reports`).
    #[oai(path = "/reports", method = "get", operation_id = "getReport")]
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per query parameter: poem-openapi reads them from the signature"
    )]
    async fn report(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        req: &Request,
        /// First day, `YYYY-MM-DD` within 1970-01-01..9999-12-31 (default 6 days before `to`).
        from: Query<Option<String>>,
        /// Last day, inclusive, `YYYY-MM-DD` within 1970-01-01..9999-12-31 (default today).
        to: Query<Option<String>>,
        offer_id: Query<Option<i64>>,
        partner_id: Query<Option<i64>>,
        /// Comma list, e.g. `day,offer` (default `day`).
        group_by: Query<Option<String>>,
        /// IANA zone name, e.g. `Asia/Kolkata` (default the brand's `timezone`, see `GET /brand`).
        timezone: Query<Option<String>>,
        /// `json` (default) or `csv`: the `data` rows as CSV, as with `Accept: text/csv`
        /// (which this parameter overrides).
        format: Query<Option<Format>>,
    ) -> Result<Answer<JsonBytes<Report>, ReportCsv>, ApiError> {
        let brand = auth.0.brand_id;
        // Without `timezone`, the brand's own zone (`PATCH /brand`).
        let default_timezone = match timezone.0 {
            Some(_) => None,
            None => Some(state.db(move |c| brands::timezone(c, brand)).await?),
        };
        let request = ReportRequest::parse(ReportParams {
            from: from.0.as_deref(),
            to: to.0.as_deref(),
            group_by: group_by.0.as_deref(),
            timezone: timezone.0.as_deref(),
            default_timezone,
            offer_id: offer_id.0,
            partner_id: partner_id.0,
        })
        .map_err(|e| match e {
            RequestError::Malformed(m) => ApiError::invalid_request(m),
            RequestError::Invalid(m) => ApiError::validation(m),
        })?;
        let time = request.group.time;
        let csv = wants_csv(format.0, req);
        // Built and written on a report thread (low priority, a bound per key), never on the
        // async workers the redirect path runs on.
        let pool = state.pool.clone();
        // Past this many rows the answer is 422 `report_too_large`, saying how to narrow it.
        let max_rows = state.config.max_report_rows;
        let built = state
            .heavy_reads
            .run(
                auth.0.key_id,
                move || -> Result<Built, crate::store::StoreError> {
                    let conn = pool.get()?;
                    let started = std::time::Instant::now();
                    // A sub-id report past the bound stops reading early (at one sub value
                    // per click a month is millions of groups): `n` is then a lower bound.
                    let built = match store::report_bounded(&conn, brand, &request, max_rows)? {
                        Ok(built) => built,
                        Err(n) => return Ok(Built::TooLarge(n, false)),
                    };
                    let read = started.elapsed();
                    if built.rows.len() > max_rows {
                        return Ok(Built::TooLarge(built.rows.len(), true));
                    }
                    if csv {
                        return Ok(Built::Csv(report_csv(time, &built.rows)));
                    }
                    let report = Report {
                        data: built
                            .rows
                            .into_iter()
                            .map(|r| report_row(time, r))
                            .collect(),
                        totals: built
                            .totals
                            .iter()
                            .map(|(c, m)| ReportTotal {
                                currency: c.clone(),
                                metrics: metrics(m),
                            })
                            .collect(),
                    };
                    let shaped = started.elapsed();
                    let json = JsonBytes::of(&report);
                    // Where a big answer's time goes (`TRCKER_LOG=trcker=debug`): the store's
                    // read and grouping, then the rows shaped, then the JSON.
                    tracing::debug!(
                        store_ms = read.as_secs_f64() * 1e3,
                        shaped_ms = shaped.as_secs_f64() * 1e3,
                        total_ms = started.elapsed().as_secs_f64() * 1e3,
                        rows = report.data.len(),
                        "report answered"
                    );
                    Ok(match json {
                        Ok(b) => Built::Json(b),
                        Err(e) => Built::Failed(e.to_string()),
                    })
                },
            )
            .await
            .map_err(|e| match e {
                Refused::KeyBusy => ApiError::too_many_reports(PER_KEY),
                Refused::Full => ApiError::reports_busy(),
                Refused::Gone => ApiError::internal(),
            })??;
        match built {
            Built::Json(b) => Ok(Answer::Json(b)),
            Built::Csv(table) => Ok(Answer::Csv(Csv::bytes("report.csv", table))),
            Built::TooLarge(n, exact) => Err(ApiError::unprocessable(
                "report_too_large",
                format!(
                    "this report has {}{n} rows, more than the {max_rows} one answer holds; narrow it: \
                     a shorter from..to, a coarser time grain (day, week, month), fewer group_by \
                     keys, or an offer_id or partner_id filter",
                    if exact { "" } else { "at least " }
                ),
            )),
            Built::Failed(e) => {
                tracing::error!(error = %e, "report serialisation failed");
                Err(ApiError::internal())
            }
        }
    }
}
