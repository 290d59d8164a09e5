//! `/b/{brand}/offers`: the list with each offer's last 30 days, create and edit (the API's
//! rules through `OfferInput`), pause and archive with confirmation, and an offer's page with
//! its numbers and the tracking-link builder.

use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::forms::Errors;
use super::numbers::{Numbers, Requests};
use super::range::{self, Chosen, RangeQuery};
use super::{Ctx, render, render_status};
use crate::domain::money::Money;
use crate::domain::offer::{OfferDraft, OfferInput};
use crate::domain::period::{Period, Preset};
use crate::domain::report::{Dims, GroupBy, Metrics, today};
use crate::domain::status::{OfferStatus, PartnerStatus, PayoutType};
use crate::store::offers::{self, Offer};
use crate::store::{StoreError, partners, reports};
use crate::web::format;
use crate::web::page::{Layout, internal, not_found, redirect_with_flash, store_error};
use crate::web::session::{self, Admin};

/// Fields of the offer form, in the order the domain checks them.
const FIELDS: [&str; 5] = ["name", "destination_url", "payout", "currency", "hold_days"];

/// An offer as the list shows it.
pub struct OfferRow {
    pub id: i64,
    pub name: String,
    pub status: &'static str,
    pub terms: String,
    pub clicks: String,
    pub conversions: String,
    pub revenue: String,
    pub payout: String,
}

