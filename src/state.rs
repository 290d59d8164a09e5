//! AppState: what every handler shares. Cheap to clone.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Pool;
use crate::db::files::UNIQUE_WINDOW_FILE;
use crate::heavy_reads::HeavyReads;
use crate::metrics::Metrics;
use crate::store;
use crate::store::key_cache::KeyCache;
use crate::store::key_usage::KeyUsage;
use crate::tracking::catalog::Catalog;
use crate::tracking::unique::{UniqueWindow, WINDOW_SECS};
use crate::tracking::writer::Writer;
use crate::work_gate::WorkGate;

/// Bound on remembered visitors for the unique-click decision (about 50 bytes each).
const UNIQUE_CAPACITY: usize = 1_000_000;

/// Clicks this long before a saved window was taken are replayed too: a click's time is read
/// (with its id) a moment before it enters the window, and the save may fall in between.
const REPLAY_MARGIN_SECS: i64 = 5;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: Pool,
    pub writer: Arc<Writer>,
    pub catalog: Arc<Catalog>,
    pub unique: Arc<UniqueWindow>,
    pub key_usage: Arc<KeyUsage>,
    /// Live API keys, remembered for a moment (revoke through it).
    pub keys: Arc<KeyCache>,
    /// A per-process secret that lets whoever reads the start-up output create the first admin
    /// (only while no admin exists).
    pub setup_token: Arc<str>,
    /// The bound on argon2 work running at once, shared by every page that hashes a password.
    pub argon2: Arc<WorkGate>,
    pub metrics: Arc<Metrics>,
    /// Where reports are built: low-priority threads, a bound per API key.
    pub heavy_reads: Arc<HeavyReads>,
}

impl AppState {
    /// Open the database (migrating it), fill the caches, start the writer.
    pub fn open(config: Config) -> anyhow::Result<AppState> {
        let pool = crate::db::open(&config.data_dir)?;
        let metrics = Metrics::new(Some(config.data_dir.join(crate::db::DB_FILE)));
        let conn = pool.get()?;
        let catalog = Catalog::load(
            store::offers::all_brands_for_catalog(&conn)?,
            store::partners::all_brands_for_catalog(&conn)?,
        );
        // The window as last saved, then the clicks committed since it was taken (two
        // integers each, on the primary key); without a saved window, the whole last day.
        let started = std::time::Instant::now();
        let now = crate::domain::time::now();
        let unique = UniqueWindow::with_key(UNIQUE_CAPACITY, store::clicks::visitor_key(&conn)?);
        let saved = unique.load(&config.data_dir.join(UNIQUE_WINDOW_FILE), now);
        let since = saved.map_or(now - WINDOW_SECS, |t| {
            (t - REPLAY_MARGIN_SECS).max(now - WINDOW_SECS)
        });
        let mut replayed = 0u64;
        store::clicks::recent_visits(&conn, since, |v, ts| {
            unique.visit_as(v, ts);
            replayed += 1;
        })?;
        tracing::info!(
            saved = saved.is_some(),
            replayed,
            visitors = unique.len(),
            ms = started.elapsed().as_millis() as u64,
            "unique-click window rebuilt"
        );
        drop(conn);
        let writer = Writer::start(
            &config.data_dir,
            config.fsync_each_commit,
            config.seal_step_rows,
            metrics.clone(),
        )?;
        Ok(AppState {
            config: Arc::new(config),
            pool,
            writer: Arc::new(writer),
            catalog: Arc::new(catalog),
            unique: Arc::new(unique),
            key_usage: Arc::new(KeyUsage::default()),
            keys: Arc::new(KeyCache::default()),
            setup_token: crate::domain::random::hex(&crate::domain::random::bytes::<16>()).into(),
            argon2: WorkGate::per_core(),
            heavy_reads: Arc::new(HeavyReads::start({
                let m = metrics.clone();
                Arc::new(move || m.clicks_committed())
            })?),
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
