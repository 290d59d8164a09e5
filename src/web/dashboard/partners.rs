//! `/b/{brand}/partners`: the list with search and status filter, create and edit (the API's
//! rules through `PartnerInput`), block with confirmation, and a partner's page with its
//! numbers, its link for every active offer and its latest conversions.

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
use crate::domain::ids::BrandId;
use crate::domain::partner::{PartnerDraft, PartnerInput};
use crate::domain::period::Preset;
use crate::domain::status::{OfferStatus, PartnerStatus};
use crate::store::conversions::{self, Filter};
use crate::store::partners::{self, Partner};
use crate::store::{StoreError, offers};
use crate::web::format;
use crate::web::page::{Layout, internal, not_found, redirect_with_flash, store_error};
use crate::web::session::{self, Admin};

const FIELDS: [&str; 2] = ["name", "email"];
const PAGE: u32 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/partners.html")]
struct ListPage {
    l: Layout,
    brand_id: i64,
    q: String,
    status: String,
    partners: Vec<Partner>,
    /// The query string of the next (older) page, when there is one.
    older: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    status: String,
    before: String,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[handler]
pub async fn list(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Query(lq): Query<ListQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Partners", "partners").await?;
    let status: Option<PartnerStatus> = lq.status.parse().ok();
    let before: Option<i64> = lq.before.parse().ok();
    let (brand, text) = (ctx.brand.id, lq.q.trim().to_string());
    let search = text.clone();
    let page = ctx
        .state(req)
        .db(move |c| {
            if search.is_empty() {
                partners::list(c, brand, status, before, PAGE)
            } else {
                partners::search(c, brand, &search, status, before, PAGE)
            }
        })
        .await
        .map_err(internal)?;
    let older = match (page.has_more, page.rows.last()) {
        (true, Some(last)) => Some(format!(
            "q={}&status={}&before={}",
            encode(&text),
            lq.status,
            last.id
        )),
        _ => None,
    };
    let p = ListPage {
        l: ctx.l,
        brand_id,
        q: text,
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        partners: page.rows,
        older,
    };
    Ok(render(req, brand, p))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct PartnerForm {
    csrf: String,
    name: String,
    email: String,
    status: String,
}

impl PartnerForm {
    fn of(p: &Partner) -> PartnerForm {
        PartnerForm {
            csrf: String::new(),
            name: p.name.clone(),
            email: p.email.clone(),
            status: p.status.as_str().into(),
        }
    }

    fn draft(&self) -> PartnerDraft {
        PartnerDraft {
            name: self.name.clone(),
            email: self.email.clone(),
            status: self.status.parse().unwrap_or(PartnerStatus::Active),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/partner_form.html")]
struct FormPage {
    l: Layout,
    brand_id: i64,
    partner_id: Option<i64>,
    f: PartnerForm,
    e: Errors,
}

fn form_page(
    req: &Request,
    ctx: Ctx,
    partner_id: Option<i64>,
    mut f: PartnerForm,
    e: Errors,
) -> Response {
    let status = if e.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let brand = ctx.brand.id;
    f.csrf = ctx.admin.csrf.clone();
    let p = FormPage {
        l: ctx.l,
        brand_id: brand.get(),
        partner_id,
        f,
        e,
    };
    render_status(req, brand, p, status)
}

/// A store refusal as a form error: a taken email stands next to the email field.
fn placed(e: StoreError, errors: &mut Errors) -> poem::Result<()> {
    match e {
        StoreError::Invalid(m) => errors.place(&m, &FIELDS),
        StoreError::Duplicate { field, value } => errors.place(
            &format!("{field} {value} is already used by another partner of this brand"),
            &FIELDS,
        ),
        e => return Err(store_error(e)),
    }
    Ok(())
}

#[handler]
pub async fn new_form(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "New partner", "partners").await?;
    let f = PartnerForm {
        status: "active".into(),
        ..PartnerForm::default()
    };
    Ok(form_page(req, ctx, None, f, Errors::default()))
}

#[handler]
pub async fn create(
    req: &Request,
    admin: Admin,
    Path(brand_id): Path<i64>,
    Form(f): Form<PartnerForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let ctx = Ctx::load(req, admin, brand_id, "New partner", "partners").await?;
    let mut e = Errors::default();
    let input = match PartnerInput::try_from(f.draft()) {
        Ok(i) => i,
        Err(m) => {
            e.place(&m, &FIELDS);
            return Ok(form_page(req, ctx, None, f, e));
        }
    };
    let brand = ctx.brand.id;
    let state = ctx.state(req);
    match state.db(move |c| partners::create(c, brand, &input)).await {
        Ok(p) => {
            state.catalog.put_partner(&p);
            Ok(redirect_with_flash(
                req,
                &format!("/b/{brand_id}/partners/{}", p.id),
                "partner_created",
            ))
        }
        Err(err) => {
            placed(err, &mut e)?;
            Ok(form_page(req, ctx, None, f, e))
        }
    }
}

async fn load_partner(ctx: &Ctx, req: &Request, id: i64) -> poem::Result<Partner> {
    let brand = ctx.brand.id;
    ctx.state(req)
        .db(move |c| partners::get(c, brand, id))
        .await
        .map_err(store_error)
}

#[handler]
pub async fn edit_form(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Edit partner", "partners").await?;
    let p = load_partner(&ctx, req, id).await?;
    Ok(form_page(
        req,
        ctx,
        Some(id),
        PartnerForm::of(&p),
        Errors::default(),
    ))
}

#[handler]
pub async fn update(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Form(f): Form<PartnerForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let ctx = Ctx::load(req, admin, brand_id, "Edit partner", "partners").await?;
    let draft = f.draft();
    let (brand, catalog) = (ctx.brand.id, ctx.state(req).catalog.clone());
    let saved = ctx
        .state(req)
        .db(move |c| {
            partners::modify(
                c,
                brand,
                id,
                move |_| PartnerInput::try_from(draft),
                |p| catalog.put_partner(p),
            )
        })
        .await;
    match saved {
        Ok(_) => Ok(redirect_with_flash(
            req,
            &format!("/b/{brand_id}/partners/{id}"),
            "partner_saved",
        )),
        Err(err) => {
            let mut e = Errors::default();
            placed(err, &mut e)?;
            Ok(form_page(req, ctx, Some(id), f, e))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/partner_status.html")]
struct StatusPage {
    l: Layout,
    brand_id: i64,
    partner_id: i64,
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

#[handler]
pub async fn confirm_status(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Query(q): Query<StatusForm>,
) -> poem::Result<Response> {
    let to: PartnerStatus = q.to.parse().map_err(|_| not_found())?;
    let ctx = Ctx::load(req, admin, brand_id, "Change partner status", "partners").await?;
    let p = load_partner(&ctx, req, id).await?;
    let brand = ctx.brand.id;
    let page = StatusPage {
        csrf: ctx.admin.csrf.clone(),
        l: ctx.l,
        brand_id,
        partner_id: id,
        name: p.name,
        to: to.as_str(),
    };
    Ok(render(req, brand, page))
}

#[handler]
pub async fn set_status(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Form(f): Form<StatusForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let to: PartnerStatus = f.to.parse().map_err(|_| not_found())?;
    let state = session::state(req);
    let (brand, catalog) = (BrandId::new(brand_id), state.catalog.clone());
    let merge = move |cur: Partner| {
        let mut d = PartnerForm::of(&cur).draft();
        d.status = to;
        PartnerInput::try_from(d)
    };
    match state
        .db(move |c| partners::modify(c, brand, id, merge, |p| catalog.put_partner(p)))
        .await
    {
        Ok(_) => Ok(redirect_with_flash(
            req,
            &format!("/b/{brand_id}/partners/{id}"),
            "partner_saved",
        )),
        Err(e) => Err(store_error(e)),
    }
}

/// A partner's link for one active offer.
pub struct OfferLink {
    pub offer_id: i64,
    pub name: String,
    pub link: String,
}

/// One of the partner's latest conversions.
pub struct RecentConversion {
    pub id: i64,
    pub offer_id: i64,
    pub status: &'static str,
    pub payout: String,
    pub when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard/partner.html")]
struct ShowPage {
    l: Layout,
    brand_id: i64,
    zone: String,
    partner: Partner,
    range: Chosen,
    n: Numbers,
    links: Vec<OfferLink>,
    recent: Vec<RecentConversion>,
    csrf: String,
    rules: Vec<super::rules::RuleRow>,
    earn: Vec<super::rules::EarnRow>,
    /// Every offer of the brand, for the rule form: (id, name).
    all_offers: Vec<(i64, String)>,
}

#[handler]
pub async fn show(
    req: &Request,
    admin: Admin,
    Path((brand_id, id)): Path<(i64, i64)>,
    Query(q): Query<RangeQuery>,
) -> poem::Result<Response> {
    let ctx = Ctx::load(req, admin, brand_id, "Partner", "partners").await?;
    let partner = load_partner(&ctx, req, id).await?;
    let range = range::choose(&q, ctx.tz, Preset::Last30);
    let numbers = Requests::new(&range, ctx.tz, None, Some(id))?;
    let brand = ctx.brand.id;
    let (n, all, recent, rules) = ctx
        .state(req)
        .db(move |c| {
            let n = numbers.run(c, brand)?;
            let all = offers::list(c, brand, None, None, 500)?.rows;
            let filter = Filter {
                partner_id: Some(id),
                ..Filter::default()
            };
            let recent = conversions::list(c, brand, &filter, None, 10)?.rows;
            let of_partner = crate::store::payout_rules::Filter {
                partner_id: Some(id),
                offer_id: None,
            };
            let rules = crate::store::payout_rules::list(c, brand, of_partner, None, 100)?.rows;
            Ok((n, all, recent, rules))
        })
        .await
        .map_err(internal)?;
    let active: Vec<crate::store::offers::Offer> = all
        .iter()
        .filter(|o| o.status == OfferStatus::Active)
        .cloned()
        .collect();
    let (rules, earn) = super::rules::rows(&rules, &all, id, ctx.tz);
    let config = &ctx.state(req).config;
    let base = crate::client_ip::public_base(req, config.public_url.as_deref(), config.trust_proxy);
    let tz = ctx.tz;
    let page = ShowPage {
        csrf: ctx.admin.csrf.clone(),
        rules,
        earn: earn
            .into_iter()
            .filter(|e| active.iter().any(|o| o.id == e.offer_id))
            .collect(),
        all_offers: all.iter().map(|o| (o.id, o.name.clone())).collect(),
        zone: tz.name().to_string(),
        l: {
            let mut l = ctx.l;
            l.title = partner.name.clone();
            l
        },
        brand_id,
        links: active
            .into_iter()
            .map(|o| OfferLink {
                link: format!("{base}/c/{}/{id}", o.id),
                offer_id: o.id,
                name: o.name,
            })
            .collect(),
        recent: recent
            .into_iter()
            .map(|c| RecentConversion {
                id: c.id,
                offer_id: c.offer_id,
                status: c.status.as_str(),
                payout: format::money(c.payout.0, &c.currency),
                when: format::datetime(c.occurred_at, tz),
            })
            .collect(),
        partner,
        range,
        n,
    };
    Ok(render(req, brand, page))
}
