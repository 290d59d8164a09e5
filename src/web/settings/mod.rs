//! The settings pages: first-run setup, sign-in, brands and API keys. One file per concern;
//! SQL lives in `store::{admins, sessions, brands, keys}`.

pub mod argon2_gate;
mod brands;
pub mod device;
mod keys;
mod login;
mod setup;
pub mod throttle;

use std::sync::Arc;

use crate::web::{page, session};

use poem::{Route, get, handler, post};

pub use login::FAILED as LOGIN_FAILED_MESSAGE;

/// What the settings pages keep in memory: the sign-in throttle with its device-cookie key,
/// and keys generated but not yet shown. Installed as request data by [`mount`].
pub struct SettingsState {
    pub throttle: throttle::Throttle,
    pub device_key: device::DeviceKey,
    pub fresh_keys: keys::FreshKeys,
}

impl SettingsState {
    pub fn new() -> SettingsState {
        SettingsState {
            throttle: throttle::Throttle::default(),
            device_key: device::DeviceKey::random(),
            fresh_keys: keys::FreshKeys::default(),
        }
    }
}

impl Default for SettingsState {
    fn default() -> Self {
        Self::new()
    }
}

fn state(req: &poem::Request) -> &SettingsState {
    req.data::<Arc<SettingsState>>()
        .expect("SettingsState is installed by settings::mount")
}

/// `/settings` itself: the keys page is what people come for.
#[handler]
async fn home(_admin: session::Admin) -> poem::Response {
    page::redirect("/settings/api-keys")
}

/// Anything else under /settings: the 404 page, with the security headers.
#[handler]
async fn missing() -> poem::Result<poem::Response> {
    Err(page::not_found())
}

/// Add the settings pages to the app's routes (their state is installed by `web::mount`).
pub fn mount(route: Route) -> Route {
    use page::secured;
    route
        .at("/setup", secured(get(setup::form).post(setup::submit)))
        .at("/login", secured(get(login::form).post(login::submit)))
        .at(
            "/logout",
            secured(get(login::confirm).post(login::submit_logout)),
        )
        .at("/settings", secured(get(home)))
        .at(
            "/settings/brands",
            secured(get(brands::list).post(brands::create)),
        )
        .at("/settings/brands/:id", secured(post(brands::rename)))
        .at(
            "/settings/brands/:id/timezone",
            secured(post(brands::set_timezone)),
        )
        .at(
            "/settings/api-keys",
            secured(get(keys::list).post(keys::generate)),
        )
        .at(
            "/settings/api-keys/:id/revoke",
            secured(get(keys::confirm).post(keys::revoke)),
        )
        .at("/settings/*rest", secured(missing))
}
