//! Caps and what each has used per window. Only the writer thread changes use (in the
//! transaction of the conversion that counts), so parallel postbacks never overshoot a limit.

use std::collections::HashMap;

use chrono_tz::Tz;
use rusqlite::{Connection, params};

use super::{StoreResult, offers, one, partners};
use crate::domain::cap::{Cap, fits, window_start};
use crate::domain::conversion::Conversion;
use crate::domain::ids::BrandId;
use crate::domain::money::Money;
use crate::domain::status::{CapMetric, CapWindow, ConversionStatus};
use crate::domain::time::now;

const COLUMNS: &str = "id, offer_id, partner_id, metric, window, limit_value, created_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Cap> {
    Ok(Cap {
        id: r.get(0)?,
        offer_id: r.get(1)?,
        partner_id: r.get(2)?,
        metric: r.get(3)?,
        window: r.get(4)?,
        limit: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// A cap as requested: `limit` in minor units for `payout`.
#[derive(Debug, Clone)]
pub struct NewCap {
    pub partner_id: Option<i64>,
    pub metric: CapMetric,
    pub window: CapWindow,
    pub limit: i64,
}

pub fn get(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Cap> {
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM caps WHERE brand_id = ?1 AND id = ?2"
        ))?
        .query_row(params![brand_id, id], row))
}

/// Every cap of an offer, oldest first (an offer has a handful).
pub fn of_offer(conn: &Connection, brand_id: BrandId, offer_id: i64) -> StoreResult<Vec<Cap>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM caps WHERE brand_id = ?1 AND offer_id = ?2 ORDER BY id"
    ))?;
    let rows = stmt
        .query_map(params![brand_id, offer_id], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every cap of an offer with what it has used in the window holding `at` (in `tz`).
pub fn of_offer_with_use(
    conn: &Connection,
    brand_id: BrandId,
    offer_id: i64,
    at: i64,
    tz: Tz,
) -> StoreResult<Vec<(Cap, i64)>> {
    of_offer(conn, brand_id, offer_id)?
        .into_iter()
        .map(|cap| {
            let used = used(conn, &cap, at, tz)?;
            Ok((cap, used))
        })
        .collect()
}

/// What `cap` has used in the window holding `at`.
pub fn used(conn: &Connection, cap: &Cap, at: i64, tz: Tz) -> StoreResult<i64> {
    stored_use(conn, cap.id, window_start(cap.window, at, tz))
}

fn stored_use(conn: &Connection, cap_id: i64, start: i64) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT used FROM cap_usage WHERE cap_id = ?1 AND window_start = ?2")?
        .query_row(params![cap_id, start], |r| r.get(0))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(0),
            e => Err(e),
        })?)
}

fn add(conn: &Connection, cap: &Cap, at: i64, tz: Tz, delta: i64) -> StoreResult<()> {
    if delta == 0 {
        return Ok(());
    }
    upsert_use(conn, cap.id, window_start(cap.window, at, tz), delta)
}

fn upsert_use(conn: &Connection, cap_id: i64, start: i64, delta: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO cap_usage (cap_id, window_start, used) VALUES (?1, ?2, ?3)
         ON CONFLICT (cap_id, window_start) DO UPDATE SET used = used + excluded.used",
    )?
    .execute(params![cap_id, start, delta])?;
    Ok(())
}

