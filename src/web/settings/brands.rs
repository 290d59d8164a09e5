//! `/settings/brands`: the tenants, listed, created and renamed.

use crate::domain::ids::BrandId;
use crate::domain::name::{Name, NameError};
use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::{Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;

use crate::domain::time::to_rfc3339;
use crate::state::AppState;
use crate::store::{StoreError, brands, keys};
use crate::web::page::{Layout, internal, not_found, redirect_with_flash, render};
use crate::web::session::{self, Admin};

pub struct BrandRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub active_keys: usize,
    /// The rename field: the name, or what was typed when the rename failed, with why.
    pub rename_value: String,
    pub rename_error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/brands.html")]
struct BrandsPage {
    l: Layout,
    brands: Vec<BrandRow>,
    /// The create form as sent, with its error.
    new_name: String,
    new_error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NameForm {
    csrf: String,
    name: String,
}

/// Brand names follow the one name rule (`domain::name`), worded for the settings pages.
pub fn check_name(raw: &str) -> Result<String, String> {
    Name::parse(raw)
        .map(Name::into_string)
        .map_err(|e| match e {
            NameError::Empty => "Enter a name.".into(),
            NameError::TooLong => format!("Use at most {} characters.", Name::MAX_CHARS),
        })
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
            name: b.name,
        })
        .collect())
}

async fn page(
    req: &Request,
    admin: &Admin,
    new_name: String,
    new_error: Option<String>,
    failed_rename: Option<(i64, String, String)>,
    status: StatusCode,
) -> poem::Result<Response> {
    let mut brands = rows(session::state(req)).await?;
    if let Some((id, typed, error)) = failed_rename
        && let Some(b) = brands.iter_mut().find(|b| b.id == id)
    {
        b.rename_value = typed;
        b.rename_error = Some(error);
    }
    let page = BrandsPage {
        l: Layout::new(req, "Brands", "brands", Some(admin.signed_in())),
        brands,
        new_name,
        new_error,
    };
    Ok(render(req, page, status))
}

#[handler]
pub async fn list(req: &Request, admin: Admin) -> poem::Result<Response> {
    page(req, &admin, String::new(), None, None, StatusCode::OK).await
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
            .db(move |c| brands::create(c, &name))
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
            .db(move |c| brands::rename(c, BrandId::new(id), &name))
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
            let failed = Some((id, f.name, msg));
            page(
                req,
                &admin,
                String::new(),
                None,
                failed,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(Err(e)) => Err(e),
    }
}
