//! `/clicks`: the clicks tracking links recorded, listed and one by one.

use std::sync::Arc;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::auth::BrandKey;
use super::errors::ApiError;
use super::export::{Answer, Csv, CsvDoc, Format, wants_csv};
use super::{ApiTags, pagination};
use crate::domain::export;
use crate::domain::ids::{BrandId, ClickCursor};
use crate::domain::time::to_rfc3339;
use crate::state::AppState;
use crate::store::clicks::{self as store, Filter};

/// A visit through a tracking link, as it was recorded.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Click {
    /// Time-ordered; what the destination received as `{click_id}`.
    pub id: String,
    pub offer_id: i64,
    pub partner_id: i64,
    pub created_at: String,
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
    /// The visitor's address (the socket's, or with `--trust-proxy` the proxy's last
    /// `X-Forwarded-For` entry).
    pub ip: String,
    pub user_agent: String,
    #[oai(nullable)]
    pub referer: Option<String>,
    /// No click from the same IP and user agent on this offer and partner in the 24 hours
    /// before.
    pub unique: bool,
}

/// The example click, for the JSON and the CSV examples alike.
fn example_click() -> store::Click {
    store::Click {
        id: "01JDQ7ZK3M8XW2V5T9R4B6N1CE".into(),
        offer_id: 1,
        partner_id: 7,
        // 2026-11-24T19:09:24Z.
        created_at: 1_795_547_364,
        subs: [Some("newsletter".into()), None, None, None, None],
        ip: "203.0.113.9".into(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
        referer: Some("https://dealhunters.example/".into()),
        is_unique: true,
    }
}

impl Example for Click {
    fn example() -> Self {
        to_api(example_click())
    }
}

/// The CSV answer of `GET /clicks`.
pub struct ClicksCsv;

impl CsvDoc for ClicksCsv {
    const DESCRIPTION: &'static str = "Every click matching the filters, newest first, not \
        paginated (`limit` and `cursor` are ignored): a header row of `Click`'s fields in schema \
        order, then one record per click (RFC 4180). Timestamps as in JSON, `unique` as `true` \
        or `false`, empty cells for null.";

    fn example() -> String {
        let mut table = export::clicks_header();
        table.extend(export::clicks_csv(&[example_click()]));
        String::from_utf8_lossy(&table).into_owned()
    }
}

/// Every click `filter` matches as a streamed CSV table: keyset batches of `EXPORT_BATCH`,
/// newest first (each a `list` page continuing after the last click of the one before), each
/// read on the blocking pool when the one before is sent.
async fn export_csv(
    state: AppState,
    brand: BrandId,
    filter: Filter,
) -> Result<Csv<ClicksCsv>, ApiError> {
    let filter = Arc::new(filter);
    let read = {
        let filter = filter.clone();
        move |c: &mut crate::db::Conn, after: Option<ClickCursor>| {
            let page = store::list(c, brand, &filter, after.as_ref(), store::EXPORT_BATCH)?;
            let cursor = page
                .rows
                .last()
                .map(store::Click::cursor)
                .filter(|_| page.has_more);
            Ok((export::clicks_csv(&page.rows), cursor))
        }
    };
    let first = read.clone();
    let (mut table, cursor) = state.db(move |c| first(c, None)).await?;
    let mut head = export::clicks_header();
    head.append(&mut table);
    Ok(Csv::streamed(
        "clicks.csv",
        state,
        head,
        cursor,
        move |c, after| read(c, Some(after)),
    ))
}

fn to_api(c: store::Click) -> Click {
    let [sub1, sub2, sub3, sub4, sub5] = c.subs;
    Click {
        id: c.id,
        offer_id: c.offer_id,
        partner_id: c.partner_id,
        created_at: to_rfc3339(c.created_at),
        sub1,
        sub2,
        sub3,
        sub4,
        sub5,
        ip: c.ip,
        user_agent: c.user_agent,
        referer: c.referer,
        unique: c.is_unique,
    }
}

#[derive(Object)]
pub struct ClickList {
    pub data: Vec<Click>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

pub struct ClicksApi;

#[OpenApi(tag = "ApiTags::Clicks")]
impl ClicksApi {
    /// List clicks
    ///
    /// The clicks of the current brand's tracking links, newest first: did a click arrive,
    /// and what did it carry? Filters combine and match exactly; `from`/`to` apply to
    /// `created_at` and take RFC 3339 times or `YYYY-MM-DD` dates (UTC, whole days). An id of
    /// another brand simply matches nothing.
    ///
    /// With `Accept: text/csv` or `format=csv` the answer is every matching click as CSV
    /// (`text/csv; charset=utf-8`), streamed, not paginated: `limit` and `cursor` are ignored.
    #[oai(path = "/clicks", method = "get", operation_id = "listClicks")]
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per query parameter: poem-openapi reads them from the signature"
    )]
    async fn list(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        req: &Request,
        offer_id: Query<Option<i64>>,
        partner_id: Query<Option<i64>>,
        /// Earliest `created_at`, inclusive.
        from: Query<Option<String>>,
        /// Latest `created_at`, inclusive.
        to: Query<Option<String>>,
        sub1: Query<Option<String>>,
        sub2: Query<Option<String>>,
        sub3: Query<Option<String>>,
        sub4: Query<Option<String>>,
        sub5: Query<Option<String>>,
        /// `true`: unique clicks only; `false`: repeats only.
        unique: Query<Option<bool>>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// `json` (default) or `csv`: every match as CSV, not paginated, as with
        /// `Accept: text/csv` (which this parameter overrides).
        format: Query<Option<Format>>,
    ) -> Result<Answer<Json<ClickList>, ClicksCsv>, ApiError> {
        let brand = auth.0.brand_id;
        let (from, to) = pagination::time_range(from.0.as_deref(), to.0.as_deref())?;
        let filter = Filter {
            offer_id: offer_id.0,
            partner_id: partner_id.0,
            from,
            to,
            subs: [sub1.0, sub2.0, sub3.0, sub4.0, sub5.0],
            unique: unique.0,
        };
        if wants_csv(format.0, req) {
            return Ok(Answer::Csv(
                export_csv(state.0.clone(), brand, filter).await?,
            ));
        }
        let limit = pagination::limit(limit.0)?;
        let before = pagination::click_cursor(cursor.0.as_deref())?;
        let page = state
            .db(move |c| store::list(c, brand, &filter, before.as_ref(), limit))
            .await?;
        let next = if page.has_more {
            page.rows.last().map(|c| c.cursor().encode())
        } else {
            None
        };
        Ok(Answer::Json(Json(ClickList {
            data: page.rows.into_iter().map(to_api).collect(),
            has_more: page.has_more,
            next_cursor: next,
        })))
    }

    /// Get a click
    ///
    /// One click by its id (the `click_id` a destination received). 404 when the id is
    /// unknown or belongs to another brand.
    #[oai(path = "/clicks/:id", method = "get", operation_id = "getClick")]
    async fn get(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<String>,
    ) -> Result<Json<Click>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        Ok(Json(to_api(
            state.db(move |c| store::get(c, brand, &id)).await?,
        )))
    }
}
