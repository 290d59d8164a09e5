//! `/conversions`: the server-side postback, list, get, and status changes.

use std::sync::Arc;

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::auth::BrandKey;
use super::body::JsonBody;
use super::errors::ApiError;
use super::export::{Answer, Csv, CsvDoc, Format, wants_csv};
use super::{ApiTags, pagination};
use crate::domain::attribution::Attribution;
use crate::domain::conversion::{self as domain, NewConversion};
use crate::domain::export;
use crate::domain::ids::BrandId;
use crate::domain::money::Money;
use crate::domain::time::to_rfc3339;
use crate::state::AppState;
use crate::store::conversions::{self as store, Change, Filter};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum ConversionStatus {
    /// Counted in reports' `conversions`, `revenue` and `payout`.
    Approved,
    /// Counted in `pending_conversions` only.
    Pending,
    /// Counted in `rejected_conversions` only.
    Rejected,
    /// Approved, then refunded or charged back: counted in `reversed_conversions` only. Final.
    Reversed,
}

super::mirror_enum!(ConversionStatus <=> crate::domain::status::ConversionStatus { Approved, Pending, Rejected, Reversed });

/// A sale or other event credited to a partner.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Conversion {
    pub id: i64,
    #[oai(nullable)]
    pub click_id: Option<String>,
    pub offer_id: i64,
    pub partner_id: i64,
    pub event: String,
    /// The sale amount, if one was sent.
    #[oai(nullable)]
    pub amount: Option<f64>,
    /// What the partner earns: the offer's payout (`cpa`) or amount × payout / 100 rounded
    /// half-even to the cent (`revshare`).
    pub payout: f64,
    pub currency: String,
    pub status: ConversionStatus,
    #[oai(nullable)]
    pub transaction_id: Option<String>,
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
    pub occurred_at: String,
    pub created_at: String,
    /// The reason given with the last status change, if any.
    #[oai(nullable)]
    pub reason: Option<String>,
    /// The last change (its creation, if it never changed).
    pub updated_at: String,
    /// Set when the conversion was held (its offer has `hold_days`): the server approves it
    /// when this passes, unless its status was changed first.
    #[oai(nullable)]
    pub hold_until: Option<String>,
    /// The payout rule that set `payout` when it was recorded; null: the offer's own payout.
    #[oai(nullable)]
    pub payout_rule_id: Option<i64>,
    /// The statement that pays it, if any.
    #[oai(nullable)]
    pub statement_id: Option<i64>,
}

/// The example conversion, for the JSON and the CSV examples alike.
fn example_conversion() -> domain::Conversion {
    domain::Conversion {
        id: 42,
        brand_id: crate::domain::ids::BrandId::new(1),
        click_id: Some("01JDQ7ZK3M8XW2V5T9R4B6N1CE".into()),
        offer_id: 1,
        partner_id: 7,
        event: "purchase".into(),
        amount: Some(Money(12_000)),
        payout: Money(1_250),
        currency: "USD".into(),
        status: crate::domain::status::ConversionStatus::Approved,
        transaction_id: Some("order-1001".into()),
        subs: [Some("newsletter".into()), None, None, None, None],
        // 2026-11-24T19:09:24Z and a second later.
        occurred_at: 1_795_547_364,
        created_at: 1_795_547_365,
        reason: None,
        updated_at: 1_795_547_365,
        hold_until: None,
        payout_rule_id: None,
        statement_id: None,
    }
}

impl Example for Conversion {
    fn example() -> Self {
        to_api(example_conversion())
    }
}

/// The CSV answer of `GET /conversions`.
pub struct ConversionsCsv;

impl CsvDoc for ConversionsCsv {
    const DESCRIPTION: &'static str = "Every conversion matching the filters, newest first, not \
        paginated (`limit` and `cursor` are ignored): a header row of `Conversion`'s fields in \
        schema order, then one record per conversion (RFC 4180). Money as plain decimals \
        (`12.50`), timestamps as in JSON, empty cells for null.";

    fn example() -> String {
        let mut table = export::conversions_header();
        table.extend(export::conversions_csv(&[example_conversion()]));
        String::from_utf8_lossy(&table).into_owned()
    }
}

