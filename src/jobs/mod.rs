//! Background work on timers, beside the server. Each job is a task started by `serve` and
//! stopped with it; the work itself runs on the blocking pool through store functions.

use std::time::Duration;

use crate::db::Pool;
use crate::domain::time::now;
use crate::store::conversions;
use crate::store::key_usage::KeyUsage;
use crate::tracking::writer::Writer;
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

/// How often held conversions are looked at: a hold that has passed is approved within this.
const HOLDS_EVERY: Duration = Duration::from_secs(20);
/// Holds approved per writer job, so a backlog (a server that was down for days) is worked
/// off in slices between clicks rather than in one long transaction.
const HOLDS_PER_JOB: u32 = 500;

/// Approve held conversions whose hold has passed, as `system:hold`, through the writer: at
/// start (catching up on holds that ended while the server was stopped) and every
/// `HOLDS_EVERY` after.
pub fn spawn_holds(writer: Arc<Writer>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HOLDS_EVERY);
        loop {
            tick.tick().await;
            loop {
                let at = now();
                let done = writer
                    .run(move |conn, rollups| {
                        conversions::release_holds(conn, at, HOLDS_PER_JOB, rollups)
                    })
                    .await;
                match done {
                    Ok(n) if n as u32 == HOLDS_PER_JOB => continue,
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(approved = n, "held conversions approved");
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "approving held conversions failed; retrying later");
                        break;
                    }
                }
            }
        }
    })
}
