//! AppState: what every handler shares. Cheap to clone.

use std::sync::Arc;

use crate::api::key_usage::KeyUsage;
use crate::api::rate_limit::RateLimiter;
use crate::config::Config;
use crate::db::Pool;
use crate::metrics::Metrics;
use crate::settings::SettingsState;
use crate::store;
use crate::tracking::catalog::Catalog;
use crate::tracking::unique::{UniqueWindow, WINDOW_SECS};
use crate::tracking::writer::Writer;

/// Bound on remembered visitors for the unique-click decision (about 50 bytes each).
const UNIQUE_CAPACITY: usize = 1_000_000;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: Pool,
    pub writer: Arc<Writer>,
    pub catalog: Arc<Catalog>,
    pub unique: Arc<UniqueWindow>,
    pub limiter: Arc<RateLimiter>,
    pub key_usage: Arc<KeyUsage>,
    /// Setup token and sign-in throttle of the settings pages.
    pub settings: Arc<SettingsState>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Open the database (migrating it), fill the caches, start the writer.
    pub fn open(config: Config) -> anyhow::Result<AppState> {
        let pool = crate::db::open(&config.data_dir)?;
        let metrics = Metrics::new(Some(config.data_dir.join(crate::db::DB_FILE)));
        let conn = pool.get()?;
        let catalog = Catalog::load(store::offers::all(&conn)?, store::partners::all(&conn)?);
        let unique = UniqueWindow::new(UNIQUE_CAPACITY);
        store::clicks::recent_visits(
            &conn,
            crate::domain::time::now() - WINDOW_SECS,
            |o, p, ip, ua, ts| {
                unique.visit(o, p, ip, ua, ts);
            },
        )?;
        drop(conn);
        let writer = Writer::start(&config.data_dir, config.fsync_each_commit, metrics.clone())?;
        Ok(AppState {
            limiter: Arc::new(RateLimiter::new(config.rate_limit)),
            config: Arc::new(config),
            pool,
            writer: Arc::new(writer),
            catalog: Arc::new(catalog),
            unique: Arc::new(unique),
            key_usage: Arc::new(KeyUsage::default()),
            settings: Arc::new(SettingsState::new()),
            metrics,
        })
    }

    /// Run blocking database work off the async workers.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut crate::db::Conn) -> store::StoreResult<T> + Send + 'static,
    ) -> store::StoreResult<T> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}