pub fn to_api(c: domain::Conversion) -> Conversion {
    let [sub1, sub2, sub3, sub4, sub5] = c.subs;
    Conversion {
        id: c.id,
        click_id: c.click_id,
        offer_id: c.offer_id,
        partner_id: c.partner_id,
        event: c.event,
        amount: c.amount.map(Money::to_json),
        payout: c.payout.to_json(),
        currency: c.currency,
        status: c.status.into(),
        transaction_id: c.transaction_id,
        sub1,
        sub2,
        sub3,
        sub4,
        sub5,
        occurred_at: to_rfc3339(c.occurred_at),
        created_at: to_rfc3339(c.created_at),
        reason: c.reason,
        updated_at: to_rfc3339(c.updated_at),
        hold_until: c.hold_until.map(to_rfc3339),
        payout_rule_id: c.payout_rule_id,
        statement_id: c.statement_id,
    }
}

/// A postback: credit `click_id`, or `offer_id` and `partner_id` together.
#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreateConversion {
    /// The click being credited; offer and partner come from it.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub click_id: Option<String>,
    /// Instead of `click_id`, with `partner_id` (coupon or offline sales).
    pub offer_id: Option<i64>,
    pub partner_id: Option<i64>,
    /// Sale amount, >= 0 and <= 1000000000 (one billion, so a brand's sums fit exact
    /// integers), at most 2 decimals; required for `revshare` offers.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub amount: Option<f64>,
    /// Default `conversion`; 1–64 of `a-z 0-9 _ -`.
    #[oai(validator(pattern = "^[a-z0-9_-]{1,64}$"))]
    pub event: Option<String>,
    /// Your order id: a repeat returns 200 with the first conversion, counted once.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub transaction_id: Option<String>,
    /// Default `approved`.
    pub status: Option<ConversionStatus>,
    /// RFC 3339, from 2000 up to a day from now; default now.
    pub occurred_at: Option<String>,
}

impl Example for CreateConversion {
    fn example() -> Self {
        CreateConversion {
            click_id: Some("01JDQ7ZK3M8XW2V5T9R4B6N1CE".into()),
            offer_id: None,
            partner_id: None,
            amount: Some(120.0),
            event: Some("purchase".into()),
            transaction_id: Some("order-1001".into()),
            status: None,
            occurred_at: None,
        }
    }
}

#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct UpdateConversion {
    pub status: ConversionStatus,
    /// Why, for the conversion's `reason` and history; at most 200 characters.
    #[oai(validator(max_length = 200))]
    pub reason: Option<String>,
}

impl Example for UpdateConversion {
    fn example() -> Self {
        UpdateConversion {
            status: ConversionStatus::Reversed,
            reason: Some("chargeback".into()),
        }
    }
}

/// Many conversions changed to one status, all or none.
#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct BulkUpdate {
    /// 1–100 ids of this brand's conversions.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub ids: Vec<i64>,
    pub status: ConversionStatus,
    /// Why, for each conversion's `reason` and history; at most 200 characters.
    #[oai(validator(max_length = 200))]
    pub reason: Option<String>,
}

impl Example for BulkUpdate {
    fn example() -> Self {
        BulkUpdate {
            ids: vec![41, 42],
            status: ConversionStatus::Approved,
            reason: Some("refund window passed".into()),
        }
    }
}

#[derive(Object)]
pub struct ConversionBatch {
    pub data: Vec<Conversion>,
}

/// One change in a conversion's life: its creation (`from` null) or a status change.
#[derive(Object)]
pub struct HistoryEntry {
    pub at: String,
    #[oai(nullable)]
    pub from: Option<ConversionStatus>,
    pub to: ConversionStatus,
    #[oai(nullable)]
    pub reason: Option<String>,
    /// `key:<key name>` or `admin:<email>`.
    pub actor: String,
}

#[derive(Object)]
pub struct ConversionHistory {
    pub data: Vec<HistoryEntry>,
}

/// A change as the store takes it, by this request's key.
fn change(auth: &BrandKey, status: ConversionStatus, reason: Option<String>) -> Change {
    Change {
        status: status.into(),
        reason: reason.filter(|r| !r.is_empty()),
        actor: domain::key_actor(&auth.0.name),
    }
}

