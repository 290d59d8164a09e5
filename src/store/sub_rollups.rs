//! Sub-id rollups (migrations 0013 to 0015): report metrics per sub-id tuple, so a report
//! grouped by sub1..sub5 reads a few thousand integer rows instead of every raw click.
//!
//! - `sub_tuples` holds each (brand, currency, sub1..sub5) once; rollup rows carry its id, so
//!   they are integers only, and a report aggregates on integer keys and resolves to text only
//!   the tuples of its output groups (grouping by `sub1` alone merges tuples after that).
//! - The writer adds every delta to the 15-minute rows of four levels (`LEVELS`): 0 sums every
//!   offer and partner (a report that neither groups nor filters by them), 1 keeps both, 2 only
//!   the offer, 3 only the partner. Four upserts a click at most, fewer when a batch holds
//!   clicks of the same tuple.
//! - Longer blocks (1 h, 6 h, 1 day and aligned 2, 4, 8, 16 days, so a month is a handful of
//!   blocks) are sealed once they have ended, summed from the best shorter blocks in steps of
//!   at most `Config::seal_step_rows` rows between the writer's batches (`sealing`). A block
//!   is written only where it compresses (at most `COMPRESS` of the rows it sums): at one sub
//!   value per click nothing longer than the 15-minute rows would, and reads would only get
//!   slower. Late deltas (an old conversion, a status change) go to the 15-minute row, to
//!   every written block holding it, and to a half-summed block that already read that row.
//! - Stores that had raw rows before 0013 are backfilled in small steps between batches
//!   (`Writer::step`), resumable after a kill: see `sub_state` in the migration for the rule
//!   that keeps that exact while live traffic goes on. Until it has finished, sub-id reports
//!   read the raw rows.
//!
//! Reports cover each report bucket with the longest written blocks that fit, and 15-minute
//! rows at the edges, so every zone (+05:30, +05:45, DST) stays exact, as with `rollups`. A
//! report filtered by offer (levels 1, 2) or partner (level 3) seeks to that slice of each
//! block rather than reading all of it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use super::reports::Query;
use crate::domain::report::{BUCKET_SECS, Key, Metrics};
use crate::domain::status::ConversionStatus;

mod sealing;

use sealing::Building;

const DAY: i64 = 86_400;

/// Every span, longest first; each divides the next longer one, all aligned to the epoch.
pub const SPANS: [i64; 8] = [16 * DAY, 8 * DAY, 4 * DAY, 2 * DAY, DAY, 21_600, 3_600, 900];

/// The sealed spans, shortest first: each is summed from the ones before it.
const SEALED: [i64; 7] = [3_600, 21_600, DAY, 2 * DAY, 4 * DAY, 8 * DAY, 16 * DAY];

/// The levels, by what a row keeps of offer and partner (the other is 0): 0 neither, 1 both,
/// 2 the offer, 3 the partner. A report reads the one level that keeps what it groups or
/// filters by and nothing more: with 10,000 sub values over 5 offers and 20 partners, level 1
/// holds a million (offer, partner, tuple) keys and no block of it compresses, while level 2
/// holds 50,000 and a day of them is one row per key. Each entry: (level, keeps the offer,
/// keeps the partner).
const LEVELS: [(i64, bool, bool); 4] = [
    (0, false, false),
    (1, true, true),
    (2, true, false),
    (3, false, true),
];

/// The level a report reads: the one that keeps exactly the offer and partner it uses.
fn level_for(offer: bool, partner: bool) -> i64 {
    LEVELS
        .iter()
        .find(|(_, o, p)| (*o, *p) == (offer, partner))
        .map(|(level, _, _)| *level)
        .expect("LEVELS has every combination")
}

/// What `level` keeps: (the offer, the partner).
fn level_keeps(level: i64) -> (bool, bool) {
    LEVELS
        .iter()
        .find(|(l, _, _)| *l == level)
        .map(|(_, o, p)| (*o, *p))
        .expect("a level of LEVELS")
}

/// A block is written only when it has at most this share of the rows it sums: a block
/// costs its rows on disk and its sealing, and one that saves a report only a fifth of its
/// rows (0.8 until 0015) is not worth that. At 10,000 sub values per partner, a day merges
/// 333k quarter rows into 258k, two days 666k into 400k, four days 1.3M into 530k: with 0.8
/// every one of them was written, about two more copies of level 3; at 0.5 the 4- and
/// 16-day blocks are.
const COMPRESS: f64 = 0.5;

/// A backfill step aims at about this many raw rows (tens of milliseconds).
const BACKFILL_ROWS: usize = 8_000;

/// FxHash's step: the keys here are a few integers, for which SipHash was a measurable part of
/// a report's time; nothing here is keyed by outside input an attacker could collide.
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_i64(&mut self, x: i64) {
        self.write_u64(x as u64);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}

pub type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;
type IntSet<K> = std::collections::HashSet<K, BuildHasherDefault<IntHasher>>;

/// A sub-id tuple as the dictionary keys it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub brand_id: i64,
    pub currency: Arc<str>,
    pub subs: [Option<String>; 5],
}

