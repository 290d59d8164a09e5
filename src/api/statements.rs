//! `/statements`: what the brand owes each partner, its lines, paying it.

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
use crate::domain::export;
use crate::domain::ids::BrandId;
use crate::domain::money::Money;
use crate::domain::statement::{self as domain, StatementLine as DomainLine};
use crate::domain::time::{parse_day, to_rfc3339};
use crate::state::AppState;
use crate::store::{StoreError, brands, statements as store};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum StatementStatus {
    /// Not paid yet: its lines follow status changes, and it may be deleted.
    Open,
    /// Paid: final. Its conversions may only be reversed (and are then clawed back on a
    /// later statement).
    Paid,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum LineKind {
    /// What an approved conversion earned.
    Payout,
    /// Negative: a conversion paid on an earlier statement and reversed since.
    Clawback,
}

super::mirror_enum!(StatementStatus <=> crate::domain::status::StatementStatus { Open, Paid });
super::mirror_enum!(LineKind <=> crate::domain::status::LineKind { Payout, Clawback });

/// What the brand owes one partner in one currency, up to a date.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Statement {
    pub id: i64,
    pub partner_id: i64,
    pub currency: String,
    /// The last day covered (its end in the brand's zone).
    pub through: String,
    pub status: StatementStatus,
    /// The exact sum of its lines.
    pub total: f64,
    /// How many lines it has.
    pub lines: i64,
    pub created_at: String,
    #[oai(nullable)]
    pub paid_at: Option<String>,
}

impl Example for Statement {
    fn example() -> Self {
        Statement {
            id: 5,
            partner_id: 7,
            currency: "USD".into(),
            through: "2026-11-30".into(),
            status: StatementStatus::Open,
            total: 1237.5,
            lines: 99,
            created_at: "2026-12-01T09:00:00Z".into(),
            paid_at: None,
        }
    }
}

fn to_api(s: domain::Statement) -> Statement {
    Statement {
        id: s.id,
        partner_id: s.partner_id,
        currency: s.currency,
        through: s.through,
        status: s.status.into(),
        total: s.total.to_json(),
        lines: s.lines,
        created_at: to_rfc3339(s.created_at),
        paid_at: s.paid_at.map(to_rfc3339),
    }
}

#[derive(Object, Debug)]
#[oai(example)]
pub struct StatementLine {
    pub conversion_id: i64,
    pub kind: LineKind,
    /// What the line pays; negative for a clawback.
    pub amount: f64,
    /// The conversion's `occurred_at`.
    pub occurred_at: String,
}

fn example_line() -> DomainLine {
    DomainLine {
        id: 1,
        conversion_id: 42,
        kind: crate::domain::status::LineKind::Payout,
        amount: Money(1_250),
        occurred_at: 1_795_547_364,
    }
}

impl Example for StatementLine {
    fn example() -> Self {
        line_to_api(example_line())
    }
}

fn line_to_api(l: DomainLine) -> StatementLine {
    StatementLine {
        conversion_id: l.conversion_id,
        kind: l.kind.into(),
        amount: l.amount.to_json(),
        occurred_at: to_rfc3339(l.occurred_at),
    }
}

#[derive(Object)]
#[oai(example)]
pub struct CreateStatement {
    pub partner_id: i64,
    /// `YYYY-MM-DD`: conversions that occurred up to the end of this day, in the brand's zone.
    pub through: String,
}

impl Example for CreateStatement {
    fn example() -> Self {
        CreateStatement {
            partner_id: 7,
            through: "2026-11-30".into(),
        }
    }
}

#[derive(Object)]
pub struct StatementsCreated {
    /// One statement per currency with something to pay.
    pub data: Vec<Statement>,
}

