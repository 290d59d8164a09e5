//! The settings pages: first-run setup, sign-in, brands and API keys, server-rendered with
//! askama. One file per concern; SQL lives in `store::{admins, sessions, brands, keys}`.

pub mod account;
pub mod argon2_gate;
mod assets;
mod brands;
pub mod device;
mod keys;
mod login;
mod page;
pub mod session;
mod setup;
pub mod throttle;

use poem::{Route, get, handler, post};

pub use login::FAILED as LOGIN_FAILED_MESSAGE;
pub use page::MAX_FORM_BYTES;

/// What the settings pages keep in memory: the setup token, the sign-in throttle with its
/// device-cookie key, the bound on argon2 work, and keys generated but not yet shown.
pub struct SettingsState {
    setup_token: String,
    pub throttle: throttle::Throttle,
    pub device_key: device::DeviceKey,
    pub argon2: std::sync::Arc<argon2_gate::Argon2Gate>,
    pub fresh_keys: keys::FreshKeys,
}

impl SettingsState {
    /// A new setup token per process: it is printed at start-up and is only good while no
    /// admin exists.
    pub fn new() -> SettingsState {
        SettingsState {
            setup_token: hex_token(),
            throttle: throttle::Throttle::default(),
            device_key: device::DeviceKey::random(),
            argon2: argon2_gate::Argon2Gate::per_core(),
            fresh_keys: keys::FreshKeys::default(),
        }
    }

    pub fn setup_token(&self) -> &str {
        &self.setup_token
    }
}

/// 128 random bits as hex: easy to copy from a terminal, no leading `-` or odd characters.
fn hex_token() -> String {
    crate::domain::random::hex(&crate::domain::random::bytes::<16>())
}

impl Default for SettingsState {
    fn default() -> Self {
        Self::new()
    }
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

/// Add the settings pages and their assets to the app's routes.
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
            "/settings/api-keys",
            secured(get(keys::list).post(keys::generate)),
        )
        .at(
            "/settings/api-keys/:id/revoke",
            secured(get(keys::confirm).post(keys::revoke)),
        )
        .at("/settings/*rest", secured(missing))
        .at("/assets/*path", get(assets::serve))
}
