//! The brand's dashboard: Overview, Offers, Partners, Conversions, Reports. Pages read and
//! write through the same domain rules and store functions as the API (and the writer for
//! conversions), so a number or a rule exists once.

mod caps;
mod conversions;
mod forms;
mod numbers;
mod offers;
mod overview;
mod partners;
mod range;
mod reports;
mod rules;
mod statements;

use chrono_tz::Tz;
use poem::{Request, Response, Route, get, handler, post};

use crate::domain::ids::BrandId;
use crate::state::AppState;
use crate::store::brands::{self, Brand};
use crate::web::page::{self, BrandNav, Layout, internal, redirect, secured, store_error};
use crate::web::session::{self, Admin};

/// The brand last viewed, so `/` opens it again.
const BRAND_COOKIE: &str = "trcker_brand";

/// The brand's zone: every date on its pages is in it.
pub fn zone(b: &Brand) -> Tz {
    b.timezone
}

/// What every dashboard page starts from: the brand of the path (404 when there is none) and
/// the layout with the brand switcher.
pub struct Ctx {
    pub admin: Admin,
    pub brand: Brand,
    pub tz: Tz,
    pub l: Layout,
}

impl Ctx {
    pub async fn load(
        req: &Request,
        admin: Admin,
        brand_id: i64,
        title: impl Into<String>,
        active: &'static str,
    ) -> poem::Result<Ctx> {
        let state = session::state(req);
        let id = BrandId::new(brand_id);
        let (brand, all) = state
            .db(move |c| Ok((brands::get(c, id), brands::list(c)?)))
            .await
            .map_err(internal)?;
        let brand = match brand {
            Ok(b) => b,
            Err(e) => return Err(store_error(e)),
        };
        let tz = zone(&brand);
        let mut l = Layout::new(req, title, active, Some(admin.signed_in()));
        l.brand = Some(BrandNav {
            id: brand.id.get(),
            name: brand.name.clone(),
            zone: tz.name().to_string(),
            others: all
                .into_iter()
                .filter(|b| b.id != brand.id)
                .map(|b| (b.id.get(), b.name))
                .collect(),
        });
        Ok(Ctx {
            admin,
            brand,
            tz,
            l,
        })
    }

    pub fn state<'r>(&self, req: &'r Request) -> &'r AppState {
        session::state(req)
    }
}

/// Render a page of `brand`, remembering it as the one `/` opens.
pub fn render(req: &Request, brand: BrandId, tpl: impl poem::IntoResponse) -> Response {
    render_status(req, brand, tpl, poem::http::StatusCode::OK)
}

pub fn render_status(
    req: &Request,
    brand: BrandId,
    tpl: impl poem::IntoResponse,
    status: poem::http::StatusCode,
) -> Response {
    let mut resp = page::render(req, tpl, status);
    let id = brand.get().to_string();
    session::set_cookie(req, &mut resp, BRAND_COOKIE, &id, Some(365 * 86_400));
    resp
}

/// `/`: the Overview of the brand last viewed (or the first), or brand creation for a new
/// admin.
#[handler]
async fn home(req: &Request, _admin: Admin) -> poem::Result<Response> {
    let last = session::cookie(req, BRAND_COOKIE).and_then(|v| v.parse::<i64>().ok());
    let all = session::state(req)
        .db(|c| brands::list(c))
        .await
        .map_err(internal)?;
    let pick = last
        .and_then(|id| all.iter().find(|b| b.id.get() == id))
        .or(all.first());
    Ok(match pick {
        Some(b) => redirect(&format!("/b/{}", b.id.get())),
        None => page::redirect_with_flash(req, "/settings/brands", "first_brand"),
    })
}

/// Add the dashboard's pages to the app's routes.
pub fn mount(route: Route) -> Route {
    route
        .at("/", secured(get(home)))
        .at("/b/:brand", secured(get(overview::page)))
        .at("/b/:brand/offers", secured(get(offers::list)))
        .at(
            "/b/:brand/offers/new",
            secured(get(offers::new_form).post(offers::create)),
        )
        .at("/b/:brand/offers/:id", secured(get(offers::show)))
        .at(
            "/b/:brand/offers/:id/edit",
            secured(get(offers::edit_form).post(offers::update)),
        )
        .at(
            "/b/:brand/offers/:id/status",
            secured(get(offers::confirm_status).post(offers::set_status)),
        )
        .at("/b/:brand/offers/:id/caps", secured(post(caps::add)))
        .at(
            "/b/:brand/offers/:id/caps/:cap/delete",
            secured(post(caps::remove)),
        )
        .at("/b/:brand/partners", secured(get(partners::list)))
        .at(
            "/b/:brand/partners/new",
            secured(get(partners::new_form).post(partners::create)),
        )
        .at("/b/:brand/partners/:id", secured(get(partners::show)))
        .at(
            "/b/:brand/partners/:id/edit",
            secured(get(partners::edit_form).post(partners::update)),
        )
        .at(
            "/b/:brand/partners/:id/status",
            secured(get(partners::confirm_status).post(partners::set_status)),
        )
        .at("/b/:brand/partners/:id/rules", secured(post(rules::add)))
        .at(
            "/b/:brand/partners/:id/rules/:rule/delete",
            secured(post(rules::remove)),
        )
        .at(
            "/b/:brand/statements",
            secured(get(statements::list).post(statements::create)),
        )
        .at("/b/:brand/statements/:id", secured(get(statements::show)))
        .at(
            "/b/:brand/statements/:id/lines.csv",
            secured(get(statements::csv)),
        )
        .at(
            "/b/:brand/statements/:id/pay",
            secured(post(statements::pay)),
        )
        .at(
            "/b/:brand/statements/:id/delete",
            secured(post(statements::delete)),
        )
        .at("/b/:brand/reports", secured(get(reports::page)))
        .at("/b/:brand/reports.csv", secured(get(reports::csv)))
        // Conversions
        .at("/b/:brand/conversions", secured(get(conversions::list)))
        .at(
            "/b/:brand/conversions/bulk",
            secured(post(conversions::bulk)),
        )
        .at(
            "/b/:brand/conversions/:id",
            secured(get(conversions::detail)),
        )
        .at(
            "/b/:brand/conversions/:id/status",
            secured(post(conversions::set_status)),
        )
}