/// The caps a conversion of `partner_id` on `offer_id` counts toward.
pub(super) fn covering(
    conn: &Connection,
    brand_id: BrandId,
    offer_id: i64,
    partner_id: i64,
) -> StoreResult<Vec<Cap>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM caps WHERE brand_id = ?1 AND offer_id = ?2
         AND (partner_id IS NULL OR partner_id = ?3)"
    ))?;
    let rows = stmt
        .query_map(params![brand_id, offer_id, partner_id], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// For a conversion about to be recorded as counted: true, and its use charged to every cap
/// of `caps` (those it falls under, `covering`), when all of them have room; false (nothing
/// charged) when one would go past its limit. `tz`: the brand's zone.
pub fn admit(
    conn: &Connection,
    caps: &[Cap],
    occurred_at: i64,
    payout: Money,
    tz: Tz,
) -> StoreResult<bool> {
    for cap in caps {
        if !fits(
            used(conn, cap, occurred_at, tz)?,
            cap.weight(payout),
            cap.limit,
        ) {
            return Ok(false);
        }
    }
    for cap in caps {
        add(conn, cap, occurred_at, tz, cap.weight(payout))?;
    }
    Ok(true)
}

/// Cap use charged by a batch's postbacks, kept here and written once per window when the
/// postbacks are done (`flush`), instead of a read and an upsert of `cap_usage` per cap per
/// postback (a ninth of the writer's time with three caps). Each window's use is read once,
/// then counted here; a postback's charges are staged by `admit_deferred` and counted only when
/// it is kept (`keep`): one that fails afterwards leaves nothing counted.
#[derive(Default)]
pub struct Usage {
    /// (cap, window start) -> (use, counting what is charged here; charged here, not yet written).
    windows: HashMap<(i64, i64), (i64, i64)>,
    staged: Vec<((i64, i64), i64)>,
}

impl Usage {
    fn used(&mut self, conn: &Connection, cap: &Cap, start: i64) -> StoreResult<i64> {
        if let Some((used, _)) = self.windows.get(&(cap.id, start)) {
            return Ok(*used);
        }
        let used = stored_use(conn, cap.id, start)?;
        self.windows.insert((cap.id, start), (used, 0));
        Ok(used)
    }

    /// Drop what the last `admit_deferred` staged: its conversion was not written.
    pub fn unstage(&mut self) {
        self.staged.clear();
    }

    /// Count what the last `admit_deferred` charged: its conversion is written.
    pub fn keep(&mut self) {
        for (key, weight) in self.staged.drain(..) {
            let (used, charged) = self.windows.get_mut(&key).expect("read before staged");
            *used += weight;
            *charged += weight;
        }
    }

    /// Write what was charged, and forget every window (what follows may change them).
    pub fn flush(&mut self, conn: &Connection) -> StoreResult<()> {
        self.staged.clear();
        for ((cap_id, start), (_, charged)) in self.windows.drain() {
            if charged != 0 {
                upsert_use(conn, cap_id, start, charged)?;
            }
        }
        Ok(())
    }
}

/// `admit`, with the use counted in `usage` (see `Usage`): true when every cap has room, and
/// the charges are staged there for `Usage::keep`.
pub fn admit_deferred(
    conn: &Connection,
    usage: &mut Usage,
    caps: &[Cap],
    occurred_at: i64,
    payout: Money,
    tz: Tz,
) -> StoreResult<bool> {
    usage.staged.clear();
    for cap in caps {
        let start = window_start(cap.window, occurred_at, tz);
        if !fits(usage.used(conn, cap, start)?, cap.weight(payout), cap.limit) {
            return Ok(false);
        }
    }
    for cap in caps {
        let start = window_start(cap.window, occurred_at, tz);
        usage.staged.push(((cap.id, start), cap.weight(payout)));
    }
    Ok(true)
}

/// Move a conversion's use as its status changes: a change into or out of the counted
/// statuses adds or takes back its weight (a person approving a capped conversion may take a
/// cap past its limit: their decision).
pub fn restatus(
    conn: &Connection,
    c: &Conversion,
    from: ConversionStatus,
    to: ConversionStatus,
    tz: impl FnOnce() -> StoreResult<Tz>,
) -> StoreResult<()> {
    let sign = match (from.counts_toward_caps(), to.counts_toward_caps()) {
        (false, true) => 1,
        (true, false) => -1,
        _ => return Ok(()),
    };
    let caps = covering(conn, c.brand_id, c.offer_id, c.partner_id)?;
    if caps.is_empty() {
        return Ok(());
    }
    let tz = tz()?;
    for cap in caps {
        add(conn, &cap, c.occurred_at, tz, sign * cap.weight(c.payout))?;
    }
    Ok(())
}

/// A new cap on an offer (for one partner of the brand, or all), with the use of every window
/// counted from the conversions already recorded: a cap added mid-month knows the month so far.
/// `tz`: the brand's zone.
pub fn create(
    conn: &Connection,
    brand_id: BrandId,
    offer_id: i64,
    new: &NewCap,
    tz: Tz,
) -> StoreResult<Cap> {
    offers::get(conn, brand_id, offer_id)?;
    if let Some(p) = new.partner_id {
        partners::named(conn, brand_id, p)?;
    }
    conn.execute(
        "INSERT INTO caps (brand_id, offer_id, partner_id, metric, window, limit_value, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            brand_id,
            offer_id,
            new.partner_id,
            new.metric,
            new.window,
            new.limit,
            now()
        ],
    )?;
    let cap = get(conn, brand_id, conn.last_insert_rowid())?;
    count(conn, brand_id, &cap, tz)?;
    Ok(cap)
}

/// Count `cap`'s use of every window afresh from the conversions recorded, in `tz`.
fn count(conn: &Connection, brand_id: BrandId, cap: &Cap, tz: Tz) -> StoreResult<()> {
    conn.execute("DELETE FROM cap_usage WHERE cap_id = ?1", [cap.id])?;
    let mut stmt = conn.prepare_cached(
        "SELECT occurred_at, payout_minor FROM conversions
         WHERE brand_id = ?1 AND offer_id = ?2 AND (?3 IS NULL OR partner_id = ?3)
         AND status IN ('approved', 'pending')",
    )?;
    let mut usage: std::collections::HashMap<i64, i64> = Default::default();
    let mut rows = stmt.query(params![brand_id, cap.offer_id, cap.partner_id])?;
    while let Some(r) = rows.next()? {
        let (at, payout): (i64, i64) = (r.get(0)?, r.get(1)?);
        *usage.entry(window_start(cap.window, at, tz)).or_default() += cap.weight(Money(payout));
    }
    let mut insert = conn
        .prepare_cached("INSERT INTO cap_usage (cap_id, window_start, used) VALUES (?1, ?2, ?3)")?;
    for (start, used) in usage {
        insert.execute(params![cap.id, start, used])?;
    }
    Ok(())
}

/// Count every cap of the brand again in its zone `tz`: windows are the zone's days, weeks and
/// months, so a new zone moves them. In the transaction that changes the zone.
pub fn recount(conn: &Connection, brand_id: BrandId, tz: Tz) -> StoreResult<()> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM caps WHERE brand_id = ?1"))?;
    let caps = stmt
        .query_map([brand_id], row)?
        .collect::<Result<Vec<_>, _>>()?;
    for cap in caps {
        count(conn, brand_id, &cap, tz)?;
    }
    Ok(())
}

pub fn delete(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<()> {
    get(conn, brand_id, id)?;
    conn.execute("DELETE FROM cap_usage WHERE cap_id = ?1", [id])?;
    conn.execute("DELETE FROM caps WHERE id = ?1", [id])?;
    Ok(())
}
