//! Background work on timers, beside the server. Each job is a task started by `serve` and
//! stopped with it; the work itself runs on the blocking pool through store functions.

use std::time::Duration;

use crate::db::Pool;
use crate::store::key_usage::KeyUsage;
use std::sync::Arc;

/// How often gathered "last used" times of API keys are written.
const KEY_USAGE_EVERY: Duration = Duration::from_secs(5);

/// Write API keys' "last used" every few seconds, so an API call never waits on that write.
/// `serve` aborts the task at shutdown and flushes once more after the writer has stopped.
pub fn spawn_key_usage(usage: Arc<KeyUsage>, pool: Pool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(KEY_USAGE_EVERY);
        loop {
            tick.tick().await;
            let (usage, pool) = (usage.clone(), pool.clone());
            let _ = tokio::task::spawn_blocking(move || usage.flush(&pool)).await;
        }
    })
}
