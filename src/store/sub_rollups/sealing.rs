//! Sealing: a longer block (`SEALED`) summed from the best shorter rows once it has ended, for
//! every brand and level, and written only where it compresses (`COMPRESS`).
//!
//! A block whose parts are more rows than one step reads (`STEP_READ`) is summed over several
//! steps: each adds what it read to the block's rows on disk and records where it stopped
//! (`Building`, the `build_*` names of `sub_state`), in the step's own transaction, so a kill
//! resumes it. Until the last step the block is not in `sub_seals`, and reports don't read it.
//! At 10,000 sub values per partner (level 3) nothing shorter than 4 days compresses, and a
//! 4-day block sums 1.3M quarter rows: read in one step, that held the writer, and every click
//! waiting on it, for seconds; so such blocks were given up and a partner's month read ten
//! million rows.

use rusqlite::{Connection, params};

use super::{
    Block, COMPRESS, IntMap, IntSet, LEVELS, SEALED, cover, read_run, set_state, state_value,
    upsert,
};
use crate::domain::report::Metrics;
use crate::store::StoreResult;

/// Rows one sealing step reads at most by default (tens of milliseconds of the writer's time;
/// the server takes `Config::seal_step_rows`, whose default is the same number).
pub(super) const STEP_READ: usize = 50_000;

/// A block whose parts are (projected to be) more rows than this is not sealed: summing it
/// would take the writer minutes in all, for a block as large as a report's bound.
pub(super) const SEAL_MAX_READ: usize = 4_000_000;

/// A block left half-summed by a step: the (brand, level) being summed (those before it, by
/// brand id then `LEVELS`, are done) and the last source row summed into its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Building {
    /// Index into `SEALED`, and the block's bucket.
    pub i: usize,
    pub bucket: i64,
    pub brand: i64,
    pub level: i64,
    /// The part of the block's cover being read (its bucket and span) and the last key read
    /// in it: every source row up to (part, key) is in the block's rows.
    pub part: i64,
    pub part_span: i64,
    pub key: (i64, i64, i64),
    /// Rows read, the block's rows so far, the finished parts' rows squared, and the rows read
    /// of the current part (for `hopeless`).
    pub read: i64,
    pub distinct: i64,
    pub squares: i64,
    pub in_part: i64,
}

/// The `sub_state` names a `Building` is kept under, in field order.
const NAMES: [&str; 12] = [
    "build_span",
    "build_bucket",
    "build_brand",
    "build_level",
    "build_part",
    "build_part_span",
    "build_offer",
    "build_partner",
    "build_tuple",
    "build_read",
    "build_distinct",
    "build_squares",
];
const IN_PART: &str = "build_in_part";

impl Building {
    /// Nothing read yet of (brand, level)'s block `b` of `SEALED[i]`.
    fn start((i, b): (usize, i64), (brand, level): (i64, i64)) -> Building {
        Building {
            i,
            bucket: b,
            brand,
            level,
            part: b,
            part_span: 0,
            key: (i64::MIN, i64::MIN, i64::MIN),
            read: 0,
            distinct: 0,
            squares: 0,
            in_part: 0,
        }
    }

    fn values(&self) -> [i64; 12] {
        [
            SEALED[self.i],
            self.bucket,
            self.brand,
            self.level,
            self.part,
            self.part_span,
            self.key.0,
            self.key.1,
            self.key.2,
            self.read,
            self.distinct,
            self.squares,
        ]
    }

    pub(super) fn load(conn: &Connection) -> rusqlite::Result<Option<Building>> {
        let mut v = [0i64; 12];
        for (slot, name) in v.iter_mut().zip(NAMES) {
            match state_value(conn, name)? {
                Some(x) => *slot = x,
                None => return Ok(None),
            }
        }
        let Some(i) = SEALED.iter().position(|s| *s == v[0]) else {
            return Ok(None);
        };
        Ok(Some(Building {
            i,
            bucket: v[1],
            brand: v[2],
            level: v[3],
            part: v[4],
            part_span: v[5],
            key: (v[6], v[7], v[8]),
            read: v[9],
            distinct: v[10],
            squares: v[11],
            in_part: state_value(conn, IN_PART)?.unwrap_or(0),
        }))
    }

