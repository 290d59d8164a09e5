//! Background work on timers, beside the server. Each job is a task started by `serve` and
//! stopped with it; the work itself runs on the blocking pool through store functions.

use std::time::Duration;

use crate::db::Pool;
use crate::domain::time::now;
use crate::store::key_usage::KeyUsage;
use crate::store::{brands, clicks, conversions};
use crate::tracking::unique::UniqueWindow;
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

/// How often retention looks for expired clicks.
const RETENTION_EVERY: Duration = Duration::from_secs(60);
/// Clicks deleted per writer op: a few milliseconds of the writer's time, so clicks and
/// postbacks queued behind it wait no longer than behind a busy batch.
const RETENTION_BATCH: u32 = 1_000;
/// The pause between two batches, for the writer to work off what queued meanwhile.
const RETENTION_PAUSE: Duration = Duration::from_millis(20);

/// Delete raw clicks older than `days`, at start and every `RETENTION_EVERY`, in batches of
/// `RETENTION_BATCH` through the writer (the ids are read off it, on the pool).
pub fn spawn_retention(days: u32, writer: Arc<Writer>, pool: Pool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RETENTION_EVERY);
        loop {
            tick.tick().await;
            let before = now() - i64::from(days) * 86_400;
            match prune_clicks(&writer, &pool, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "expired clicks deleted"),
                Err(e) => {
                    tracing::warn!(error = %e, "deleting expired clicks failed; retrying later")
                }
            }
        }
    })
}

/// Delete every click made before `before`, brand by brand, a batch per writer op; how many.
pub async fn prune_clicks(writer: &Writer, pool: &Pool, before: i64) -> anyhow::Result<usize> {
    let brand_ids = {
        let pool = pool.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<_>> {
            let conn = pool.get()?;
            Ok(brands::list(&conn)?.into_iter().map(|b| b.id).collect())
        })
        .await??
    };
    let mut deleted = 0;
    for brand in brand_ids {
        loop {
            let pool = pool.clone();
            let ids = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<clicks::Key>> {
                let conn = pool.get()?;
                Ok(clicks::expired(&conn, brand, before, RETENTION_BATCH)?)
            })
            .await??;
            if ids.is_empty() {
                break;
            }
            let full = ids.len() == RETENTION_BATCH as usize;
            deleted += writer
                .run(move |conn, _| {
                    // Not a click the sub-id rollups' backfill has yet to sum: it would be
                    // missing from them for good (the rollups keep what was deleted).
                    let before = before.min(crate::store::sub_rollups::summed_before(conn)?);
                    clicks::delete_expired(conn, brand, &ids, before)
                })
                .await?;
            if !full {
                break;
            }
            tokio::time::sleep(RETENTION_PAUSE).await;
        }
    }
    Ok(deleted)
}

/// How often the snapshot job looks at the unique-click window.
const UNIQUE_CHECK_EVERY: Duration = Duration::from_secs(1);
/// Save once this many visits came since the last save (a save copies the table under the
/// window's lock, a few ms at a million visitors: at 40k clicks/s one every 6 s, and a start
/// after a kill replays at most about this many clicks, a few tenths of a second)...
const UNIQUE_SAVE_VISITS: u64 = 250_000;
/// ...or this long after the last save when any came. A start after a kill replays the clicks
/// since the last save: at most about this many, or this long's worth.
const UNIQUE_SAVE_EVERY: Duration = Duration::from_secs(30);

/// Save the unique-click window to `path` when it has moved enough (see the constants), so a
/// start after a crash replays seconds of clicks rather than a day. `serve` saves once more
/// after the writer has stopped.
pub fn spawn_unique_snapshots(
    unique: Arc<UniqueWindow>,
    path: std::path::PathBuf,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UNIQUE_CHECK_EVERY);
        let mut saved = unique.visits();
        let mut last = std::time::Instant::now();
        loop {
            tick.tick().await;
            let visits = unique.visits();
            let due = visits - saved >= UNIQUE_SAVE_VISITS
                || (visits != saved && last.elapsed() >= UNIQUE_SAVE_EVERY);
            if !due {
                continue;
            }
            let (w, p) = (unique.clone(), path.clone());
            match tokio::task::spawn_blocking(move || w.save(&p, now())).await {
                Ok(Ok(_)) => {
                    saved = visits;
                    last = std::time::Instant::now();
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "saving the unique-click window failed"),
                Err(_) => {}
            }
        }
    })
}
