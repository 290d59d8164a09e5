//! `/b/{brand}/statements`: what the brand owes each partner, making statements for one
//! partner or all up to a date, a statement's lines (and their CSV), marking it paid, and
//! deleting an open one. Every change goes through the writer, as the API's do.

use askama::Template;
use askama_web::WebTemplate;
use poem::web::{Form, Path};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{Ctx, render};
use crate::domain::export::{lines_csv, lines_header};
use crate::domain::ids::BrandId;
use crate::domain::report::today;
use crate::domain::status::{LineKind, StatementStatus};
use crate::domain::time::parse_day;
use crate::store::statements::{self, Filter, NOTHING_TO_PAY};
use crate::store::{StoreError, brands, partners};
use crate::web::format;
use crate::web::page::{
    Layout, internal, not_found, redirect_with_flash, refused, store_error, write_refused,
};
use crate::web::session::{Admin, CsrfOnly};

/// Lines shown on a statement's page; the CSV holds them all.
const SHOWN_LINES: u32 = 500;

pub struct Balance {
    pub partner_id: i64,
    pub partner: String,
    pub owed: String,
}

pub struct StatementRow {
    pub id: i64,
    pub partner_id: i64,
    pub partner: String,
    pub currency: String,
    pub through: String,
    pub paid: bool,
    pub total: String,
    pub lines: String,
    pub created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/statements.html")]
struct ListPage {
    l: Layout,
    brand_id: i64,
    zone: String,
    csrf: String,
    today: String,
    partners: Vec<(i64, String)>,
    balances: Vec<Balance>,
    statements: Vec<StatementRow>,
}

fn name_of(all: &[partners::Partner], id: i64) -> String {
    all.iter()
        .find(|p| p.id == id)
        .map_or_else(|| format!("Partner #{id}"), |p| p.name.clone())
}

#[handler]
pub async fn list(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Statements", "statements").await?;
    let brand = ctx.brand.id;
    let (all, owed, page) = ctx
        .state(req)
        .db(move |c| {
            let all = partners::list(c, brand, None, None, 500)?.rows;
            let owed = statements::outstanding(c, brand)?;
            let page = statements::list(c, brand, Filter::default(), None, 100)?;
            Ok((all, owed, page.rows))
        })
        .await
        .map_err(internal)?;
    let tz = ctx.tz;
    let p = ListPage {
        brand_id,
        zone: tz.name().to_string(),
        csrf: ctx.admin.csrf.clone(),
        today: today(tz).to_string(),
        balances: owed
            .into_iter()
            .filter(|(_, _, m)| m.0 != 0)
            .map(|(pid, cur, m)| Balance {
                partner_id: pid,
                partner: name_of(&all, pid),
                owed: format::money(m.0, &cur),
            })
            .collect(),
        statements: page
            .into_iter()
            .map(|s| StatementRow {
                id: s.id,
                partner_id: s.partner_id,
                partner: name_of(&all, s.partner_id),
                total: format::money(s.total.0, &s.currency),
                currency: s.currency,
                through: s.through,
                paid: s.status == StatementStatus::Paid,
                lines: format::int(s.lines),
                created: format::datetime(s.created_at, tz),
            })
            .collect(),
        partners: all.into_iter().map(|p| (p.id, p.name)).collect(),
        l: ctx.l,
    };
    Ok(render(req, brand, p))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateForm {
    csrf: String,
    /// Empty: every partner of the brand.
    partner_id: String,
    through: String,
}

/// `POST /b/{brand}/statements`: statements for one partner, or for every partner with
/// something to pay, through the end of a day in the brand's zone; one writer op, so all of
/// them are made or none.
#[handler]
pub async fn create(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Form(f): Form<CreateForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let ctx = Ctx::load(req, admin, brand_id, "Statements", "statements").await?;
    let through = parse_day(f.through.trim())
        .map_err(|_| refused("Through must be a date such as 2026-11-30"))?;
    let one = match f.partner_id.trim() {
        "" => None,
        p => Some(p.parse::<i64>().map_err(|_| not_found())?),
    };
    let brand = ctx.brand.id;
    let made = ctx
        .state(req)
        .writer
        .run(move |c, _| {
            let tz = brands::timezone(c, brand)?;
            let ids = match one {
                Some(p) => vec![p],
                None => partners::list(c, brand, None, None, 10_000)?
                    .rows
                    .into_iter()
                    .map(|p| p.id)
                    .collect(),
            };
            let mut made = 0;
            for p in ids {
                match statements::create(c, brand, p, through, tz) {
                    Ok(s) => made += s.len(),
                    Err(StoreError::Invalid(m)) if m == NOTHING_TO_PAY => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(made)
        })
        .await
        .map_err(write_refused)?;
    let back = format!("/b/{brand_id}/statements");
    Ok(redirect_with_flash(
        req,
        &back,
        if made == 0 {
            "nothing_to_pay"
        } else {
            "statements_created"
        },
    ))
}

pub struct LineRow {
    pub conversion_id: i64,
    pub clawback: bool,
    pub amount: String,
    pub occurred: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/statement.html")]
struct ShowPage {
    l: Layout,
    brand_id: i64,
    zone: String,
    csrf: String,
    s: StatementRow,
    paid_at: String,
    lines: Vec<LineRow>,
    more: bool,
}

fn parse_id(text: &str) -> poem::Result<i64> {
    text.parse::<i64>().map_err(|_| not_found())
}

#[handler]
pub async fn show(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, String)>,
) -> poem::Result<Response> {
    let id = parse_id(&id)?;
    let ctx = Ctx::load(req, admin, brand_id, "Statement", "statements").await?;
    let brand = ctx.brand.id;
    let (s, lines, partner) = ctx
        .state(req)
        .db(move |c| {
            let s = statements::get(c, brand, id)?;
            let lines = statements::lines(c, brand, id, None, SHOWN_LINES + 1)?;
            let partner = partners::get(c, brand, s.partner_id).map(|p| p.name);
            Ok((s, lines, partner.ok()))
        })
        .await
        .map_err(store_error)?;
    let tz = ctx.tz;
    let more = lines.len() > SHOWN_LINES as usize;
    let currency = s.currency.clone();
    let p = ShowPage {
        brand_id,
        zone: tz.name().to_string(),
        csrf: ctx.admin.csrf.clone(),
        paid_at: s
            .paid_at
            .map_or_else(String::new, |t| format::datetime(t, tz)),
        lines: lines
            .into_iter()
            .take(SHOWN_LINES as usize)
            .map(|l| LineRow {
                conversion_id: l.conversion_id,
                clawback: l.kind == LineKind::Clawback,
                amount: format::money(l.amount.0, &currency),
                occurred: format::datetime(l.occurred_at, tz),
            })
            .collect(),
        more,
        s: StatementRow {
            id: s.id,
            partner_id: s.partner_id,
            partner: partner.unwrap_or_else(|| format!("Partner #{}", s.partner_id)),
            total: format::money(s.total.0, &s.currency),
            currency: s.currency,
            through: s.through,
            paid: s.status == StatementStatus::Paid,
            lines: format::int(s.lines),
            created: format::datetime(s.created_at, tz),
        },
        l: {
            let mut l = ctx.l;
            l.title = format!("Statement #{id}");
            l
        },
    };
    Ok(render(req, brand, p))
}

/// `/b/{brand}/statements/{id}/lines.csv`: every line, as the API's CSV.
#[handler]
pub async fn csv(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, String)>,
) -> poem::Result<Response> {
    let id = parse_id(&id)?;
    let ctx = Ctx::load(req, admin, brand_id, "Statement", "statements").await?;
    let brand = ctx.brand.id;
    let table = ctx
        .state(req)
        .db(move |c| {
            let mut out = lines_header();
            let mut after = None;
            loop {
                let batch = statements::lines(c, brand, id, after, 5_000)?;
                out.extend(lines_csv(&batch));
                match batch.last() {
                    Some(l) if batch.len() == 5_000 => after = Some(l.id),
                    _ => return Ok(out),
                }
            }
        })
        .await
        .map_err(store_error)?;
    Ok(table
        .with_content_type("text/csv; charset=utf-8")
        .with_header(
            "Content-Disposition",
            format!("attachment; filename=\"statement-{id}.csv\""),
        )
        .into_response())
}

#[handler]
pub async fn pay(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Form(f): Form<CsrfOnly>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let ctx = Ctx::load(req, admin, brand_id, "Statement", "statements").await?;
    let brand: BrandId = ctx.brand.id;
    ctx.state(req)
        .writer
        .run(move |c, _| statements::pay(c, brand, id).map(|_| ()))
        .await
        .map_err(write_refused)?;
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/statements/{id}"),
        "statement_paid",
    ))
}

#[handler]
pub async fn delete(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Form(f): Form<CsrfOnly>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let ctx = Ctx::load(req, admin, brand_id, "Statement", "statements").await?;
    let brand = ctx.brand.id;
    ctx.state(req)
        .writer
        .run(move |c, _| statements::delete(c, brand, id))
        .await
        .map_err(write_refused)?;
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/statements"),
        "statement_deleted",
    ))
}