    /// Record `b` (None: no block is half-summed).
    pub(super) fn save(conn: &Connection, b: Option<&Building>) -> rusqlite::Result<()> {
        match b {
            Some(b) => {
                for (name, value) in NAMES.into_iter().zip(b.values()) {
                    set_state(conn, name, value)?;
                }
                set_state(conn, IN_PART, b.in_part)
            }
            None => {
                conn.prepare_cached(
                    "DELETE FROM sub_state WHERE name LIKE 'build\\_%' ESCAPE '\\'",
                )?
                .execute([])?;
                Ok(())
            }
        }
    }

    /// The block as a `sub_seals` key.
    pub(super) fn block(&self) -> Block {
        (self.brand, self.level, SEALED[self.i], self.bucket)
    }

    /// Whether a late delta to the source row at `quarter` with `key` (a row of `brand` and
    /// `level`) was already summed into the block: it must then be added to the block too.
    pub(super) fn holds(&self, brand: i64, level: i64, quarter: i64, key: (i64, i64, i64)) -> bool {
        (brand, level) == (self.brand, self.level)
            && quarter >= self.bucket
            && quarter < self.bucket + SEALED[self.i]
            && (quarter < self.part || (quarter < self.part + self.part_span && key <= self.key))
    }

    fn pairs(&self) -> f64 {
        let read = self.read as f64;
        (read * read - self.squares as f64 - (self.in_part as f64).powi(2)) / 2.0
    }
}

/// Whether a block of which `done` (by time) was read, `read` rows merging into `distinct`
/// keys, will be more than `SEAL_MAX_READ` rows or not compress. The keys are taken as drawn
/// uniformly from K, and traffic as spread evenly over the block (a block whose busy hours
/// come first is projected too big and left unwritten: slower reads, never wrong ones). Rows of
/// one part never repeat a key, so only the `pairs` of rows from different parts can: they
/// give `read - distinct` repeats, so K ≈ pairs / repeats, and the whole block's distinct keys
/// are K·(1 − e^(−total/K)). No repeat at all: a sub value per click. The margin over
/// `COMPRESS` is for the guess's spread: a block that would have just compressed costs only
/// the rows read until the limit, while one given up on wrongly stays unwritten (at 10,000
/// sub values a 6-hour block per offer merges 84k rows into 41k, yet its first two quarters
/// merge only 7,005 into 6,720).
pub(super) fn hopeless(read: usize, distinct: usize, pairs: f64, done: f64) -> bool {
    if done <= 0.0 {
        return false;
    }
    let total = read as f64 / done.min(1.0);
    if total > SEAL_MAX_READ as f64 {
        return true;
    }
    let repeats = read.saturating_sub(distinct) as f64;
    let projected = if repeats == 0.0 || pairs <= 0.0 {
        total
    } else {
        let k = pairs / repeats;
        k * (1.0 - (-total / k).exp())
    };
    projected > (COMPRESS + 0.1).min(0.95) * total
}

