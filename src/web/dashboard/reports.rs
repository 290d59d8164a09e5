//! `/b/{brand}/reports`: every parameter of `GET /api/v1/reports` as a form (range, zone, up to
//! three groupings, offer and partner), the table sortable by any column, totals per currency,
//! the parameters in the URL so it can be shared, and the same table as CSV. The numbers are
//! the API's: the same `ReportRequest` and `store::reports::report`, and the same CSV writer.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use poem::web::{Path, Query};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::range::{self, Chosen, RangeQuery};
use super::{Ctx, render_status};
use crate::domain::export::report_csv;
use crate::domain::period::Preset;
use crate::domain::report::{GroupBy, Report, Row, TimeGrain};
use crate::domain::report_request::ReportRequest;
use crate::domain::time::parse_timezone;
use crate::store::{offers, partners, reports};
use crate::web::format;
use crate::web::page::{Layout, internal};
use crate::web::session::Admin;

/// Most rows the page shows; the CSV has them all.
const SHOWN: usize = 1_000;

/// What `group_by` may hold, as the form offers it.
const DIMENSIONS: [(&str, &str); 11] = [
    ("hour", "Hour"),
    ("day", "Day"),
    ("week", "Week"),
    ("month", "Month"),
    ("offer", "Offer"),
    ("partner", "Partner"),
    ("sub1", "sub1"),
    ("sub2", "sub2"),
    ("sub3", "sub3"),
    ("sub4", "sub4"),
    ("sub5", "sub5"),
];

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct ReportQuery {
    #[serde(flatten)]
    range: RangeQuery,
    /// The API's comma list; the form's three selects (`g1`…`g3`) win when sent.
    group_by: String,
    g1: String,
    g2: String,
    g3: String,
    timezone: String,
    offer_id: String,
    partner_id: String,
    sort: String,
    dir: String,
}

impl ReportQuery {
    fn groups(&self) -> Vec<String> {
        let form: Vec<String> = [&self.g1, &self.g2, &self.g3]
            .into_iter()
            .filter(|g| !g.is_empty())
            .cloned()
            .collect();
        if !form.is_empty() || !self.g1.is_empty() {
            return form;
        }
        let listed: Vec<String> = self
            .group_by
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        if listed.is_empty() {
            vec!["day".into()]
        } else {
            listed
        }
    }
}

/// A column of the table: its key in `sort=`, its heading, and whether it is a number.
struct Column {
    key: &'static str,
    heading: String,
    numeric: bool,
}

pub struct Header {
    pub heading: String,
    pub numeric: bool,
    /// The link that sorts by this column (toggling the direction when it is the current one).
    pub href: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub aria: &'static str,
}

