//! Migration 0011: the clicks of an older store moved into the compact layout, in batches.
//!
//! Step one (`0011_compact_clicks.sql`, one transaction) renames `clicks` to `clicks_old` and
//! creates the new tables. Then each batch, in one transaction, reads the oldest `BATCH` rows
//! of `clicks_old` (its primary key, the id), inserts them in the new layout and deletes them
//! from `clicks_old`: killed at any moment, the store holds every click exactly once, in one
//! table or the other, and the next start goes on from there. Deleted rows free their pages,
//! which the new rows take, so the file grows by about a batch, not by a copy. The last
//! transaction drops the empty `clicks_old` and sets the schema version.

use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior, params};

use super::click_layout::{self, Parts, Texts};
use crate::domain::click::visitor;

/// Rows per transaction: about a second of work and a few MB of WAL.
const BATCH: usize = 20_000;

fn has_old_table(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'clicks_old'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Apply migration `version` (1-based: 11) with `setup` as its first step, whatever part of
/// it an earlier, killed run did.
pub fn run(conn: &mut Connection, version: usize, setup: &str) -> anyhow::Result<()> {
    // Another process (the server and a `trcker keys create` started together) may run this
    // migration at the same moment: every step checks, under the write lock, whether the
    // other has finished it, and nothing is read outside those locks.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if super::schema_version(&tx)? >= version {
        return Ok(());
    }
    if !has_old_table(&tx)? {
        tx.execute_batch(setup)
            .map_err(|e| anyhow::anyhow!("migration 0011_compact_clicks failed: {e}"))?;
    }
    let left = tx.query_row("SELECT count(*) FROM clicks_old", [], |r| {
        r.get::<_, i64>(0)
    })? as u64;
    let already = tx.query_row("SELECT count(*) FROM clicks", [], |r| r.get::<_, i64>(0))? as u64;
    tx.commit()?;

    let key = click_layout::visitor_key(conn)?;
    let total = left + already;
    if left > 0 {
        tracing::info!(
            clicks = left,
            moved_before = already,
            "migration 0011: moving clicks to the compact layout (resumable: stopping it is safe)"
        );
    }
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut texts = Texts::default();
    let mut moved = 0u64;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if super::schema_version(&tx)? >= version {
            // The other process moved the rest and dropped the old table.
            break;
        }
        let n = move_batch(&tx, &mut texts, &key)?;
        if n == 0 {
            // Nothing left (checked under the write lock): finish in the same transaction.
            tx.execute_batch("DROP TABLE clicks_old")?;
            tx.pragma_update(None, "user_version", version as i64)?;
            tx.commit()?;
            break;
        }
        match tx.commit() {
            Ok(()) => {}
            Err(e) => {
                // The batch's new dictionary ids are gone with it.
                texts.forget();
                return Err(e.into());
            }
        }
        moved += n as u64;
        if last_report.elapsed().as_secs() >= 2 {
            last_report = Instant::now();
            let rate = moved as f64 / started.elapsed().as_secs_f64().max(1e-3);
            let done = already + moved;
            tracing::info!(
                "migration 0011: {done} / {total} clicks moved ({:.0} %), {:.0} clicks/s, about {:.0} s left",
                100.0 * done as f64 / total.max(1) as f64,
                rate,
                (total - done) as f64 / rate.max(1.0)
            );
        }
    }
    if moved > 0 {
        tracing::info!(
            "migration 0011: {total} clicks in the compact layout ({moved} moved in {:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Move the oldest `BATCH` rows of `clicks_old`; how many.
fn move_batch(conn: &Connection, texts: &mut Texts, key: &[u8; 16]) -> rusqlite::Result<usize> {
    let mut read = conn.prepare_cached(
        "SELECT id, brand_id, offer_id, partner_id, created_at, sub1, sub2, sub3, sub4, sub5,
         ip, user_agent, referer, is_unique FROM clicks_old ORDER BY id LIMIT ?1",
    )?;
    let mut rows = read.query([BATCH as i64])?;
    let mut n = 0;
    let mut last: Option<String> = None;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let subs: [Option<String>; 5] = [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?];
        let ip: String = r.get(10)?;
        let user_agent: String = r.get(11)?;
        let referer: Option<String> = r.get(12)?;
        let (offer_id, partner_id): (i64, i64) = (r.get(2)?, r.get(3)?);
        let parts = Parts {
            id: &id,
            brand_id: r.get(1)?,
            offer_id,
            partner_id,
            created_at: r.get(4)?,
            subs: [0, 1, 2, 3, 4].map(|i| subs[i].as_deref()),
            ip: &ip,
            user_agent: &user_agent,
            referer: referer.as_deref(),
            is_unique: r.get(13)?,
            visitor: visitor(key, offer_id, partner_id, &ip, &user_agent),
        };
        click_layout::insert(conn, texts, &parts)?;
        n += 1;
        last = Some(id);
    }
    if let Some(last) = last {
        conn.prepare_cached("DELETE FROM clicks_old WHERE id <= ?1")?
            .execute(params![last])?;
    }
    Ok(n)
}