/// One step of sealing block `b` of `SEALED[i]` for every brand and level, from where an
/// earlier step left it (`resume`): the blocks written, and where the next step goes on
/// (None: the block is done at every brand and level).
pub(super) fn seal_step(
    conn: &Connection,
    sealed: &IntSet<Block>,
    (i, b): (usize, i64),
    resume: Option<Building>,
    step_rows: usize,
) -> StoreResult<(Vec<Block>, Option<Building>)> {
    let span = SEALED[i];
    let brands: Vec<i64> = conn
        .prepare_cached("SELECT id FROM brands ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut added = Vec::new();
    let mut budget = step_rows;
    for brand in brands {
        for (level, _, _) in LEVELS {
            if resume.is_some_and(|r| (brand, level) < (r.brand, r.level)) {
                continue;
            }
            if sealed.contains(&(brand, level, span, b)) {
                // Already written (0014 and 0015 walk every span again).
                continue;
            }
            let from = resume.filter(|r| (r.brand, r.level) == (brand, level) && r.read > 0);
            if budget == 0 {
                // The step has read its share: this (brand, level) starts in the next one.
                let next = Building::start((i, b), (brand, level));
                return Ok((added, Some(from.unwrap_or(next))));
            }
            match sum_block(conn, sealed, (i, b), (brand, level), from, &mut budget)? {
                Summed::Written => {
                    conn.prepare_cached(
                        "INSERT INTO sub_seals (brand_id, level, span, bucket) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![brand, level, span, b])?;
                    added.push((brand, level, span, b));
                }
                Summed::Skipped => {}
                Summed::Paused(at) => return Ok((added, Some(at))),
            }
        }
    }
    Ok((added, None))
}

enum Summed {
    Written,
    /// Not written: it would not compress, or is too big.
    Skipped,
    /// The step's budget ran out: the rows read so far are in the block's rows.
    Paused(Building),
}

/// Why `sum_block` stopped before the end of the block.
enum Stop {
    /// The step's budget ran out.
    Paused,
    /// It won't compress, or is too big.
    GaveUp,
}

/// Sum one (brand, level)'s block, from `from` if earlier steps began it, reading at most
/// `budget` rows (which it lowers by what it read).
fn sum_block(
    conn: &Connection,
    sealed: &IntSet<Block>,
    (i, b): (usize, i64),
    (brand, level): (i64, i64),
    from: Option<Building>,
    budget: &mut usize,
) -> StoreResult<Summed> {
    let span = SEALED[i];
    let mut at = from.unwrap_or(Building::start((i, b), (brand, level)));
    if let Some(f) = from {
        // Judged at once on what the earlier steps merged (their counts are exact).
        let done = (f.part - b) as f64 / span as f64;
        if hopeless(f.read as usize, f.distinct as usize, f.pairs(), done) {
            drop_rows(conn, &f)?;
            return Ok(Summed::Skipped);
        }
    }
    let mut runs = Vec::new();
    let is_sealed = |s: i64, t: i64| s < span && sealed.contains(&(brand, level, s, t));
    cover(at.part, b + span, &is_sealed, &mut runs);
    let mut sums: IntMap<(i64, i64, i64), Metrics> = IntMap::default();
    let mut part = from.map(|f| f.part);
    let (mut parts, mut read_now) = (0usize, 0usize);
    let mut stop: Option<Stop> = None;
    for (n, run) in runs.into_iter().enumerate() {
        let after = if n == 0 {
            from.map(|f| (f.part, f.key))
        } else {
            None
        };
        read_run(
            conn,
            brand,
            level,
            run,
            (None, None),
            after,
            |bucket, o, p, t, m| {
                if read_now >= *budget {
                    stop = Some(Stop::Paused);
                    return false;
                }
                if part != Some(bucket) {
                    // A new part: in a block begun in this step, stop early when the
                    // whole block won't compress or is too big to seal.
                    part = Some(bucket);
                    parts += 1;
                    at.squares += at.in_part * at.in_part;
                    at.in_part = 0;
                    at.part = bucket;
                    at.part_span = run.0;
                    let done = (bucket - b) as f64 / span as f64;
                    if from.is_none()
                        && parts > 2
                        && at.read >= 4_096
                        && hopeless(at.read as usize, sums.len(), at.pairs(), done)
                    {
                        stop = Some(Stop::GaveUp);
                        return false;
                    }
                }
                read_now += 1;
                at.read += 1;
                at.in_part += 1;
                at.key = (o, p, t);
                sums.entry((o, p, t)).or_default().add(&m);
                if at.read as usize > SEAL_MAX_READ {
                    stop = Some(Stop::GaveUp);
                    return false;
                }
                true
            },
        )?;
        if stop.is_some() {
            break;
        }
    }
    *budget = budget.saturating_sub(read_now);
    let on_disk = from.is_some();
    match stop {
        Some(Stop::Paused) => {
            at.distinct += add_rows(conn, &at, sums)?;
            Ok(Summed::Paused(at))
        }
        Some(Stop::GaveUp) => {
            if on_disk {
                drop_rows(conn, &at)?;
            }
            Ok(Summed::Skipped)
        }
        None if !on_disk => {
            // Read in one step: decided before anything is written.
            if sums.is_empty() || sums.len() as f64 > COMPRESS * at.read as f64 {
                return Ok(Summed::Skipped);
            }
            add_rows(conn, &at, sums)?;
            Ok(Summed::Written)
        }
        None => {
            at.distinct += add_rows(conn, &at, sums)?;
            if at.distinct == 0 || at.distinct as f64 > COMPRESS * at.read as f64 {
                drop_rows(conn, &at)?;
                return Ok(Summed::Skipped);
            }
            Ok(Summed::Written)
        }
    }
}

/// Add `sums` to the block's rows: how many rows that added.
fn add_rows(
    conn: &Connection,
    at: &Building,
    sums: IntMap<(i64, i64, i64), Metrics>,
) -> rusqlite::Result<i64> {
    let (brand, level, span, b) = at.block();
    let mut rows: Vec<_> = sums.into_iter().collect();
    // In key order: appends to the block instead of scattering.
    rows.sort_unstable_by_key(|(k, _)| *k);
    let mut added = 0;
    for ((o, p, t), m) in rows {
        // An insert that finds the key does nothing; then it is an update: so the block's
        // rows are counted without a count over them.
        let inserted = conn
            .prepare_cached(
                "INSERT INTO sub_rollups (brand_id, level, span, bucket, offer_id, partner_id,
                   tuple_id, clicks, unique_clicks, conversions, pending_conversions,
                   rejected_conversions, reversed_conversions, revenue_minor, payout_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                brand,
                level,
                span,
                b,
                o,
                p,
                t,
                m.clicks,
                m.unique_clicks,
                m.conversions,
                m.pending_conversions,
                m.rejected_conversions,
                m.reversed_conversions,
                m.revenue,
                m.payout
            ])?;
        if inserted == 1 {
            added += 1;
        } else {
            upsert(conn, (brand, level, span, b, o, p, t), &m)?;
        }
    }
    Ok(added)
}

/// Delete a block's rows that earlier steps wrote (it is not sealed after all).
fn drop_rows(conn: &Connection, at: &Building) -> rusqlite::Result<()> {
    let (brand, level, span, b) = at.block();
    conn.prepare_cached(
        "DELETE FROM sub_rollups WHERE brand_id = ?1 AND level = ?2 AND span = ?3 AND bucket = ?4",
    )?
    .execute(params![brand, level, span, b])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_given_up_on_early_only_when_it_wont_compress_or_is_too_big() {
        // Pairs of rows from different parts, for parts of these sizes.
        let pairs = |parts: &[f64]| {
            let n: f64 = parts.iter().sum();
            (n * n - parts.iter().map(|p| p * p).sum::<f64>()) / 2.0
        };
        let two = pairs(&[3_502.0, 3_503.0]);
        // At 10,000 sub values, per offer (50,000 keys): 2 of 24 quarters of a 6-hour block
        // (measured; the whole block merges 84k rows into 41k).
        assert!(!hopeless(7_005, 6_720, two, 2.0 / 24.0));
        // A sub value per click: nothing merges.
        assert!(hopeless(7_005, 7_005, two, 2.0 / 24.0));
        // Per partner at 10,000 values (600,000 keys): ~20 repeats; the block would merge 84k
        // rows into 78k.
        assert!(hopeless(7_005, 6_985, two, 2.0 / 24.0));
        // 16 days of 3,500 rows a quarter are past SEAL_MAX_READ, whatever they merge.
        assert!(hopeless(7_005, 100, two, 2.0 / (16.0 * 96.0)));
        assert!(!hopeless(7_005, 100, two, 2.0 / 96.0));
        // Ten values: everything merges.
        let three = pairs(&[2_667.0, 2_667.0, 2_666.0]);
        assert!(!hopeless(8_000, 300, three, 3.0 / 96.0));
        assert!(!hopeless(10, 10, 0.0, 0.0));
    }

    /// Three days of deltas, sealed with a budget of 7 rows a step (so a day block takes
    /// hundreds of steps) while late deltas land between the steps, before and after where
    /// each half-summed block stopped: every written block must equal its 15-minute rows.
    #[test]
    fn blocks_summed_over_many_steps_equal_their_rows_with_late_deltas_between_steps() {
        use super::super::{Deltas, Tuple, Writer};
        use std::sync::Arc;
        const DAY: i64 = 86_400;
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO brands (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0);
             DELETE FROM sub_state;
             INSERT INTO sub_state (name, value) VALUES
               ('live_from', 0), ('backfill_next', 0), ('first', 0);",
        )
        .unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as i64
        };
        let mut delta = |deltas: &mut Deltas| {
            let brand = 1 + next(2);
            let tuple = Tuple {
                brand_id: brand,
                currency: Arc::from("USD"),
                subs: [Some(format!("s{}", next(40))), None, None, None, None],
            };
            let m = Metrics {
                clicks: 1 + next(3),
                conversions: next(2),
                ..Metrics::default()
            };
            deltas.add(tuple, 1 + next(4), 1 + next(3), next(3 * DAY as u64), &m);
        };
        let mut w = Writer::with_step_rows(7);
        let tx = conn.transaction().unwrap();
        let mut deltas = Deltas::default();
        for _ in 0..3_000 {
            delta(&mut deltas);
        }
        w.flush(&tx, &mut deltas).unwrap();
        tx.commit().unwrap();
        let (mut steps, mut paused) = (0, 0);
        while w.has_work(&conn, 5 * DAY) {
            w.step(&mut conn, 5 * DAY).unwrap();
            steps += 1;
            if Building::load(&conn).unwrap().is_some() {
                paused += 1;
            }
            if steps % 3 == 0 {
                let tx = conn.transaction().unwrap();
                let mut late = Deltas::default();
                delta(&mut late);
                w.flush(&tx, &mut late).unwrap();
                tx.commit().unwrap();
            }
        }
        assert!(
            paused > 100,
            "{paused} of {steps} steps left a block half-summed"
        );
        assert_eq!(Building::load(&conn).unwrap(), None);

        type Rows = std::collections::BTreeMap<(i64, i64, i64, i64, i64, i64, i64), i64>;
        let rows: Rows = conn
            .prepare(
                "SELECT brand_id, level, span, bucket, offer_id, partner_id, tuple_id,
                   clicks * 1000 + conversions FROM sub_rollups",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((
                    (
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ),
                    r.get(7)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let seals: Vec<(i64, i64, i64, i64)> = conn
            .prepare("SELECT brand_id, level, span, bucket FROM sub_seals")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            seals.iter().any(|s| s.2 >= DAY),
            "day blocks compress here and are written: {seals:?}"
        );
        let mut blocks: std::collections::BTreeSet<(i64, i64, i64, i64)> = Default::default();
        for k in rows.keys() {
            if k.2 > 900 {
                blocks.insert((k.0, k.1, k.2, k.3));
            }
        }
        for block in &blocks {
            assert!(
                seals.contains(block),
                "rows of a block never sealed: {block:?}"
            );
        }
        for (brand, level, span, bucket) in seals {
            let mut want = std::collections::BTreeMap::new();
            for (k, v) in &rows {
                if (k.0, k.1, k.2) == (brand, level, 900) && k.3 >= bucket && k.3 < bucket + span {
                    *want.entry((k.4, k.5, k.6)).or_insert(0) += v;
                }
            }
            let got: std::collections::BTreeMap<(i64, i64, i64), i64> = rows
                .iter()
                .filter(|(k, _)| (k.0, k.1, k.2, k.3) == (brand, level, span, bucket))
                .map(|(k, v)| ((k.4, k.5, k.6), *v))
                .collect();
            assert_eq!(
                got, want,
                "brand {brand} level {level}, block {span} at {bucket}"
            );
        }
    }
}