#[derive(Object)]
pub struct StatementList {
    pub data: Vec<Statement>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct StatementLineList {
    /// In the order they were added.
    pub data: Vec<StatementLine>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum Created {
    /// The statements made, one per currency.
    #[oai(status = 201)]
    Created(Json<StatementsCreated>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The statement is gone; its conversions are free for the next one.
    #[oai(status = 204)]
    Deleted,
}

/// The CSV answer of `GET /statements/{id}/lines`.
pub struct LinesCsv;

impl CsvDoc for LinesCsv {
    const DESCRIPTION: &'static str = "Every line of the statement, in order, not paginated: a \
        header row of `StatementLine`'s fields in schema order, then one record per line (RFC \
        4180). Money as plain decimals (`12.50`, `-12.50` for a clawback).";

    fn example() -> String {
        let mut table = export::lines_header();
        table.extend(export::lines_csv(&[example_line()]));
        String::from_utf8_lossy(&table).into_owned()
    }
}

/// Rows a CSV of lines reads at a time.
const LINES_BATCH: u32 = 2_000;

/// Map the store's refusals of statement changes to the contract's codes.
fn refused(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) if m == store::NOTHING_TO_PAY => ApiError::unprocessable(
            "nothing_to_pay",
            "the partner has no approved conversion up to that date on no statement, and no clawback due",
        ),
        StoreError::Invalid(m) if m == store::PAID_IS_FINAL => {
            ApiError::unprocessable("statement_paid", m)
        }
        e => e.into(),
    }
}

pub struct StatementsApi;

#[OpenApi(tag = "ApiTags::Statements")]
impl StatementsApi {
    /// Create statements
    ///
    /// For `partner_id`, through the end of `through` in the brand's zone: one statement per
    /// currency, with a line for every `approved` conversion that occurred by then and is on
    /// no statement yet, and a negative line for every conversion a paid statement paid that
    /// has since been `reversed` (a clawback). Nothing to pay: 422 `nothing_to_pay`.
    #[oai(
        path = "/statements",
        method = "post",
        operation_id = "createStatements"
    )]
    async fn create(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        body: JsonBody<CreateStatement>,
    ) -> Result<Created, ApiError> {
        let b = body.0;
        let through = parse_day(&b.through)
            .map_err(|_| ApiError::validation("through must be a YYYY-MM-DD date"))?;
        let (brand, partner) = (auth.0.brand_id, b.partner_id);
        let made = state
            .writer
            .run(move |c, _| {
                let tz = brands::timezone(c, brand)?;
                store::create(c, brand, partner, through, tz)
            })
            .await
            .map_err(|e| match e {
                crate::tracking::writer::WriteError::Store(e) => refused(e),
                e => e.into(),
            })?;
        Ok(Created::Created(Json(StatementsCreated {
            data: made.into_iter().map(to_api).collect(),
        })))
    }

    /// List statements
    ///
    /// Newest first; filter by `partner_id` or `status`.
    #[oai(path = "/statements", method = "get", operation_id = "listStatements")]
    async fn list(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        partner_id: Query<Option<i64>>,
        status: Query<Option<StatementStatus>>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<StatementList>, ApiError> {
        let brand = auth.0.brand_id;
        let limit = pagination::limit(limit.0)?;
        let before = pagination::cursor(cursor.0.as_deref())?;
        let f = store::Filter {
            partner_id: partner_id.0,
            status: status.0.map(Into::into),
        };
        let page = state
            .db(move |c| store::list(c, brand, f, before, limit))
            .await?;
        let next = pagination::next(page.has_more, page.rows.last().map(|s| s.id));
        Ok(Json(StatementList {
            data: page.rows.into_iter().map(to_api).collect(),
            has_more: page.has_more,
            next_cursor: next,
        }))
    }

    /// Get a statement
    ///
    /// Its `total` is the exact sum of its lines at this moment. 404 for another brand's.
    #[oai(
        path = "/statements/:id",
        method = "get",
        operation_id = "getStatement"
    )]
    async fn get(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<Statement>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        Ok(Json(to_api(
            state.db(move |c| store::get(c, brand, id)).await?,
        )))
    }

    /// List a statement's lines
    ///
    /// In order, paginated. With `Accept: text/csv` or `format=csv`: every line as CSV,
    /// streamed (`limit` and `cursor` are ignored).
    #[oai(
        path = "/statements/:id/lines",
        method = "get",
        operation_id = "listStatementLines"
    )]
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per query parameter: poem-openapi reads them from the signature"
    )]
    async fn lines(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        req: &Request,
        id: Path<i64>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// `csv` for a CSV table (the same as `Accept: text/csv`).
        format: Query<Option<Format>>,
    ) -> Result<Answer<Json<StatementLineList>, LinesCsv>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        if wants_csv(format.0, req) {
            return Ok(Answer::Csv(lines_csv(state.clone(), brand, id).await?));
        }
        let limit = pagination::limit(limit.0)?;
        let after = pagination::cursor(cursor.0.as_deref())?;
        let mut rows = state
            .db(move |c| store::lines(c, brand, id, after, limit + 1))
            .await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = pagination::next(has_more, rows.last().map(|l| l.id));
        Ok(Answer::Json(Json(StatementLineList {
            data: rows.into_iter().map(line_to_api).collect(),
            has_more,
            next_cursor: next,
        })))
    }

    /// Mark a statement paid
    ///
    /// Sets `paid_at`; paying a paid statement again answers it unchanged.
    #[oai(
        path = "/statements/:id/pay",
        method = "post",
        operation_id = "payStatement"
    )]
    async fn pay(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<Statement>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        let s = state
            .writer
            .run(move |c, _| store::pay(c, brand, id))
            .await?;
        Ok(Json(to_api(s)))
    }

    /// Delete an open statement
    ///
    /// Its conversions are free again for the next statement. A paid statement: 422
    /// `statement_paid`.
    #[oai(
        path = "/statements/:id",
        method = "delete",
        operation_id = "deleteStatement"
    )]
    async fn delete(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Deleted, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        state
            .writer
            .run(move |c, _| store::delete(c, brand, id))
            .await
            .map_err(|e| match e {
                crate::tracking::writer::WriteError::Store(e) => refused(e),
                e => e.into(),
            })?;
        Ok(Deleted::Deleted)
    }
}

/// Every line of a statement as a streamed CSV table, `LINES_BATCH` at a time.
async fn lines_csv(state: AppState, brand: BrandId, id: i64) -> Result<Csv<LinesCsv>, ApiError> {
    let read = move |c: &mut crate::db::Conn, after: Option<i64>| {
        let rows = store::lines(c, brand, id, after, LINES_BATCH)?;
        let more = rows.len() == LINES_BATCH as usize;
        let cursor = rows.last().map(|l| l.id).filter(|_| more);
        Ok((export::lines_csv(&rows), cursor))
    };
    let (mut table, cursor) = state.db(move |c| read(c, None)).await?;
    let mut head = export::lines_header();
    head.append(&mut table);
    Ok(Csv::streamed(
        "statement-lines.csv",
        state,
        head,
        cursor,
        move |c, after| read(c, Some(after)),
    ))
}
