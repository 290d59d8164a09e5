//! `/settings/brands`: the tenants, listed, created, renamed and given a time zone.

use crate::domain::ids::BrandId;
use crate::domain::name::{Name, NameError};
use crate::domain::time::parse_timezone;
use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::{Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;

use crate::domain::time::to_rfc3339;
use crate::state::AppState;
use crate::store::brands::BrandChange;
use crate::store::{StoreError, brands, keys};
use crate::web::page::{Layout, internal, not_found, redirect_with_flash, render};
use crate::web::session::{self, Admin};

pub struct BrandRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub active_keys: usize,
    /// The brand's zone, IANA name.
    pub timezone: String,
    /// The rename field: the name, or what was typed when the rename failed, with why.
    pub rename_value: String,
    pub rename_error: Option<String>,
    /// The zone field: the brand's zone, or what was typed when the change failed, with why.
    pub timezone_value: String,
    pub timezone_error: Option<String>,
}

/// Offered in the zone field's list; any IANA name may be typed.
pub const COMMON_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Mexico_City",
    "America/Bogota",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
];

#[derive(Template, WebTemplate)]
#[template(path = "settings/brands.html")]
struct BrandsPage {
    l: Layout,
    brands: Vec<BrandRow>,
    /// The create form as sent, with its error.
    new_name: String,
    new_error: Option<String>,
    zones: &'static [&'static str],
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NameForm {
    csrf: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TimezoneForm {
    csrf: String,
    timezone: String,
}

/// Brand names follow the one name rule (`domain::name`), worded for the settings pages.
pub fn check_name(raw: &str) -> Result<Name, String> {
    Name::parse(raw).map_err(|e| match e {
        NameError::Empty => "Enter a name.".into(),
        NameError::TooLong => format!("Use at most {} characters.", Name::MAX_CHARS),
    })
}

/// A zone is an IANA name the server knows (`domain::time::parse_timezone`, as the API takes
/// it), worded for the settings pages.
pub fn check_timezone(raw: &str) -> Result<chrono_tz::Tz, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Enter a time zone, e.g. Europe/Berlin or UTC.".into());
    }
    parse_timezone(name).ok_or_else(|| {
        format!("\u{201c}{name}\u{201d} is not a time zone this server knows. Use an IANA name such as Europe/Berlin or America/New_York (capitals matter).")
    })
}

/// A form that failed for one brand: which brand, what was typed, and why.
struct Failed {
    id: i64,
    typed: String,
    error: String,
}

async fn rows(state: &AppState) -> poem::Result<Vec<BrandRow>> {
    let (all, keys) = state
        .db(|c| Ok((brands::list(c)?, keys::list(c)?)))
        .await
        .map_err(internal)?;
    Ok(all
        .into_iter()
        .map(|b| BrandRow {
            active_keys: keys
                .iter()
                .filter(|k| k.brand_id == b.id && k.revoked_at.is_none())
                .count(),
            created: to_rfc3339(b.created_at)[..10].to_string(),
            id: b.id.get(),
            rename_value: b.name.clone(),
            rename_error: None,
            timezone: b.timezone.name().to_string(),
            timezone_value: b.timezone.name().to_string(),
            timezone_error: None,
            name: b.name,
        })
        .collect())
}

async fn page(
    req: &Request,
    admin: &Admin,
    new_name: String,
    new_error: Option<String>,
    failed_rename: Option<Failed>,
    failed_timezone: Option<Failed>,
    status: StatusCode,
) -> poem::Result<Response> {
    let mut brands = rows(session::state(req)).await?;
    if let Some(f) = failed_rename
        && let Some(b) = brands.iter_mut().find(|b| b.id == f.id)
    {
        b.rename_value = f.typed;
        b.rename_error = Some(f.error);
    }
    if let Some(f) = failed_timezone
        && let Some(b) = brands.iter_mut().find(|b| b.id == f.id)
    {
        b.timezone_value = f.typed;
        b.timezone_error = Some(f.error);
    }
    let page = BrandsPage {
        l: Layout::new(req, "Brands", "brands", Some(admin.signed_in())),
        brands,
        new_name,
        new_error,
        zones: COMMON_ZONES,
    };
    Ok(render(req, page, status))
}

#[handler]
pub async fn list(req: &Request, admin: Admin) -> poem::Result<Response> {
    page(req, &admin, String::new(), None, None, None, StatusCode::OK).await
}

#[handler]
pub async fn create(
    req: &Request,
    admin: Admin,
    Form(f): Form<NameForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let result = match check_name(&f.name) {
        Ok(name) => session::state(req)
            .db(move |c| brands::create(c, name.as_str()))
            .await
            .map_err(|e| match e {
                StoreError::Duplicate { .. } => {
                    Ok("A brand with this name exists already.".to_string())
                }
                e => Err(internal(e)),
            }),
        Err(msg) => Err(Ok(msg)),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(
            req,
            "/settings/brands",
            "brand_created",
        )),
        Err(Ok(msg)) => {
            page(
                req,
                &admin,
                f.name,
                Some(msg),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(Err(e)) => Err(e),
    }
}

#[handler]
pub async fn rename(
    req: &Request,
    admin: Admin,
    Path(id): Path<i64>,
    Form(f): Form<NameForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let result = match check_name(&f.name) {
        Ok(name) => session::state(req)
            .db(move |c| {
                let change = BrandChange {
                    name: Some(name),
                    ..BrandChange::default()
                };
                brands::update(c, BrandId::new(id), &change)
            })
            .await
            .map_err(|e| match e {
                StoreError::Duplicate { .. } => Ok("Another brand has this name.".to_string()),
                StoreError::NotFound => Err(not_found()),
                e => Err(internal(e)),
            }),
        Err(msg) => Err(Ok(msg)),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(
            req,
            "/settings/brands",
            "brand_renamed",
        )),
        Err(Ok(msg)) => {
            let failed = Failed {
                id,
                typed: f.name,
                error: msg,
            };
            page(
                req,
                &admin,
                String::new(),
                None,
                Some(failed),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(Err(e)) => Err(e),
    }
}

/// The brand's zone: its reports' default and the zone its pages show.
#[handler]
pub async fn set_timezone(
    req: &Request,
    admin: Admin,
    Path(id): Path<i64>,
    Form(f): Form<TimezoneForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    match check_timezone(&f.timezone) {
        Ok(tz) => {
            session::state(req)
                .db(move |c| {
                    let change = BrandChange {
                        timezone: Some(tz),
                        ..BrandChange::default()
                    };
                    brands::update(c, BrandId::new(id), &change)
                })
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => not_found(),
                    e => internal(e),
                })?;
            Ok(redirect_with_flash(
                req,
                "/settings/brands",
                "brand_timezone_set",
            ))
        }
        Err(msg) => {
            // An unknown brand is a 404 whatever was typed.
            session::state(req)
                .db(move |c| brands::get(c, BrandId::new(id)))
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => not_found(),
                    e => internal(e),
                })?;
            let failed = Failed {
                id,
                typed: f.timezone,
                error: msg,
            };
            page(
                req,
                &admin,
                String::new(),
                None,
                None,
                Some(failed),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
