//! Server-rendered pages (askama): what every page shares (layout and error pages, session and
//! CSRF, the form body limit, assets) and one module per area: `dashboard/` and `settings/`.

pub mod assets;
pub mod chart;
pub mod dashboard;
pub mod format;
pub mod page;
pub mod session;
pub mod settings;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route, get};

pub use page::MAX_FORM_BYTES;

/// Add every page and the assets to the app's routes, with the pages' own state as request data.
pub fn mount(route: Route) -> impl Endpoint {
    let route = dashboard::mount(settings::mount(route)).at("/assets/*path", get(assets::serve));
    route.data(Arc::new(settings::SettingsState::new()))
}