/// "$12.50 per conversion" or "10.00% of the sale".
fn terms(o: &Offer) -> String {
    match o.payout_type {
        PayoutType::Cpa => format!("{} per conversion", format::money(o.payout.0, &o.currency)),
        PayoutType::Revshare => {
            format!("{}.{:02}% of the sale", o.payout.0 / 100, o.payout.0 % 100)
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/offers.html")]
struct ListPage {
    l: Layout,
    brand_id: i64,
    status: String,
    offers: Vec<OfferRow>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    status: String,
}

#[handler]
pub async fn list(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Query(q): Query<ListQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Offers", "offers").await?;
    let status: Option<OfferStatus> = q.status.parse().ok();
    let (brand, tz) = (ctx.brand.id, ctx.tz);
    let by_offer = GroupBy {
        time: None,
        dims: Dims {
            offer: true,
            ..Dims::default()
        },
    };
    let last30 = range::request(
        Period::of(Preset::Last30, today(tz)),
        tz,
        by_offer,
        None,
        None,
    )?;
    let (all, report) = ctx
        .state(req)
        .db(move |c| {
            // Every offer of the brand, page by page (a brand has tens, not millions).
            let mut all = Vec::new();
            let mut before = None;
            loop {
                let page = offers::list(c, brand, status, before, 500)?;
                before = page.rows.last().map(|o| o.id);
                all.extend(page.rows);
                if !page.has_more {
                    break;
                }
            }
            Ok((all, reports::report(c, brand, &last30)?))
        })
        .await
        .map_err(internal)?;
    let rows = all
        .into_iter()
        .map(|o| {
            let mut m = Metrics::default();
            for r in report.rows.iter().filter(|r| r.offer_id == Some(o.id)) {
                m.add(&r.metrics);
            }
            OfferRow {
                id: o.id,
                status: o.status.as_str(),
                terms: terms(&o),
                clicks: format::int(m.clicks),
                conversions: format::int(m.conversions),
                revenue: format::money(m.revenue, &o.currency),
                payout: format::money(m.payout, &o.currency),
                name: o.name,
            }
        })
        .collect();
    let p = ListPage {
        l: ctx.l,
        brand_id,
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        offers: rows,
    };
    Ok(render(req, brand, p))
}

/// The offer form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct OfferForm {
    csrf: String,
    name: String,
    destination_url: String,
    payout_type: String,
    payout: String,
    currency: String,
    status: String,
    hold_days: String,
}

impl OfferForm {
    fn of(o: &Offer) -> OfferForm {
        OfferForm {
            csrf: String::new(),
            name: o.name.clone(),
            destination_url: o.destination_url.clone(),
            payout_type: o.payout_type.as_str().into(),
            payout: format!("{}.{:02}", o.payout.0 / 100, o.payout.0 % 100),
            currency: o.currency.clone(),
            status: o.status.as_str().into(),
            hold_days: o.hold_days.to_string(),
        }
    }

    /// The draft the domain checks; a payout that is not a number is refused here, worded
    /// like the API's.
    fn draft(&self) -> Result<OfferDraft, String> {
        let payout = self
            .payout
            .trim()
            .parse::<f64>()
            .map_err(|_| "payout must be a number such as 12.50".to_string())
            .and_then(|v| Money::from_json(v, "payout"))?;
        let hold = self.hold_days.trim();
        let hold_days = if hold.is_empty() {
            0
        } else {
            hold.parse::<i64>()
                .map_err(|_| "hold_days must be a whole number of days".to_string())?
        };
        Ok(OfferDraft {
            hold_days,
            name: self.name.clone(),
            destination_url: self.destination_url.trim().to_string(),
            payout_type: self.payout_type.parse().unwrap_or(PayoutType::Cpa),
            payout,
            currency: self.currency.trim().to_string(),
            status: self.status.parse().unwrap_or(OfferStatus::Active),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/offer_form.html")]
struct FormPage {
    l: Layout,
    brand_id: i64,
    /// `None` for a new offer.
    offer_id: Option<i64>,
    f: OfferForm,
    e: Errors,
}

fn form_page(req: &Request, ctx: Ctx, offer_id: Option<i64>, f: OfferForm, e: Errors) -> Response {
    let status = if e.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let brand = ctx.brand.id;
    let mut f = f;
    f.csrf = ctx.admin.csrf.clone();
    let p = FormPage {
        l: ctx.l,
        brand_id: brand.get(),
        offer_id,
        f,
        e,
    };
    render_status(req, brand, p, status)
}

#[handler]
pub async fn new_form(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "New offer", "offers").await?;
    let f = OfferForm {
        payout_type: "cpa".into(),
        currency: "USD".into(),
        hold_days: "0".into(),
        status: "active".into(),
        ..OfferForm::default()
    };
    Ok(form_page(req, ctx, None, f, Errors::default()))
}

#[handler]
pub async fn create(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Form(f): Form<OfferForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let ctx = Ctx::load(req, admin, brand_id, "New offer", "offers").await?;
    let mut e = Errors::default();
    let input = match f.draft().and_then(OfferInput::try_from) {
        Ok(i) => i,
        Err(m) => {
            e.place(&m, &FIELDS);
            return Ok(form_page(req, ctx, None, f, e));
        }
    };
    let brand = ctx.brand.id;
    let state = ctx.state(req);
    let offer = state
        .db(move |c| offers::create(c, brand, &input))
        .await
        .map_err(internal)?;
    state.catalog.put_offer(&offer);
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/offers/{}", offer.id),
        "offer_created",
    ))
}

async fn load_offer(ctx: &Ctx, req: &Request, id: i64) -> poem::Result<Offer> {
    let brand = ctx.brand.id;
    ctx.state(req)
        .db(move |c| offers::get(c, brand, id))
        .await
        .map_err(store_error)
}

#[handler]
pub async fn edit_form(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Edit offer", "offers").await?;
    let o = load_offer(&ctx, req, id).await?;
    Ok(form_page(
        req,
        ctx,
        Some(id),
        OfferForm::of(&o),
        Errors::default(),
    ))
}

/// Save an edit through the API's read-check-write (`offers::modify`), which keeps the
/// tracking catalog in step; the currency stays the offer's.
#[handler]
pub async fn update(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Form(f): Form<OfferForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let ctx = Ctx::load(req, admin, brand_id, "Edit offer", "offers").await?;
    let mut e = Errors::default();
    let draft = match f.draft() {
        Ok(d) => d,
        Err(m) => {
            e.place(&m, &FIELDS);
            return Ok(form_page(req, ctx, Some(id), f, e));
        }
    };
    let (brand, catalog) = (ctx.brand.id, ctx.state(req).catalog.clone());
    let merge = move |cur: Offer| {
        OfferInput::try_from(OfferDraft {
            currency: cur.currency,
            ..draft
        })
    };
    let saved = ctx
        .state(req)
        .db(move |c| offers::modify(c, brand, id, merge, |o| catalog.put_offer(o)))
        .await;
    match saved {
        Ok(_) => Ok(redirect_with_flash(
            req,
            &format!("/b/{brand_id}/offers/{id}"),
            "offer_saved",
        )),
        Err(StoreError::Invalid(m)) => {
            e.place(&m, &FIELDS);
            let mut f = f;
            // The currency field is shown as the offer's, which the form can't change.
            f.currency = load_offer(&ctx, req, id).await?.currency;
            Ok(form_page(req, ctx, Some(id), f, e))
        }
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/offer_status.html")]
struct StatusPage {
    l: Layout,
    brand_id: i64,
    offer_id: i64,
    name: String,
    to: &'static str,
    csrf: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    csrf: String,
    to: String,
}

/// Confirm a pause, archive or reactivation before it stops (or starts) the offer's links.
#[handler]
pub async fn confirm_status(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Query(q): Query<StatusForm>,
) -> poem::Result<Response> {
    let to: OfferStatus = q.to.parse().map_err(|_| not_found())?;
    let ctx = Ctx::load(req, admin, brand_id, "Change offer status", "offers").await?;
    let o = load_offer(&ctx, req, id).await?;
    let brand = ctx.brand.id;
    let p = StatusPage {
        csrf: ctx.admin.csrf.clone(),
        l: ctx.l,
        brand_id,
        offer_id: id,
        name: o.name,
        to: to.as_str(),
    };
    Ok(render(req, brand, p))
}

#[handler]
pub async fn set_status(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Form(f): Form<StatusForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let to: OfferStatus = f.to.parse().map_err(|_| not_found())?;
    let state = session::state(req);
    let (brand, catalog) = (
        crate::domain::ids::BrandId::new(brand_id),
        state.catalog.clone(),
    );
    let merge = move |cur: Offer| {
        let mut d = OfferForm::of(&cur).draft()?;
        d.status = to;
        OfferInput::try_from(d)
    };
    match state
        .db(move |c| offers::modify(c, brand, id, merge, |o| catalog.put_offer(o)))
        .await
    {
        Ok(_) => Ok(redirect_with_flash(
            req,
            &format!("/b/{brand_id}/offers/{id}"),
            "offer_saved",
        )),
        Err(e) => Err(store_error(e)),
    }
}

/// The tracking-link builder's fields.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ShowQuery {
    #[serde(flatten)]
    range: RangeQuery,
    partner_id: String,
    sub1: String,
    sub2: String,
    sub3: String,
    sub4: String,
    sub5: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/offer.html")]
struct ShowPage {
    l: Layout,
    brand_id: i64,
    zone: String,
    offer: Offer,
    terms: String,
    range: Chosen,
    n: Numbers,
    partners: Vec<(i64, String, bool)>,
    subs: [String; 5],
    /// The exact link for the chosen partner and sub ids.
    link: Option<String>,
    /// The partner-independent form of the link, as the API gives it.
    template: String,
    csrf: String,
    caps: Vec<super::caps::CapRow>,
}

#[handler]
pub async fn show(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Query(q): Query<ShowQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Offer", "offers").await?;
    let offer = load_offer(&ctx, req, id).await?;
    let range = range::choose(&q.range, ctx.tz, Preset::Last30);
    let numbers = Requests::new(&range, ctx.tz, Some(id), None)?;
    let brand = ctx.brand.id;
    let (tz, currency) = (ctx.tz, offer.currency.clone());
    let (n, active, caps) = ctx
        .state(req)
        .db(move |c| {
            let n = numbers.run(c, brand)?;
            let all = partners::list(c, brand, None, None, 500)?.rows;
            let name = |p: i64| {
                all.iter()
                    .find(|a| a.id == p)
                    .map_or_else(|| format!("Partner #{p}"), |a| a.name.clone())
            };
            let caps = super::caps::rows(c, brand, id, &currency, tz, name)?;
            let active = all
                .iter()
                .filter(|p| p.status == PartnerStatus::Active)
                .cloned()
                .collect::<Vec<_>>();
            Ok((n, active, caps))
        })
        .await
        .map_err(internal)?;
    let chosen: Option<i64> = q.partner_id.parse().ok();
    let base = crate::client_ip::public_base(
        req,
        ctx.state(req).config.public_url.as_deref(),
        ctx.state(req).config.trust_proxy,
    );
    let subs = [q.sub1, q.sub2, q.sub3, q.sub4, q.sub5];
    let link = chosen
        .filter(|p| active.iter().any(|a| a.id == *p))
        .and_then(|p| tracking_link(&base, id, p, &subs));
    let p = ShowPage {
        csrf: ctx.admin.csrf.clone(),
        caps,
        zone: ctx.tz.name().to_string(),
        l: {
            let mut l = ctx.l;
            l.title = offer.name.clone();
            l
        },
        brand_id,
        terms: terms(&offer),
        template: format!("{base}/c/{id}/{{partner_id}}"),
        offer,
        range,
        n,
        partners: active
            .into_iter()
            .map(|p| (p.id, p.name, Some(p.id) == chosen))
            .collect(),
        subs,
        link,
    };
    Ok(render(req, brand, p))
}

/// `{base}/c/{offer}/{partner}?sub1=..` with the filled sub ids, encoded.
pub fn tracking_link(base: &str, offer: i64, partner: i64, subs: &[String; 5]) -> Option<String> {
    let mut url = url::Url::parse(&format!("{base}/c/{offer}/{partner}")).ok()?;
    let filled: Vec<(String, &str)> = subs
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(i, v)| (format!("sub{}", i + 1), v.trim()))
        .collect();
    if !filled.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, v) in &filled {
            q.append_pair(k, v);
        }
    }
    Some(url.to_string())
}