impl Tuple {
    fn hash(&self) -> i64 {
        let mut s = format!("{}\u{1f}{}", self.brand_id, self.currency);
        for sub in &self.subs {
            s.push('\u{1f}');
            match sub {
                None => s.push('\u{1e}'),
                Some(v) => {
                    s.push('\u{1d}');
                    s.push_str(v);
                }
            }
        }
        crate::domain::click::text_hash(&s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DeltaKey {
    quarter: i64,
    offer_id: i64,
    partner_id: i64,
    tuple: Tuple,
}

/// Sub-id deltas not yet written (part of `rollups::Pending`).
#[derive(Debug, Default)]
pub struct Deltas {
    map: HashMap<DeltaKey, Metrics>,
}

impl Deltas {
    pub fn add(&mut self, tuple: Tuple, offer_id: i64, partner_id: i64, ts: i64, m: &Metrics) {
        if *m == Metrics::default() {
            return;
        }
        let key = DeltaKey {
            quarter: ts.div_euclid(BUCKET_SECS) * BUCKET_SECS,
            offer_id,
            partner_id,
            tuple,
        };
        self.map.entry(key).or_default().add(m);
    }

    pub fn merge(&mut self, other: Deltas) {
        for (k, m) in other.map {
            self.map.entry(k).or_default().add(&m);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Tuple ids kept in memory per generation, as `click_layout::Texts` keeps texts.
const GENERATION: usize = 32_768;

#[derive(Default)]
struct Tuples {
    current: HashMap<Tuple, i64>,
    previous: HashMap<Tuple, i64>,
}

impl Tuples {
    fn id(&mut self, conn: &Connection, t: &Tuple) -> rusqlite::Result<i64> {
        if let Some(&id) = self.current.get(t) {
            return Ok(id);
        }
        if let Some((k, id)) = self.previous.remove_entry(t) {
            self.keep(k, id);
            return Ok(id);
        }
        let hash = t.hash();
        let s = &t.subs;
        let found: Option<i64> = conn
            .prepare_cached(
                "SELECT id FROM sub_tuples WHERE hash = ?1 AND brand_id = ?2 AND currency = ?3
                   AND sub1 IS ?4 AND sub2 IS ?5 AND sub3 IS ?6 AND sub4 IS ?7 AND sub5 IS ?8",
            )?
            .query_row(
                params![hash, t.brand_id, &*t.currency, s[0], s[1], s[2], s[3], s[4]],
                |r| r.get(0),
            )
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached(
                    "INSERT INTO sub_tuples (hash, brand_id, currency, sub1, sub2, sub3, sub4, sub5)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    hash,
                    t.brand_id,
                    &*t.currency,
                    s[0],
                    s[1],
                    s[2],
                    s[3],
                    s[4]
                ])?;
                conn.last_insert_rowid()
            }
        };
        self.keep(t.clone(), id);
        Ok(id)
    }

    fn keep(&mut self, t: Tuple, id: i64) {
        if self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(t, id);
    }
}

/// (brand, level, span, bucket) of a written block.
type Block = (i64, i64, i64, i64);

/// The writer's view of `sub_state` and `sub_seals`, loaded on first use.
struct State {
    live_from: i64,
    backfill_next: i64,
    /// The next block of each `SEALED` span to seal.
    seal_next: [i64; SEALED.len()],
    sealed: IntSet<Block>,
    /// The block a sealing step left half-summed, if any: sealed before anything else.
    building: Option<Building>,
    /// The backfill's current step length, adapted to aim at `BACKFILL_ROWS` rows.
    chunk: i64,
}

impl State {
    fn load(conn: &Connection) -> rusqlite::Result<State> {
        let get = |name: &str| state_value(conn, name);
        let live_from = get("live_from")?.unwrap_or(i64::MIN);
        let backfill_next = get("backfill_next")?.unwrap_or(i64::MIN);
        let first = get("first")?.unwrap_or(live_from);
        let mut seal_next = [0; SEALED.len()];
        for (i, s) in SEALED.into_iter().enumerate() {
            seal_next[i] = match get(&format!("seal_{s}"))? {
                Some(v) => v,
                None => first.div_euclid(s) * s,
            };
        }
        let mut sealed = IntSet::default();
        let mut stmt = conn.prepare("SELECT brand_id, level, span, bucket FROM sub_seals")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            sealed.insert((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?));
        }
        Ok(State {
            live_from,
            backfill_next,
            seal_next,
            sealed,
            building: Building::load(conn)?,
            chunk: 3_600,
        })
    }

    /// Whether a delta at `quarter` is written now (else the backfill will read its row).
    fn live(&self, quarter: i64) -> bool {
        quarter < self.backfill_next || quarter >= self.live_from
    }

    fn backfilled(&self) -> bool {
        self.backfill_next >= self.live_from
    }

    /// The next block to seal at `now`: (index into `SEALED`, bucket).
    fn next_seal(&self, now: i64) -> Option<(usize, i64)> {
        if !self.backfilled() {
            return None;
        }
        if let Some(b) = &self.building {
            return Some((b.i, b.bucket));
        }
        // A margin for clicks stamped just before they reach the writer (they would still be
        // counted into the sealed block as late deltas: this only saves upserts).
        let ended = now - 5;
        let mut ready = ended;
        for (i, s) in SEALED.into_iter().enumerate() {
            let b = self.seal_next[i];
            if b + s <= ready {
                return Some((i, b));
            }
            // A longer block waits until every shorter block inside it was considered.
            ready = ready.min(b);
        }
        None
    }
}

fn state_value(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT value FROM sub_state WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()
}

fn set_state(conn: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO sub_state (name, value) VALUES (?1, ?2)")?
        .execute(params![name, value])?;
    Ok(())
}

/// The writer's side: the tuple dictionary's cache, the state of backfill and sealing.
pub struct Writer {
    tuples: Tuples,
    state: Option<State>,
    /// Under load, background steps take at most about a quarter of the writer's time.
    not_before: Option<Instant>,
    last_log: Option<Instant>,
    backfill_rows: u64,
    /// After a failed step, no background work until then (no loop of failing steps).
    retry_at: Option<Instant>,
    /// The longest backfill step so far: how long it held the writer at most.
    longest_step: Duration,
    backfill_started: Option<Instant>,
    /// Rows a sealing step reads at most (`Config::seal_step_rows`).
    step_rows: usize,
}

impl Default for Writer {
    fn default() -> Writer {
        Writer::with_step_rows(sealing::STEP_READ)
    }
}

/// One row's worth of a written delta: (brand, level, quarter, offer, partner, tuple id).
type RowKey = (i64, i64, i64, i64, i64, i64);

impl Writer {
    pub fn with_step_rows(step_rows: usize) -> Writer {
        Writer {
            tuples: Tuples::default(),
            state: None,
            not_before: None,
            last_log: None,
            backfill_rows: 0,
            retry_at: None,
            longest_step: Duration::ZERO,
            backfill_started: None,
            step_rows: step_rows.max(1),
        }
    }

    fn state(&mut self, conn: &Connection) -> rusqlite::Result<&mut State> {
        if self.state.is_none() {
            self.state = Some(State::load(conn)?);
        }
        Ok(self.state.as_mut().expect("loaded"))
    }

    /// After a rolled-back transaction: the tuple ids it inserted don't exist.
    pub fn forget(&mut self) {
        self.tuples = Tuples::default();
    }

    /// Write `deltas` (in the transaction of the raw rows they count).
    pub fn flush(&mut self, conn: &Connection, deltas: &mut Deltas) -> StoreResult<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        self.state(conn)?;
        self.write(conn, std::mem::take(&mut deltas.map), false)
    }

    /// `backfill`: rows the backfill read, written whatever `live` says.
    fn write(
        &mut self,
        conn: &Connection,
        deltas: HashMap<DeltaKey, Metrics>,
        backfill: bool,
    ) -> StoreResult<()> {
        let state = self.state.as_ref().expect("loaded");
        let mut rows: IntMap<RowKey, Metrics> = IntMap::default();
        for (k, m) in deltas {
            if !backfill && !state.live(k.quarter) {
                continue;
            }
            let t = self.tuples.id(conn, &k.tuple)?;
            let b = k.tuple.brand_id;
            for (level, keeps_offer, keeps_partner) in LEVELS {
                let offer = if keeps_offer { k.offer_id } else { 0 };
                let partner = if keeps_partner { k.partner_id } else { 0 };
                rows.entry((b, level, k.quarter, offer, partner, t))
                    .or_default()
                    .add(&m);
            }
        }
        let mut rows: Vec<(RowKey, Metrics)> = rows.into_iter().collect();
        // In key order: a big flush (seed, backfill) appends instead of scattering.
        rows.sort_unstable_by_key(|(k, _)| *k);
        for ((brand, level, quarter, offer, partner, t), m) in rows {
            upsert(conn, (brand, level, 900, quarter, offer, partner, t), &m)?;
            for s in SEALED {
                let b = quarter.div_euclid(s) * s;
                if state.sealed.contains(&(brand, level, s, b)) {
                    upsert(conn, (brand, level, s, b, offer, partner, t), &m)?;
                }
            }
            // A block being sealed holds this delta's source row if a step already read it.
            if let Some(bd) = &state.building
                && bd.holds(brand, level, quarter, (offer, partner, t))
            {
                let (_, _, s, b) = bd.block();
                upsert(conn, (brand, level, s, b, offer, partner, t), &m)?;
            }
        }
        Ok(())
    }

    /// Whether background work (backfill, sealing) waits at `now`.
    pub fn has_work(&mut self, conn: &Connection, now: i64) -> bool {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        match self.state(conn) {
            Ok(s) => !s.backfilled() || s.next_seal(now).is_some(),
            Err(_) => false,
        }
    }

    /// Whether a step may run now under load (it last ran long enough ago).
    pub fn due(&mut self, conn: &Connection, now: i64) -> bool {
        self.not_before.is_none_or(|t| Instant::now() >= t) && self.has_work(conn, now)
    }

    /// One step of background work in its own transaction: a backfill batch, else one block
    /// sealed. Between the writer's batches, so it never runs beside the writer's own writes.
    pub fn step(&mut self, conn: &mut Connection, now: i64) -> StoreResult<()> {
        let r = self.try_step(conn, now);
        if r.is_err() {
            // Leave the writer alone for a while rather than loop on a failing step.
            self.retry_at = Some(Instant::now() + Duration::from_secs(5));
        }
        r
    }

    fn try_step(&mut self, conn: &mut Connection, now: i64) -> StoreResult<()> {
        let started = Instant::now();
        self.state(conn)?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let state = self.state.as_ref().expect("loaded");
        let seal = if state.backfilled() {
            match state.next_seal(now) {
                Some(s) => Some(s),
                None => return Ok(()),
            }
        } else {
            None
        };
        let result = match seal {
            None => self.backfill_step(&tx).map(|()| (Vec::new(), None)),
            Some((i, b)) => {
                sealing::seal_step(&tx, &state.sealed, (i, b), state.building, self.step_rows)
                    .and_then(|(added, next)| {
                        Building::save(&tx, next.as_ref())?;
                        if next.is_none() {
                            set_state(&tx, &format!("seal_{}", SEALED[i]), b + SEALED[i])?;
                        }
                        Ok((added, next))
                    })
            }
        };
        let committed = result.and_then(|done| {
            tx.commit()?;
            Ok(done)
        });
        let (added, next) = match committed {
            Ok(done) => done,
            Err(e) => {
                // Rolled back: reload what is on disk, forget the tuple ids it made.
                self.forget();
                self.state = None;
                return Err(e);
            }
        };
        let state = self.state.as_mut().expect("loaded");
        if let Some((i, b)) = seal {
            if next.is_none() {
                state.seal_next[i] = b + SEALED[i];
            }
            state.building = next;
            state.sealed.extend(added);
        } else {
            self.longest_step = self.longest_step.max(started.elapsed());
        }
        // Under load, a step every 4 steps' time: the writer's batches keep 3/4 of it.
        self.not_before = Some(Instant::now() + 3 * started.elapsed());
        Ok(())
    }

    /// Sum the raw rows of the next stretch into the 15-minute rows and move `backfill_next`.
    fn backfill_step(&mut self, conn: &Connection) -> StoreResult<()> {
        let began = *self.backfill_started.get_or_insert_with(Instant::now);
        let state = self.state.as_ref().expect("loaded");
        let (from, chunk, live_from) = (state.backfill_next, state.chunk, state.live_from);
        let to = from.saturating_add(chunk).min(live_from);
        let mut deltas: HashMap<DeltaKey, Metrics> = HashMap::new();
        let brands: Vec<i64> = conn
            .prepare_cached("SELECT id FROM brands")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut read = 0usize;
        for &brand in &brands {
            let currencies: IntMap<i64, Arc<str>> = conn
                .prepare_cached("SELECT id, currency FROM offers WHERE brand_id = ?1")?
                .query_map([brand], |r| {
                    Ok((r.get::<_, i64>(0)?, Arc::from(r.get::<_, String>(1)?)))
                })?
                .collect::<Result<_, _>>()?;
            crate::db::click_layout::each_for_subs(conn, brand, from, to, |c| {
                read += 1;
                let currency = currencies
                    .get(&c.offer_id)
                    .cloned()
                    .unwrap_or_else(|| Arc::from(""));
                let m = Metrics {
                    clicks: 1,
                    unique_clicks: i64::from(c.is_unique),
                    ..Metrics::default()
                };
                let key = DeltaKey {
                    quarter: c.created_at.div_euclid(BUCKET_SECS) * BUCKET_SECS,
                    offer_id: c.offer_id,
                    partner_id: c.partner_id,
                    tuple: Tuple {
                        brand_id: brand,
                        currency,
                        subs: c.subs,
                    },
                };
                deltas.entry(key).or_default().add(&m);
            })?;
            let mut stmt = conn.prepare_cached(
                "SELECT occurred_at, offer_id, partner_id, currency, status, amount_minor,
                   payout_minor, sub1, sub2, sub3, sub4, sub5
                 FROM conversions WHERE brand_id = ?1 AND occurred_at >= ?2 AND occurred_at < ?3",
            )?;
            let mut rows = stmt.query(params![brand, from, to])?;
            while let Some(r) = rows.next()? {
                read += 1;
                let status: ConversionStatus = r.get(4)?;
                let m = super::rollups::status_metrics(status, r.get(5)?, r.get(6)?);
                let ts: i64 = r.get(0)?;
                let key = DeltaKey {
                    quarter: ts.div_euclid(BUCKET_SECS) * BUCKET_SECS,
                    offer_id: r.get(1)?,
                    partner_id: r.get(2)?,
                    tuple: Tuple {
                        brand_id: brand,
                        currency: Arc::from(r.get::<_, String>(3)?),
                        subs: [r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?],
                    },
                };
                deltas.entry(key).or_default().add(&m);
            }
        }
        self.write(conn, deltas, true)?;
        // Past an empty stretch, jump to the next raw row.
        let mut next = to;
        if read == 0 && to < live_from {
            let mut soonest = live_from;
            for &brand in &brands {
                for sql in [
                    "SELECT min(created_at) FROM clicks WHERE brand_id = ?1 AND created_at >= ?2",
                    "SELECT min(occurred_at) FROM conversions WHERE brand_id = ?1 AND occurred_at >= ?2",
                ] {
                    let t: Option<i64> = conn
                        .prepare_cached(sql)?
                        .query_row(params![brand, to], |r| r.get(0))?;
                    if let Some(t) = t {
                        soonest = soonest.min(t.div_euclid(BUCKET_SECS) * BUCKET_SECS);
                    }
                }
            }
            next = soonest.max(to);
        }
        set_state(conn, "backfill_next", next)?;
        let state = self.state.as_mut().expect("loaded");
        state.backfill_next = next;
        // Aim the next step at BACKFILL_ROWS rows: at most 4 times longer, a quarter at least.
        let aim = if read == 0 {
            chunk * 4
        } else {
            (chunk as f64 * BACKFILL_ROWS as f64 / read as f64) as i64
        };
        state.chunk = (aim.clamp(chunk / 4, chunk * 4) / BUCKET_SECS * BUCKET_SECS)
            .clamp(BUCKET_SECS, 16 * DAY);
        self.backfill_rows += read as u64;
        let log_due = self
            .last_log
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if log_due || next >= live_from {
            self.last_log = Some(Instant::now());
            tracing::info!(
                rows = self.backfill_rows,
                up_to = next,
                until = live_from,
                done = next >= live_from,
                secs = began.elapsed().as_secs_f64(),
                longest_step_ms = self.longest_step.as_secs_f64() * 1e3,
                "sub-id rollups backfill: {} rows summed{}",
                self.backfill_rows,
                if next >= live_from {
                    " (done: sub-id reports read the rollups)".to_string()
                } else {
                    format!(
                        ", {:.1} days of data left",
                        (live_from - next) as f64 / DAY as f64
                    )
                }
            );
        }
        Ok(())
    }

    /// Seal every block due at `now` (the seed, tests): many steps, no throttle.
    pub fn seal_all(&mut self, conn: &mut Connection, now: i64) -> StoreResult<()> {
        while self.has_work(conn, now) {
            self.step(conn, now)?;
        }
        Ok(())
    }

    /// A fresh store that is then filled with the past (the seed): sealing starts at `t`.
    pub fn start_seals_at(&mut self, conn: &Connection, t: i64) -> StoreResult<()> {
        let any: Option<i64> = conn
            .query_row("SELECT 1 FROM sub_seals LIMIT 1", [], |r| r.get(0))
            .optional()?;
        if any.is_some() {
            return Ok(());
        }
        let state = self.state(conn)?;
        for (i, s) in SEALED.into_iter().enumerate() {
            let b = t.div_euclid(s) * s;
            if b < state.seal_next[i] {
                state.seal_next[i] = b;
                set_state(conn, &format!("seal_{s}"), b)?;
            }
        }
        Ok(())
    }
}

/// Raw rows before this time are summed into the sub-id rollups (everything, once the backfill
/// has finished): retention deletes no click the backfill still has to read.
pub fn summed_before(conn: &Connection) -> StoreResult<i64> {
    let get = |name: &str| state_value(conn, name);
    Ok(match (get("backfill_next")?, get("live_from")?) {
        (Some(next), Some(live)) if next < live => next,
        _ => i64::MAX,
    })
}

fn upsert(
    conn: &Connection,
    (brand, level, span, bucket, offer, partner, t): (i64, i64, i64, i64, i64, i64, i64),
    m: &Metrics,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sub_rollups (brand_id, level, span, bucket, offer_id, partner_id, tuple_id,
           clicks, unique_clicks, conversions, pending_conversions, rejected_conversions,
           reversed_conversions, revenue_minor, payout_minor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (brand_id, level, span, bucket, offer_id, partner_id, tuple_id) DO UPDATE SET
           clicks = clicks + excluded.clicks,
           unique_clicks = unique_clicks + excluded.unique_clicks,
           conversions = conversions + excluded.conversions,
           pending_conversions = pending_conversions + excluded.pending_conversions,
           rejected_conversions = rejected_conversions + excluded.rejected_conversions,
           reversed_conversions = reversed_conversions + excluded.reversed_conversions,
           revenue_minor = revenue_minor + excluded.revenue_minor,
           payout_minor = payout_minor + excluded.payout_minor",
    )?
    .execute(params![
        brand,
        level,
        span,
        bucket,
        offer,
        partner,
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
    Ok(())
}

/// Cover `[start, end)` (multiples of 900) with the longest blocks that fit and are written
/// (`sealed`), appending `(span, from, to)` runs; consecutive blocks of a span join one run.
fn cover(start: i64, end: i64, sealed: &dyn Fn(i64, i64) -> bool, runs: &mut Vec<(i64, i64, i64)>) {
    let mut t = start;
    while t < end {
        let span = SPANS
            .into_iter()
            .find(|s| t.rem_euclid(*s) == 0 && t + s <= end && (*s == 900 || sealed(*s, t)))
            .unwrap_or(900);
        match runs
            .iter_mut()
            .rev()
            .find(|(s, _, to)| *s == span && *to == t)
        {
            Some(run) => run.2 = t + span,
            None => runs.push((span, t, t + span)),
        }
        t += span;
    }
}

/// Read one run's rows, calling `f(bucket, offer, partner, tuple, metrics)` for each.
///
/// A filter on the key's leading columns after `bucket` (the offer at levels 1 and 2, the
/// partner at level 3, whose offer is always 0) is a seek per bucket: a partner's slice of a
/// level-3 month is a twentieth of its rows, and a range scan would read them all.
fn read_run(
    conn: &Connection,
    brand: i64,
    level: i64,
    (span, from, to): (i64, i64, i64),
    filter: (Option<i64>, Option<i64>),
    after: Option<(i64, (i64, i64, i64))>,
    mut f: impl FnMut(i64, i64, i64, i64, Metrics) -> bool,
) -> rusqlite::Result<()> {
    const COLUMNS: &str = "r.bucket, r.offer_id, r.partner_id, r.tuple_id, r.clicks,
           r.unique_clicks, r.conversions, r.pending_conversions, r.rejected_conversions,
           r.reversed_conversions, r.revenue_minor, r.payout_minor";
    // The seek's (offer, partner): level 3 keeps no offer (0) and seeks by the partner.
    let seek = match level_keeps(level) {
        (true, _) => filter.0.map(|offer| (offer, filter.1)),
        (false, _) => filter.1.map(|partner| (0, Some(partner))),
    };
    let mut args = vec![brand, level, span, from, to];
    let sql = match seek {
        Some((offer, partner)) => {
            args.push(offer);
            args.extend(partner);
            // The buckets of the run, each a seek on (bucket, offer[, partner]); CROSS JOIN
            // keeps the bucket list as the outer loop.
            format!(
                "WITH RECURSIVE q(b) AS (SELECT ?4 UNION ALL SELECT b + ?3 FROM q WHERE b + ?3 < ?5)
                 SELECT {COLUMNS} FROM q CROSS JOIN sub_rollups r
                 WHERE r.brand_id = ?1 AND r.level = ?2 AND r.span = ?3 AND r.bucket = q.b
                   AND r.offer_id = ?6{}",
                if partner.is_some() { " AND r.partner_id = ?7" } else { "" }
            )
        }
        None => {
            let mut sql = format!(
                "SELECT {COLUMNS} FROM sub_rollups r
                 WHERE r.brand_id = ?1 AND r.level = ?2 AND r.span = ?3 AND r.bucket >= ?4
                   AND r.bucket < ?5"
            );
            let mut and = |cond: &str, value: i64| {
                args.push(value);
                sql.push_str(&format!(" AND {cond} ?{}", args.len()));
            };
            if let Some(offer) = filter.0 {
                and("r.offer_id =", offer);
            }
            if let Some(partner) = filter.1 {
                and("r.partner_id =", partner);
            }
            if let Some((bucket, (o, p, t))) = after {
                // Where a sealing step resumes: after the last row it summed.
                and(
                    "(r.bucket, r.offer_id, r.partner_id, r.tuple_id) > (",
                    bucket,
                );
                for v in [o, p, t] {
                    args.push(v);
                    sql.push_str(&format!(", ?{}", args.len()));
                }
                sql.push(')');
            }
            sql
        }
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let m = Metrics {
            clicks: r.get(4)?,
            unique_clicks: r.get(5)?,
            conversions: r.get(6)?,
            pending_conversions: r.get(7)?,
            rejected_conversions: r.get(8)?,
            reversed_conversions: r.get(9)?,
            revenue: r.get(10)?,
            payout: r.get(11)?,
        };
        if m == Metrics::default() {
            continue;
        }
        if !f(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, m) {
            break;
        }
    }
    Ok(())
}

/// What a sub-id report reads.
pub enum Answer {
    Rows(Vec<(Key, Metrics)>),
    /// More than the `max_groups` asked for (at least this many): stopped early.
    TooLarge(usize),
}

/// An output group: report bucket, offer, partner, grouped sub ids, currency.
type OutKey = (u32, i64, i64, [Option<Arc<str>>; 5], Arc<str>);

/// The texts of a tuple a report needs: its currency and the grouped sub ids.
type Shown = (Arc<str>, [Option<Arc<str>>; 5]);

/// Source rows for a sub-id report from the rollups; `None` until the backfill has finished.
/// More than `max_groups` output groups stop the read early with `TooLarge`.
pub fn source_rows(conn: &Connection, q: &Query, max_groups: usize) -> StoreResult<Option<Answer>> {
    let get = |name: &str| state_value(conn, name);
    match (get("backfill_next")?, get("live_from")?) {
        (Some(next), Some(live)) if next >= live => {}
        _ => return Ok(None),
    }
    let brand = q.brand_id.get();
    let level = level_for(
        q.dims.offer || q.offer_id.is_some(),
        q.dims.partner || q.partner_id.is_some(),
    );
    let mut edges: Vec<i64> = Vec::with_capacity(q.cuts.len() + 2);
    edges.push(q.from);
    edges.extend(q.cuts.iter().copied().filter(|c| *c > q.from && *c <= q.to));
    edges.push(q.to + 1);

    let mut sealed: IntSet<(i64, i64)> = IntSet::default();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT span, bucket FROM sub_seals
             WHERE brand_id = ?1 AND level = ?2 AND bucket >= ?3 AND bucket < ?4",
        )?;
        let mut rows = stmt.query(params![brand, level, q.from, q.to + 1])?;
        while let Some(r) = rows.next()? {
            sealed.insert((r.get(0)?, r.get(1)?));
        }
    }
    let is_sealed = |s: i64, t: i64| sealed.contains(&(s, t));
    let mut runs = Vec::new();
    for w in edges.windows(2) {
        cover(w[0], w[1], &is_sealed, &mut runs);
    }

    // Sums per (report bucket, offer, partner, tuple id): integers only.
    let mut sums: IntMap<(u32, i64, i64, i64), Metrics> = IntMap::default();
    let mut check_at = max_groups.saturating_add(1);
    let mut too_large = None;
    let mut texts: IntMap<i64, Shown> = IntMap::default();
    let (dims, filter) = (q.dims, (q.offer_id, q.partner_id));
    let mut last = (i64::MIN, 0u32);
    let started = Instant::now();
    let mut read = 0usize;
    let run_count = runs.len();
    for run in runs {
        read_run(
            conn,
            brand,
            level,
            run,
            filter,
            None,
            |bucket, o, p, t, m| {
                read += 1;
                let seg = if bucket == last.0 {
                    last.1
                } else {
                    let s = (edges.partition_point(|e| *e <= bucket) - 1) as u32;
                    last = (bucket, s);
                    s
                };
                let o = if dims.offer { o } else { 0 };
                let p = if dims.partner { p } else { 0 };
                sums.entry((seg, o, p, t)).or_default().add(&m);
                if sums.len() >= check_at {
                    // Tuple ids are at least as many as the output groups: count those.
                    match shown_groups(conn, &sums, &mut texts, dims) {
                        Ok(n) if n > max_groups => {
                            too_large = Some(Ok(n));
                            return false;
                        }
                        Ok(_) => check_at = check_at.saturating_mul(2),
                        Err(e) => {
                            too_large = Some(Err(e));
                            return false;
                        }
                    }
                }
                true
            },
        )?;
        match too_large {
            Some(Ok(n)) => return Ok(Some(Answer::TooLarge(n))),
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
    }
    let summed = started.elapsed();
    resolve(conn, sums.keys().map(|k| k.3), &mut texts, dims)?;
    tracing::debug!(
        runs = run_count,
        rows = read,
        sums = sums.len(),
        read_ms = summed.as_secs_f64() * 1e3,
        resolve_ms = started.elapsed().saturating_sub(summed).as_secs_f64() * 1e3,
        "sub-id rollups read"
    );
    let mut out: HashMap<OutKey, Metrics> = HashMap::with_capacity(sums.len());
    for ((seg, o, p, t), m) in sums {
        let (currency, subs) = texts.get(&t).cloned().unwrap_or_default();
        out.entry((seg, o, p, subs, currency)).or_default().add(&m);
    }
    if out.len() > max_groups {
        return Ok(Some(Answer::TooLarge(out.len())));
    }
    let rows = out
        .into_iter()
        .map(|((seg, o, p, subs, currency), m)| {
            (
                Key {
                    bucket: edges[seg as usize] / BUCKET_SECS,
                    offer_id: dims.offer.then_some(o),
                    partner_id: dims.partner.then_some(p),
                    subs: subs.map(|s| s.map(|s| s.to_string())),
                    currency: currency.to_string(),
                },
                m,
            )
        })
        .collect();
    Ok(Some(Answer::Rows(rows)))
}

/// How many output groups `sums` makes (resolving the tuples not yet known).
fn shown_groups(
    conn: &Connection,
    sums: &IntMap<(u32, i64, i64, i64), Metrics>,
    texts: &mut IntMap<i64, Shown>,
    dims: crate::domain::report::Dims,
) -> rusqlite::Result<usize> {
    resolve(conn, sums.keys().map(|k| k.3), texts, dims)?;
    let mut seen = std::collections::HashSet::new();
    for (seg, o, p, t) in sums.keys() {
        seen.insert((*seg, *o, *p, texts.get(t)));
    }
    Ok(seen.len())
}

/// Look up the texts of the tuple ids in `ids` that `texts` lacks: by id when they are few,
/// else in one pass over the dictionary.
fn resolve(
    conn: &Connection,
    ids: impl Iterator<Item = i64>,
    texts: &mut IntMap<i64, Shown>,
    dims: crate::domain::report::Dims,
) -> rusqlite::Result<()> {
    let mut missing: Vec<i64> = ids.filter(|t| !texts.contains_key(t)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    missing.dedup();
    // Interned: thousands of tuples share a handful of currencies and sub values.
    let mut interned: HashMap<String, Arc<str>> = HashMap::new();
    let mut intern = |s: String| -> Arc<str> {
        if let Some(a) = interned.get(&s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s.as_str());
        interned.insert(s, a.clone());
        a
    };
    let mut shown = |r: &rusqlite::Row| -> rusqlite::Result<Shown> {
        let currency = intern(r.get(1)?);
        let mut subs: [Option<Arc<str>>; 5] = Default::default();
        for (i, on) in dims.subs.iter().enumerate() {
            if *on {
                subs[i] = r.get::<_, Option<String>>(2 + i)?.map(&mut intern);
            }
        }
        Ok((currency, subs))
    };
    let total: i64 = conn.query_row("SELECT COALESCE(max(id), 0) FROM sub_tuples", [], |r| {
        r.get(0)
    })?;
    if missing.len() > 4_096 && missing.len() as i64 > total / 8 {
        let want: IntSet<i64> = missing.iter().copied().collect();
        let mut stmt = conn.prepare_cached(
            "SELECT id, currency, sub1, sub2, sub3, sub4, sub5 FROM sub_tuples
             WHERE id >= ?1 AND id <= ?2",
        )?;
        let mut rows = stmt.query(params![missing[0], missing[missing.len() - 1]])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if want.contains(&id) {
                let s = shown(r)?;
                texts.insert(id, s);
            }
        }
    } else {
        let mut stmt = conn.prepare_cached(
            "SELECT id, currency, sub1, sub2, sub3, sub4, sub5 FROM sub_tuples WHERE id = ?1",
        )?;
        for id in missing {
            if let Some(s) = stmt.query_row([id], |r| shown(r)).optional()? {
                texts.insert(id, s);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (level, span, bucket, offer, partner, tuple) → clicks, of every row.
    fn all_rows(
        conn: &Connection,
    ) -> std::collections::BTreeMap<(i64, i64, i64, i64, i64, i64), i64> {
        let mut stmt = conn
            .prepare(
                "SELECT level, span, bucket, offer_id, partner_id, tuple_id, clicks FROM sub_rollups",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ),
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// A store that 0013 left with levels 0 and 1 only, some of their day blocks sealed: after
    /// 0014 and sealing, every level's 15-minute rows are level 1's regrouped, and every
    /// written block is exactly the sum of its 15-minute rows (the blocks sealed before are
    /// not summed a second time).
    #[test]
    fn levels_2_and_3_are_built_from_level_1_and_sealed_blocks_are_not_counted_twice() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate::migrate_to(&mut conn, 13).unwrap();
        conn.execute(
            "INSERT INTO brands (id, name, created_at) VALUES (1, 'b', 0)",
            [],
        )
        .unwrap();
        // Two days of 15-minute rows, as a 0013 binary wrote them: level 1 per (offer,
        // partner, tuple), level 0 its sums.
        let mut level1: IntMap<(i64, i64, i64, i64), i64> = IntMap::default();
        for q in 0..192i64 {
            for (o, p, t) in [(1, 1, 1), (1, 2, 1), (2, 1, 2), (2, 2, 1), (1, 1, 2)] {
                if (q + o + p + t) % 3 != 0 {
                    *level1.entry((q * 900, o, p, t)).or_default() += 1 + (q % 5) * o;
                }
            }
        }
        let mut level0: IntMap<(i64, i64), i64> = IntMap::default();
        for ((b, _, _, t), c) in &level1 {
            *level0.entry((*b, *t)).or_default() += c;
        }
        let put = |conn: &Connection, k: (i64, i64, i64, i64, i64, i64), clicks: i64| {
            upsert(
                conn,
                (1, k.0, k.1, k.2, k.3, k.4, k.5),
                &Metrics {
                    clicks,
                    ..Metrics::default()
                },
            )
            .unwrap();
        };
        for ((b, o, p, t), c) in &level1 {
            put(&conn, (1, 900, *b, *o, *p, *t), *c);
        }
        for ((b, t), c) in &level0 {
            put(&conn, (0, 900, *b, 0, 0, *t), *c);
        }
        // Day 0 was sealed at both levels, and 0013's walk had moved past it.
        let mut day0: IntMap<(i64, i64, i64, i64), i64> = IntMap::default();
        for ((b, o, p, t), c) in &level1 {
            if *b < DAY {
                *day0.entry((1, *o, *p, *t)).or_default() += c;
                *day0.entry((0, 0, 0, *t)).or_default() += c;
            }
        }
        for ((level, o, p, t), c) in &day0 {
            put(&conn, (*level, DAY, 0, *o, *p, *t), *c);
        }
        for level in [0, 1] {
            conn.execute(
                "INSERT INTO sub_seals (brand_id, level, span, bucket) VALUES (1, ?1, ?2, 0)",
                params![level, DAY],
            )
            .unwrap();
        }
        conn.execute_batch(
            // `first` after the rows, as on a seeded store (its `seal_*` keys were set earlier
            // by `start_seals_at`): 0014 moves it back to the oldest row.
            "UPDATE sub_state SET value = 172800 WHERE name = 'first';
             UPDATE sub_state SET value = 172800 WHERE name IN ('backfill_next', 'live_from');
             INSERT INTO sub_state (name, value) VALUES ('seal_86400', 86400), ('seal_3600', 172800);",
        )
        .unwrap();

        crate::db::migrate::migrate_to(&mut conn, 14).unwrap();
        let mut w = Writer::default();
        w.seal_all(&mut conn, 10 * DAY).unwrap();

        let rows = all_rows(&conn);
        let quarters = |level: i64| -> std::collections::BTreeMap<(i64, i64, i64, i64), i64> {
            rows.iter()
                .filter(|(k, _)| k.0 == level && k.1 == 900)
                .map(|(k, c)| ((k.2, k.3, k.4, k.5), *c))
                .collect()
        };
        let regrouped = |keep: fn(i64, i64) -> (i64, i64)| {
            let mut m = std::collections::BTreeMap::new();
            for ((b, o, p, t), c) in &level1 {
                let (o, p) = keep(*o, *p);
                *m.entry((*b, o, p, *t)).or_insert(0) += c;
            }
            m
        };
        assert_eq!(quarters(2), regrouped(|o, _| (o, 0)));
        assert_eq!(quarters(3), regrouped(|_, p| (0, p)));
        let seals: Vec<(i64, i64, i64)> = conn
            .prepare("SELECT level, span, bucket FROM sub_seals")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (level, _, _) in LEVELS {
            assert!(
                seals.contains(&(level, DAY, 0)) && seals.contains(&(level, DAY, DAY)),
                "level {level}: both days sealed: {seals:?}"
            );
        }
        for (level, span, bucket) in seals {
            let mut want = std::collections::BTreeMap::new();
            for ((b, o, p, t), c) in quarters(level) {
                if b >= bucket && b < bucket + span {
                    *want.entry((o, p, t)).or_insert(0) += c;
                }
            }
            let got: std::collections::BTreeMap<(i64, i64, i64), i64> = rows
                .iter()
                .filter(|(k, _)| k.0 == level && k.1 == span && k.2 == bucket)
                .map(|(k, c)| ((k.3, k.4, k.5), *c))
                .collect();
            assert_eq!(got, want, "level {level}, block {span} at {bucket}");
        }
    }

    #[test]
    fn cover_uses_written_blocks_only() {
        let mut runs = Vec::new();
        let day = |s: i64, t: i64| s == DAY && t == DAY;
        cover(DAY - 1_800, 2 * DAY + 900, &day, &mut runs);
        assert_eq!(
            runs,
            vec![
                (900, DAY - 1_800, DAY),
                (DAY, DAY, 2 * DAY),
                (900, 2 * DAY, 2 * DAY + 900)
            ]
        );
        let mut runs = Vec::new();
        let all = |_: i64, _: i64| true;
        cover(0, 30 * DAY, &all, &mut runs);
        assert_eq!(
            runs,
            vec![
                (16 * DAY, 0, 16 * DAY),
                (8 * DAY, 16 * DAY, 24 * DAY),
                (4 * DAY, 24 * DAY, 28 * DAY),
                (2 * DAY, 28 * DAY, 30 * DAY)
            ]
        );
    }
}
