//! `/settings/api-keys`: keys per brand, generating one (the POST redirects to the keys page,
//! which shows its full text once; never stored, held in memory only until then), and
//! revoking with a confirmation step.

use crate::domain::ids::BrandId;
use askama::Template;
use askama_web::WebTemplate;
use poem::http::StatusCode;
use poem::web::{Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;

use crate::state::AppState;
use crate::store::{StoreError, brands, keys};
use crate::web::page::{
    Layout, internal, not_found, redirect, redirect_with_flash, render, store_error,
};
use crate::web::session::{self, Admin};

pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    /// When revoked, the date it happened.
    pub revoked: Option<String>,
}

pub struct BrandKeys {
    pub id: i64,
    pub name: String,
    pub keys: Vec<KeyRow>,
}

/// Keys generated but not yet shown, per browser session: "Generate key" redirects to the
/// keys page (so a reload can't make a second key), which takes the key out to show it once.
#[derive(Default)]
pub struct FreshKeys {
    waiting: std::sync::Mutex<std::collections::HashMap<Vec<u8>, (NewKey, std::time::Instant)>>,
}

/// A key not picked up by then is dropped: its text should not linger in memory.
const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(120);

impl FreshKeys {
    fn put(&self, session: &[u8], key: NewKey) {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.retain(|_, (_, at)| at.elapsed() < FRESH_FOR);
        w.insert(session.to_vec(), (key, std::time::Instant::now()));
    }

    fn take(&self, session: &[u8]) -> Option<NewKey> {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.remove(session)
            .filter(|(_, at)| at.elapsed() < FRESH_FOR)
            .map(|(k, _)| k)
    }
}

/// The key just generated, waiting in [`FreshKeys`] (at most `FRESH_FOR`) to be shown once;
/// the only time its full text exists on the server.
pub struct NewKey {
    pub full: String,
    pub name: String,
    pub brand: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/keys.html")]
struct KeysPage {
    l: Layout,
    groups: Vec<BrandKeys>,
    form_name: String,
    form_brand: i64,
    name_error: Option<String>,
    brand_error: Option<String>,
    new_key: Option<NewKey>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GenerateForm {
    csrf: String,
    name: String,
    brand_id: i64,
}

/// `2026-11-28 20:54 UTC`: what an admin reads, not what an API returns.
fn when(ts: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

async fn groups(state: &AppState) -> poem::Result<Vec<BrandKeys>> {
    let (brands, keys) = state
        .db(|c| Ok((brands::list(c)?, keys::list(c)?)))
        .await
        .map_err(internal)?;
    let pending = state.key_usage.pending();
    Ok(brands
        .into_iter()
        .map(|b| BrandKeys {
            keys: keys
                .iter()
                .filter(|k| k.brand_id == b.id)
                .map(|k| {
                    let used = k.last_used_at.max(pending.get(&k.id).copied());
                    KeyRow {
                        id: k.id,
                        name: k.name.clone(),
                        prefix: k.prefix.clone(),
                        created: when(k.created_at),
                        last_used: used.map_or_else(|| "never".to_string(), when),
                        revoked: k.revoked_at.map(when),
                    }
                })
                .collect(),
            id: b.id.get(),
            name: b.name,
        })
        .collect())
}

async fn page(
    req: &Request,
    admin: &Admin,
    mut p: KeysPage,
    status: StatusCode,
) -> poem::Result<Response> {
    p.l = Layout::new(req, "API keys", "keys", Some(admin.signed_in()));
    p.groups = groups(session::state(req)).await?;
    Ok(render(req, p, status))
}

fn blank() -> KeysPage {
    KeysPage {
        l: Layout {
            title: String::new(),
            active: "",
            user: None,
            flash: None,
            brand: None,
        },
        groups: Vec::new(),
        form_name: String::new(),
        form_brand: 0,
        name_error: None,
        brand_error: None,
        new_key: None,
    }
}

#[handler]
pub async fn list(req: &Request, admin: Admin) -> poem::Result<Response> {
    let new_key = super::state(req).fresh_keys.take(admin.session_key());
    page(req, &admin, KeysPage { new_key, ..blank() }, StatusCode::OK).await
}

#[handler]
pub async fn generate(
    req: &Request,
    admin: Admin,
    Form(f): Form<GenerateForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let name = f.name.trim().to_string();
    let mut p = KeysPage {
        form_name: f.name.clone(),
        form_brand: f.brand_id,
        ..blank()
    };
    match name.chars().count() {
        0 => {
            p.name_error =
                Some("Name the key after where it will be used, e.g. \"shop backend\".".into())
        }
        n if n > 100 => p.name_error = Some("Use at most 100 characters.".into()),
        _ => {}
    }
    if p.name_error.is_none() {
        let brand_id = f.brand_id;
        let made = session::state(req)
            .db(move |c| {
                let brand = brands::get(c, BrandId::new(brand_id))?;
                let (_, full) = keys::create(c, brand.id, &name)?;
                Ok(NewKey {
                    full,
                    name,
                    brand: brand.name,
                })
            })
            .await;
        match made {
            Ok(k) => {
                // Shown by the page this redirects to, once; a reload shows the list without it.
                super::state(req).fresh_keys.put(admin.session_key(), k);
                return Ok(redirect("/settings/api-keys"));
            }
            Err(StoreError::NotFound) => p.brand_error = Some("Choose a brand.".into()),
            Err(e) => return Err(internal(e)),
        }
    }
    page(req, &admin, p, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Template, WebTemplate)]
#[template(path = "settings/revoke.html")]
struct RevokePage {
    l: Layout,
    csrf: String,
    brand: String,
    key: KeyRow,
}

/// The confirmation step: a page of its own, so it works without JavaScript.
#[handler]
pub async fn confirm(req: &Request, admin: Admin, Path(id): Path<i64>) -> poem::Result<Response> {
    let found = groups(session::state(req))
        .await?
        .into_iter()
        .find_map(|g| {
            let name = g.name;
            g.keys.into_iter().find(|k| k.id == id).map(|k| (name, k))
        });
    let Some((brand, key)) = found.filter(|(_, k)| k.revoked.is_none()) else {
        return Err(not_found());
    };
    let p = RevokePage {
        l: Layout::new(req, "Revoke key", "keys", Some(admin.signed_in())),
        csrf: admin.csrf.clone(),
        brand,
        key,
    };
    Ok(render(req, p, StatusCode::OK))
}

#[handler]
pub async fn revoke(
    req: &Request,
    admin: Admin,
    Path(id): Path<i64>,
    Form(f): Form<session::CsrfOnly>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    // Revoked through the API's key cache, which forgets every key: this takes effect at once.
    let cache = session::state(req).keys.clone();
    match session::state(req).db(move |c| cache.revoke(c, id)).await {
        Ok(()) => Ok(redirect_with_flash(
            req,
            "/settings/api-keys",
            "key_revoked",
        )),
        Err(e) => Err(store_error(e)),
    }
}