pub struct Cell {
    pub text: String,
    pub numeric: bool,
    pub href: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/reports.html")]
struct ReportsPage {
    l: Layout,
    brand_id: i64,
    zone: String,
    range: Chosen,
    dims: Vec<(&'static str, &'static str)>,
    groups: [String; 3],
    offers: Vec<(i64, String)>,
    partners: Vec<(i64, String)>,
    offer_id: String,
    partner_id: String,
    error: Option<String>,
    headers: Vec<Header>,
    rows: Vec<Vec<Cell>>,
    totals: Vec<Vec<Cell>>,
    total_rows: usize,
    /// The query string of this very table (for sharing, sorting and the CSV link).
    query: String,
}

fn columns(time: Option<TimeGrain>, g: &GroupBy) -> Vec<Column> {
    let mut c = Vec::new();
    let col = |key, heading: &str, numeric| Column {
        key,
        heading: heading.to_string(),
        numeric,
    };
    if let Some(t) = time {
        let name = match t {
            TimeGrain::Hour => "Hour",
            TimeGrain::Day => "Day",
            TimeGrain::Week => "Week",
            TimeGrain::Month => "Month",
        };
        c.push(col("time", name, false));
    }
    if g.dims.offer {
        c.push(col("offer", "Offer", false));
    }
    if g.dims.partner {
        c.push(col("partner", "Partner", false));
    }
    const SUBS: [&str; 5] = ["sub1", "sub2", "sub3", "sub4", "sub5"];
    for (i, on) in g.dims.subs.iter().enumerate() {
        if *on {
            c.push(col(SUBS[i], SUBS[i], false));
        }
    }
    for (key, heading) in [
        ("currency", "Currency"),
        ("clicks", "Clicks"),
        ("unique_clicks", "Unique"),
        ("conversions", "Conversions"),
        ("pending_conversions", "Pending"),
        ("rejected_conversions", "Rejected"),
        ("reversed_conversions", "Reversed"),
        ("conversion_rate", "Conv. rate"),
        ("revenue", "Revenue"),
        ("payout", "Payout"),
        ("epc", "EPC"),
    ] {
        c.push(col(key, heading, key != "currency"));
    }
    c
}

fn compare(a: &Row, b: &Row, key: &str) -> Ordering {
    let (x, y) = (&a.metrics, &b.metrics);
    let f = |v: f64, w: f64| v.partial_cmp(&w).unwrap_or(Ordering::Equal);
    match key {
        "time" => a.time.cmp(&b.time),
        "offer" => a.offer_id.cmp(&b.offer_id),
        "partner" => a.partner_id.cmp(&b.partner_id),
        "sub1" | "sub2" | "sub3" | "sub4" | "sub5" => {
            let i = usize::from(key.as_bytes()[3] - b'1');
            a.subs[i].cmp(&b.subs[i])
        }
        "currency" => a.currency.cmp(&b.currency),
        "clicks" => x.clicks.cmp(&y.clicks),
        "unique_clicks" => x.unique_clicks.cmp(&y.unique_clicks),
        "conversions" => x.conversions.cmp(&y.conversions),
        "pending_conversions" => x.pending_conversions.cmp(&y.pending_conversions),
        "rejected_conversions" => x.rejected_conversions.cmp(&y.rejected_conversions),
        "reversed_conversions" => x.reversed_conversions.cmp(&y.reversed_conversions),
        "conversion_rate" => f(x.conversion_rate(), y.conversion_rate()),
        "revenue" => x.revenue.cmp(&y.revenue),
        "payout" => x.payout.cmp(&y.payout),
        "epc" => f(x.epc(), y.epc()),
        _ => Ordering::Equal,
    }
}

/// Rows sorted as asked (a stable sort, so ties keep the report's order).
fn sorted(mut rows: Vec<Row>, key: &str, descending: bool) -> Vec<Row> {
    rows.sort_by(|a, b| {
        let o = compare(a, b, key);
        if descending { o.reverse() } else { o }
    });
    rows
}

struct Names {
    offers: BTreeMap<i64, String>,
    partners: BTreeMap<i64, String>,
}

fn cells(cols: &[Column], r: &Row, names: &Names, brand_id: i64) -> Vec<Cell> {
    let m = &r.metrics;
    cols.iter()
        .map(|c| {
            let (text, href) = match c.key {
                "time" => (r.time.clone().unwrap_or_default(), None),
                "offer" => match r.offer_id {
                    Some(id) => (
                        names
                            .offers
                            .get(&id)
                            .cloned()
                            .unwrap_or_else(|| format!("#{id}")),
                        Some(format!("/b/{brand_id}/offers/{id}")),
                    ),
                    None => ("—".into(), None),
                },
                "partner" => match r.partner_id {
                    Some(id) => (
                        names
                            .partners
                            .get(&id)
                            .cloned()
                            .unwrap_or_else(|| format!("#{id}")),
                        Some(format!("/b/{brand_id}/partners/{id}")),
                    ),
                    None => ("—".into(), None),
                },
                "sub1" | "sub2" | "sub3" | "sub4" | "sub5" => {
                    let i = usize::from(c.key.as_bytes()[3] - b'1');
                    (r.subs[i].clone().unwrap_or_else(|| "(none)".into()), None)
                }
                "currency" => (r.currency.clone(), None),
                "clicks" => (format::int(m.clicks), None),
                "unique_clicks" => (format::int(m.unique_clicks), None),
                "conversions" => (format::int(m.conversions), None),
                "pending_conversions" => (format::int(m.pending_conversions), None),
                "rejected_conversions" => (format::int(m.rejected_conversions), None),
                "reversed_conversions" => (format::int(m.reversed_conversions), None),
                "conversion_rate" => (format::percent(m.conversion_rate()), None),
                "revenue" => (format::money(m.revenue, &r.currency), None),
                "payout" => (format::money(m.payout, &r.currency), None),
                "epc" => (
                    format::money((m.epc() * 100.0).round() as i64, &r.currency),
                    None,
                ),
                _ => (String::new(), None),
            };
            Cell {
                text,
                numeric: c.numeric,
                href,
            }
        })
        .collect()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The request the query asks for, validated by the API's rules, or why not.
fn request(q: &ReportQuery, range: &Chosen, tz: chrono_tz::Tz) -> Result<ReportRequest, String> {
    let group = GroupBy::parse(&q.groups().join(",")).map_err(|e| {
        // The API's wording names `group_by`; the form calls them groupings.
        e.replacen("group_by", "Groupings", 1)
    })?;
    let id = |s: &str| s.trim().parse::<i64>().ok();
    ReportRequest::new(
        range.period.from,
        range.period.to,
        tz,
        group,
        id(&q.offer_id),
        id(&q.partner_id),
    )
    .map_err(|e| e.message().to_string())
}

/// Every offer and partner name of the brand, for the filters and the table.
fn names(
    c: &crate::db::Conn,
    brand: crate::domain::ids::BrandId,
) -> crate::store::StoreResult<Names> {
    let mut n = Names {
        offers: BTreeMap::new(),
        partners: BTreeMap::new(),
    };
    let mut before = None;
    loop {
        let batch = offers::list(c, brand, None, before, 500)?;
        before = batch.rows.last().map(|o| o.id);
        n.offers
            .extend(batch.rows.into_iter().map(|o| (o.id, o.name)));
        if !batch.has_more {
            break;
        }
    }
    let mut before = None;
    loop {
        let batch = partners::list(c, brand, None, before, 500)?;
        before = batch.rows.last().map(|p| p.id);
        n.partners
            .extend(batch.rows.into_iter().map(|p| (p.id, p.name)));
        if !batch.has_more {
            break;
        }
    }
    Ok(n)
}

async fn build(
    req: &Request,
    ctx: &Ctx,
    q: &ReportQuery,
) -> poem::Result<(
    Chosen,
    chrono_tz::Tz,
    Result<(ReportRequest, Report), String>,
    Names,
)> {
    let tz = match q.timezone.trim() {
        "" => ctx.tz,
        name => parse_timezone(name).unwrap_or(ctx.tz),
    };
    let range = range::choose(&q.range, tz, Preset::Last7);
    let wanted = request(q, &range, tz);
    let brand = ctx.brand.id;
    let (report, names) = ctx
        .state(req)
        .db(move |c| {
            let report = match wanted {
                Ok(r) => {
                    let built = reports::report(c, brand, &r)?;
                    Ok((r, built))
                }
                Err(e) => Err(e),
            };
            Ok((report, names(c, brand)?))
        })
        .await
        .map_err(internal)?;
    let report = match (q.timezone.trim(), report) {
        (name, Ok(_)) if !name.is_empty() && parse_timezone(name).is_none() => Err(format!(
            "Unknown time zone {name:?}: use an IANA name such as Europe/Berlin."
        )),
        (_, r) => r,
    };
    Ok((range, tz, report, names))
}

fn query_string(q: &ReportQuery, range: &Chosen, tz: chrono_tz::Tz) -> String {
    format!(
        "{}&group_by={}&timezone={}&offer_id={}&partner_id={}",
        range.query,
        encode(&q.groups().join(",")),
        encode(tz.name()),
        encode(q.offer_id.trim()),
        encode(q.partner_id.trim()),
    )
}

#[handler]
pub async fn page(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Query(q): Query<ReportQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Reports", "reports").await?;
    let (range, tz, report, names) = build(req, &ctx, &q).await?;
    let query = query_string(&q, &range, tz);
    let descending = q.dir != "asc";
    let (mut headers, mut rows, mut totals, mut total_rows, mut error) =
        (Vec::new(), Vec::new(), Vec::new(), 0, None);
    match report {
        Ok((request, built)) => {
            let cols = columns(request.group.time, &request.group);
            let sort_key = cols.iter().find(|c| c.key == q.sort).map(|c| c.key);
            headers = cols
                .iter()
                .map(|c| {
                    let current = sort_key == Some(c.key);
                    let next_dir = if current && descending { "asc" } else { "desc" };
                    Header {
                        heading: c.heading.clone(),
                        numeric: c.numeric,
                        href: format!("?{query}&sort={}&dir={next_dir}", c.key),
                        aria: match (current, descending) {
                            (false, _) => "none",
                            (true, true) => "descending",
                            (true, false) => "ascending",
                        },
                    }
                })
                .collect();
            let all = match sort_key {
                Some(k) => sorted(built.rows, k, descending),
                None => built.rows,
            };
            total_rows = all.len();
            rows = all
                .iter()
                .take(SHOWN)
                .map(|r| cells(&cols, r, &names, brand_id))
                .collect();
            totals = built
                .totals
                .iter()
                .map(|(cur, m)| {
                    let row = Row {
                        time: None,
                        offer_id: None,
                        partner_id: None,
                        subs: Default::default(),
                        currency: cur.clone(),
                        metrics: *m,
                    };
                    let mut c = cells(&cols, &row, &names, brand_id);
                    for (cell, col) in c.iter_mut().zip(&cols) {
                        if !col.numeric && col.key != "currency" {
                            cell.text = String::new();
                            cell.href = None;
                        }
                    }
                    if let Some(first) = c.first_mut()
                        && first.text.is_empty()
                    {
                        first.text = "Total".into();
                    }
                    c
                })
                .collect();
        }
        Err(e) => error = Some(e),
    }
    let groups = q.groups();
    let status = if error.is_some() {
        poem::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        poem::http::StatusCode::OK
    };
    let brand = ctx.brand.id;
    let p = ReportsPage {
        l: ctx.l,
        brand_id,
        zone: tz.name().to_string(),
        dims: DIMENSIONS.to_vec(),
        groups: [0, 1, 2].map(|i| groups.get(i).cloned().unwrap_or_default()),
        offers: names.offers.into_iter().collect(),
        partners: names.partners.into_iter().collect(),
        offer_id: q.offer_id.trim().to_string(),
        partner_id: q.partner_id.trim().to_string(),
        error,
        headers,
        rows,
        totals,
        total_rows,
        query,
        range,
    };
    Ok(render_status(req, brand, p, status))
}

/// `/b/{brand}/reports.csv?…`: exactly the page's table (every row, in its order) as the
/// API's CSV.
#[handler]
pub async fn csv(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Query(q): Query<ReportQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Reports", "reports").await?;
    let (_, _, report, _) = build(req, &ctx, &q).await?;
    let (request, built) = report
        .map_err(|e| poem::Error::from_string(e, poem::http::StatusCode::UNPROCESSABLE_ENTITY))?;
    let cols = columns(request.group.time, &request.group);
    let rows = match cols.iter().find(|c| c.key == q.sort) {
        Some(c) => sorted(built.rows, c.key, q.dir != "asc"),
        None => built.rows,
    };
    Ok(report_csv(request.group.time, &rows)
        .with_content_type("text/csv; charset=utf-8")
        .with_header("Content-Disposition", "attachment; filename=\"report.csv\"")
        .into_response())
}