#[derive(Object)]
pub struct ConversionList {
    pub data: Vec<Conversion>,
    pub has_more: bool,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum ConversionRecorded {
    /// A new conversion was recorded.
    #[oai(status = 201)]
    Created(Json<Conversion>, #[oai(header = "Location")] String),
    /// A repeat of a `transaction_id`: the first conversion, unchanged and counted once.
    #[oai(status = 200)]
    Repeat(Json<Conversion>),
}

/// 2000-01-01T00:00:00Z.
const EARLIEST_OCCURRED_AT: i64 = 946_684_800;

/// Every conversion `filter` matches as a streamed CSV table: keyset batches of
/// `EXPORT_BATCH`, newest first, each read on the blocking pool when the one before is sent.
async fn export_csv(
    state: AppState,
    brand: BrandId,
    filter: Filter,
) -> Result<Csv<ConversionsCsv>, ApiError> {
    let filter = Arc::new(filter);
    let read = {
        let filter = filter.clone();
        move |c: &mut crate::db::Conn, before: Option<i64>| {
            let rows = store::batch(c, brand, &filter, before, store::EXPORT_BATCH)?;
            let more = rows.len() == store::EXPORT_BATCH as usize;
            let cursor = rows.last().map(|r| r.id).filter(|_| more);
            Ok((export::conversions_csv(&rows), cursor))
        }
    };
    let first = read.clone();
    let (mut table, cursor) = state.db(move |c| first(c, None)).await?;
    let mut head = export::conversions_header();
    head.append(&mut table);
    Ok(Csv::streamed(
        "conversions.csv",
        state,
        head,
        cursor,
        move |c, before| read(c, Some(before)),
    ))
}

pub struct ConversionsApi;

#[OpenApi(tag = "ApiTags::Conversions")]
impl ConversionsApi {
    /// Record a conversion (postback)
    ///
    /// Call this from your server when a sale happens. Send the `click_id` your landing page
    /// received, or `offer_id` and `partner_id` for coupon and offline sales. A repeat of a
    /// `transaction_id` answers 200 with the first conversion. A `click_id` unknown to this
    /// brand answers 422 `unknown_click`.
    #[oai(
        path = "/conversions",
        method = "post",
        operation_id = "createConversion"
    )]
    async fn create(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        body: JsonBody<CreateConversion>,
    ) -> Result<ConversionRecorded, ApiError> {
        let b = body.0;
        let attribution =
            Attribution::new(b.click_id, b.offer_id, b.partner_id).map_err(ApiError::validation)?;
        let occurred_at = match b.occurred_at {
            Some(t) => Some(
                chrono::DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| ApiError::validation("occurred_at must be an RFC 3339 time"))?
                    .timestamp(),
            ),
            None => None,
        };
        // Bounded so every time lands in a real report bucket (and the epoch's rounding never
        // matters): from 2000 up to a day ahead, for clocks a little fast.
        if occurred_at.is_some_and(|t| {
            !(EARLIEST_OCCURRED_AT..=crate::domain::time::now() + 86_400).contains(&t)
        }) {
            return Err(ApiError::validation(
                "occurred_at must be between 2000-01-01T00:00:00Z and a day from now",
            ));
        }
        let input = NewConversion {
            attribution,
            amount: b
                .amount
                .map(|a| Money::from_json(a, "amount"))
                .transpose()
                .map_err(ApiError::validation)?,
            event: b.event.unwrap_or_else(|| "conversion".into()),
            transaction_id: b.transaction_id,
            status: b.status.unwrap_or(ConversionStatus::Approved).into(),
            occurred_at,
        };
        match state
            .writer
            .submit_conversion(auth.0.brand_id, input, domain::key_actor(&auth.0.name))
            .await?
        {
            (c, true) => {
                let location = format!("/api/v1/conversions/{}", c.id);
                Ok(ConversionRecorded::Created(Json(to_api(c)), location))
            }
            (c, false) => Ok(ConversionRecorded::Repeat(Json(to_api(c)))),
        }
    }

    /// List conversions
    ///
    /// Newest first. Filters combine; `from`/`to` apply to `occurred_at` and take RFC 3339
    /// times or `YYYY-MM-DD` dates (UTC, whole days). An id of another brand simply matches
    /// nothing.
    ///
    /// With `Accept: text/csv` or `format=csv` the answer is every matching conversion as CSV
    /// (`text/csv; charset=utf-8`), streamed, not paginated: `limit` and `cursor` are ignored.
    #[oai(
        path = "/conversions",
        method = "get",
        operation_id = "listConversions"
    )]
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
        status: Query<Option<ConversionStatus>>,
        event: Query<Option<String>>,
        click_id: Query<Option<String>>,
        transaction_id: Query<Option<String>>,
        /// Earliest `occurred_at`, inclusive.
        from: Query<Option<String>>,
        /// Latest `occurred_at`, inclusive.
        to: Query<Option<String>>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// `json` (default) or `csv`: every match as CSV, not paginated, as with
        /// `Accept: text/csv` (which this parameter overrides).
        format: Query<Option<Format>>,
    ) -> Result<Answer<Json<ConversionList>, ConversionsCsv>, ApiError> {
        let brand = auth.0.brand_id;
        let (from, to) = pagination::time_range(from.0.as_deref(), to.0.as_deref())?;
        let filter = Filter {
            offer_id: offer_id.0,
            partner_id: partner_id.0,
            status: status.0.map(Into::into),
            event: event.0,
            click_id: click_id.0,
            transaction_id: transaction_id.0,
            search: None,
            from,
            to,
        };
        if wants_csv(format.0, req) {
            return Ok(Answer::Csv(
                export_csv(state.0.clone(), brand, filter).await?,
            ));
        }
        let limit = pagination::limit(limit.0)?;
        let before = pagination::cursor(cursor.0.as_deref())?;
        let page = state
            .db(move |c| store::list(c, brand, &filter, before, limit))
            .await?;
        let next = pagination::next(page.has_more, page.rows.last().map(|c| c.id));
        Ok(Answer::Json(Json(ConversionList {
            data: page.rows.into_iter().map(to_api).collect(),
            has_more: page.has_more,
            next_cursor: next,
        })))
    }

    /// Get a conversion
    ///
    /// 404 when the id is unknown or belongs to another brand.
    #[oai(
        path = "/conversions/:id",
        method = "get",
        operation_id = "getConversion"
    )]
    async fn get(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<Conversion>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        Ok(Json(to_api(
            state.db(move |c| store::get(c, brand, id)).await?,
        )))
    }

    /// Change a conversion's status
    ///
    /// `status` and an optional `reason` (for example `pending` → `approved` once a refund
    /// window has passed, `rejected` for fraud, `reversed` for a chargeback). Allowed:
    /// `pending` → `approved`/`rejected`, `approved` → `rejected`/`reversed`, `rejected` →
    /// `approved`/`pending`; `reversed` is final. Anything else is 422 `invalid_transition`;
    /// the status it already has is a no-op (200, nothing changes). Reports move the amounts
    /// with it.
    #[oai(
        path = "/conversions/:id",
        method = "patch",
        operation_id = "updateConversion"
    )]
    async fn update(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
        body: JsonBody<UpdateConversion>,
    ) -> Result<Json<Conversion>, ApiError> {
        let b = body.0;
        let c = state
            .writer
            .submit_status(auth.0.brand_id, id.0, change(&auth, b.status, b.reason))
            .await?;
        Ok(Json(to_api(c)))
    }

    /// Change many conversions' status
    ///
    /// 1–100 ids to one `status` (with an optional `reason`), all or nothing in one
    /// transaction: an id that is not this brand's is 404 naming it, an id that can't make the
    /// transition (see `updateConversion`) is 422 `invalid_transition` naming it, and then
    /// nothing changes. The conversions as they now are, in the order of `ids`.
    #[oai(
        path = "/conversions/bulk",
        method = "post",
        operation_id = "bulkUpdateConversions"
    )]
    async fn bulk(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        body: JsonBody<BulkUpdate>,
    ) -> Result<Json<ConversionBatch>, ApiError> {
        let b = body.0;
        let c = change(&auth, b.status, b.reason);
        let rows = state
            .writer
            .submit_statuses(auth.0.brand_id, b.ids, c)
            .await?;
        Ok(Json(ConversionBatch {
            data: rows.into_iter().map(to_api).collect(),
        }))
    }

    /// A conversion's history
    ///
    /// Its creation and every status change, oldest first: `at`, `from` (null for the
    /// creation), `to`, `reason`, `actor`. Conversions recorded before the history existed
    /// start at their first change.
    #[oai(
        path = "/conversions/:id/history",
        method = "get",
        operation_id = "getConversionHistory"
    )]
    async fn history(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<ConversionHistory>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        let rows = state.db(move |c| store::history(c, brand, id)).await?;
        Ok(Json(ConversionHistory {
            data: rows
                .into_iter()
                .map(|h| HistoryEntry {
                    at: to_rfc3339(h.at),
                    from: h.from.map(Into::into),
                    to: h.to.into(),
                    reason: h.reason,
                    actor: h.actor,
                })
                .collect(),
        }))
    }
}
