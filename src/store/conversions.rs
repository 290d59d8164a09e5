//! Conversions: inserted and re-statused only by the writer thread, read by the API.

use crate::domain::ids::BrandId;
use rusqlite::{Connection, OptionalExtension, params};

use super::lookups::Lookups;
use super::offers::Offer;
use super::rollups::Pending;
use super::{
    Page, StoreError, StoreResult, brands, caps, clicks, events, one, paginate, statements,
};
use crate::domain::attribution::{Attribution, Refusal};
use crate::domain::conversion::{
    CAP_ACTOR, CAP_REACHED, Conversion, HOLD_ACTOR, HistoryEntry, InvalidTransition, NewConversion,
};
use crate::domain::money::Money;
use crate::domain::payout::payout;
use crate::domain::payout_rule;
use crate::domain::status::ConversionStatus;
use crate::domain::time::now;

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub offer_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub status: Option<ConversionStatus>,
    pub event: Option<String>,
    pub click_id: Option<String>,
    pub transaction_id: Option<String>,
    /// Matches the transaction id or the click id, exactly (the dashboard's search box).
    pub search: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

const COLUMNS: &str =
    "id, brand_id, click_id, offer_id, partner_id, event, amount_minor, payout_minor,
    currency, status, transaction_id, sub1, sub2, sub3, sub4, sub5, occurred_at, created_at,
    reason, updated_at, hold_until, payout_rule_id, statement_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Conversion> {
    Ok(Conversion {
        id: r.get(0)?,
        brand_id: r.get(1)?,
        click_id: r.get(2)?,
        offer_id: r.get(3)?,
        partner_id: r.get(4)?,
        event: r.get(5)?,
        amount: r.get::<_, Option<i64>>(6)?.map(Money),
        payout: Money(r.get(7)?),
        currency: r.get(8)?,
        status: r.get(9)?,
        transaction_id: r.get(10)?,
        subs: [r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?],
        occurred_at: r.get(16)?,
        created_at: r.get(17)?,
        reason: r.get(18)?,
        updated_at: r.get(19)?,
        hold_until: r.get(20)?,
        payout_rule_id: r.get(21)?,
        statement_id: r.get(22)?,
    })
}

pub fn get(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Conversion> {
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM conversions WHERE brand_id = ?1 AND id = ?2"
        ))?
        .query_row(params![brand_id, id], row))
}

fn by_transaction(
    conn: &Connection,
    brand_id: BrandId,
    txn: &str,
) -> StoreResult<Option<Conversion>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM conversions WHERE brand_id = ?1 AND transaction_id = ?2"
        ))?
        .query_row(params![brand_id, txn], row)
        .optional()?)
}

/// Whom a postback credits: the click's offer, partner and sub ids, or the offer and partner
/// it names. A click id unknown to the brand, or one that disagrees with the ids sent beside
/// it, is refused.
fn credited(
    conn: &Connection,
    brand_id: BrandId,
    a: &Attribution,
) -> StoreResult<(i64, i64, [Option<String>; 5])> {
    match a {
        Attribution::Click {
            click_id,
            offer_id,
            partner_id,
        } => {
            let click = clicks::find(conn, brand_id, click_id)?
                .ok_or_else(|| Refusal::UnknownClick(click_id.clone()))?;
            if offer_id.is_some_and(|o| o != click.offer_id) {
                return Err(Refusal::OfferMismatch.into());
            }
            if partner_id.is_some_and(|p| p != click.partner_id) {
                return Err(Refusal::PartnerMismatch.into());
            }
            Ok((click.offer_id, click.partner_id, click.subs))
        }
        Attribution::Direct {
            offer_id,
            partner_id,
        } => Ok((*offer_id, *partner_id, Default::default())),
    }
}

/// The credited offer, when it and the partner are the brand's.
fn credited_offer(
    conn: &Connection,
    lookups: &mut Lookups,
    brand_id: BrandId,
    offer_id: i64,
    partner_id: i64,
) -> StoreResult<Offer> {
    let offer = match lookups.offer(conn, brand_id, offer_id) {
        Err(StoreError::NotFound) => return Err(Refusal::UnknownOffer(offer_id).into()),
        r => r?.clone(),
    };
    match lookups.partner(conn, brand_id, partner_id) {
        Err(StoreError::NotFound) => Err(Refusal::UnknownPartner(partner_id).into()),
        r => r.map(|()| offer),
    }
}

/// Keep one entry of `id`'s history (in the transaction of the change it records).
fn record(
    conn: &Connection,
    id: i64,
    at: i64,
    from: Option<ConversionStatus>,
    to: ConversionStatus,
    reason: Option<&str>,
    actor: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO conversion_history (conversion_id, at, from_status, to_status, reason, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, at, from, to, reason, actor])?;
    Ok(())
}

/// Every entry of a conversion's history, oldest first; `NotFound` when the conversion is not
/// the brand's.
pub fn history(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Vec<HistoryEntry>> {
    get(conn, brand_id, id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT at, from_status, to_status, reason, actor FROM conversion_history
         WHERE conversion_id = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(HistoryEntry {
                at: r.get(0)?,
                from: r.get(1)?,
                to: r.get(2)?,
                reason: r.get(3)?,
                actor: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Record a postback. Returns the conversion and whether it is new (false: a repeat of
/// `transaction_id`, answered with the first one). Only the writer thread calls this, so the
/// check-then-insert for idempotency cannot race. A new conversion is counted in `rollups`.
/// `lookups`: what this batch of postbacks has read already (see `store::lookups`).
pub fn insert(
    conn: &Connection,
    brand_id: BrandId,
    n: &NewConversion,
    actor: &str,
    rollups: &mut Pending,
    lookups: &mut Lookups,
) -> StoreResult<(Conversion, bool)> {
    // Whatever an earlier postback staged and did not keep (it failed) is not this one's.
    lookups.begin();
    if let Some(txn) = &n.transaction_id
        && let Some(existing) = by_transaction(conn, brand_id, txn)?
    {
        return Ok((existing, false));
    }
    let (offer_id, partner_id, subs) = credited(conn, brand_id, &n.attribution)?;
    let offer = credited_offer(conn, lookups, brand_id, offer_id, partner_id)?;
    let ts = now();
    let occurred_at = n.occurred_at.unwrap_or(ts);
    // The payout is fixed now, by the rule in force when the conversion occurred.
    let earning = payout_rule::earning(
        offer.payout_type,
        offer.payout,
        lookups.rules(conn, brand_id, offer_id, partner_id)?,
        offer_id,
        partner_id,
        occurred_at,
    );
    let payout = payout(earning.payout_type, earning.payout, n.amount)?;
    // One that would be approved on an offer with a hold waits, pending, until it passes; one
    // sent as pending waits for a person instead.
    let (mut status, mut hold_until) = (n.status, None);
    if status == ConversionStatus::Approved && offer.hold_days > 0 {
        status = ConversionStatus::Pending;
        hold_until = Some(occurred_at.saturating_add(offer.hold_days * 86_400));
    }
    let (mut reason, mut actor) = (None, actor);
    // Caps are asked only when the conversion counts and a cap covers it (the zone is known
    // then): most offers have none.
    if status.counts_toward_caps()
        && !lookups.admit(conn, brand_id, offer_id, partner_id, occurred_at, payout)?
    {
        // Kept, never lost: rejected, and the history says by whom and why.
        (status, hold_until) = (ConversionStatus::Rejected, None);
        (reason, actor) = (Some(CAP_REACHED), CAP_ACTOR);
    }
    conn.prepare_cached(
        "INSERT INTO conversions (brand_id, click_id, offer_id, partner_id, event, amount_minor, payout_minor,
         currency, status, transaction_id, sub1, sub2, sub3, sub4, sub5, occurred_at, created_at, updated_at,
         reason, hold_until, payout_rule_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?18, ?19, ?20)",
    )?
    .execute(params![
        brand_id, n.attribution.click_id(), offer_id, partner_id, n.event, n.amount.map(|m| m.0), payout.0,
        offer.currency, status, n.transaction_id,
        subs[0], subs[1], subs[2], subs[3], subs[4], occurred_at, ts, reason, hold_until, earning.rule_id
    ])?;
    // The row as written, without reading it back (a third of a postback's reads).
    let created = Conversion {
        id: conn.last_insert_rowid(),
        brand_id,
        click_id: n.attribution.click_id().map(str::to_owned),
        offer_id,
        partner_id,
        event: n.event.clone(),
        amount: n.amount,
        payout,
        currency: offer.currency,
        status,
        transaction_id: n.transaction_id.clone(),
        subs,
        occurred_at,
        created_at: ts,
        reason: reason.map(str::to_owned),
        updated_at: ts,
        hold_until,
        payout_rule_id: earning.rule_id,
        statement_id: None,
    };
    record(conn, created.id, ts, None, created.status, reason, actor)?;
    events::conversion(conn, events::CONVERSION_CREATED, &created, ts)?;
    // Last, after everything that can fail: a failed insert leaves no delta (and no counted
    // cap use) behind.
    lookups.kept();
    rollups.conversion(&created, 1);
    Ok((created, true))
}

/// A status change: the new status, the reason given (if any) and who makes it.
#[derive(Debug, Clone)]
pub struct Change {
    pub status: ConversionStatus,
    pub reason: Option<String>,
    /// `key:<key name>` or `admin:<email>` (see `domain::conversion`).
    pub actor: String,
}

/// `Transition` unless the lifecycle lets `c` become `to` (the same status always may: a no-op).
/// A conversion on a paid statement may only be reversed.
fn check(conn: &Connection, c: &Conversion, to: ConversionStatus) -> StoreResult<()> {
    let paid = match c.statement_id {
        Some(s) if c.status != to => statements::is_paid(conn, s)?,
        _ => false,
    };
    if c.status == to || (c.status.may_become(to) && (!paid || to == ConversionStatus::Reversed)) {
        Ok(())
    } else {
        Err(InvalidTransition {
            id: c.id,
            from: c.status,
            to,
        }
        .into())
    }
}

/// Apply an allowed change to `before`: the row, its history entry and event, the rollup
/// deltas, its caps' use, and its line on an open statement. Any change but the hold's own
/// ends a hold: a person decided.
fn apply(
    conn: &Connection,
    before: Conversion,
    change: &Change,
    rollups: &mut Pending,
) -> StoreResult<(Conversion, Conversion)> {
    if before.status == change.status {
        // Setting the status it has changes nothing, not even `reason` or `updated_at`.
        return Ok((before.clone(), before));
    }
    let ts = now();
    statements::leave_open(conn, &before)?;
    let tz = || brands::timezone(conn, before.brand_id);
    caps::restatus(conn, &before, before.status, change.status, tz)?;
    conn.prepare_cached(
        "UPDATE conversions SET status = ?3, reason = ?4, updated_at = ?5,
         hold_until = CASE WHEN ?6 THEN hold_until END
         WHERE brand_id = ?1 AND id = ?2",
    )?
    .execute(params![
        before.brand_id,
        before.id,
        change.status,
        change.reason,
        ts,
        change.actor == HOLD_ACTOR
    ])?;
    let after = get(conn, before.brand_id, before.id)?;
    record(
        conn,
        after.id,
        ts,
        Some(before.status),
        after.status,
        change.reason.as_deref(),
        &change.actor,
    )?;
    events::conversion(conn, events::CONVERSION_STATUS_CHANGED, &after, ts)?;
    rollups.conversion(&before, -1);
    rollups.conversion(&after, 1);
    Ok((before, after))
}

/// Change a conversion's status as the lifecycle allows (`Transition` otherwise), with its
/// history entry, moving its amounts between status buckets in `rollups`; returns the row
/// before and after. The status it already has is a no-op.
pub fn set_status(
    conn: &Connection,
    brand_id: BrandId,
    id: i64,
    change: &Change,
    rollups: &mut Pending,
) -> StoreResult<(Conversion, Conversion)> {
    let before = get(conn, brand_id, id)?;
    check(conn, &before, change.status)?;
    apply(conn, before, change, rollups)
}

/// Change the status of every conversion in `ids` (all of `brand_id`), in order; the rows
/// as they now are. All are checked before any changes: the first id unknown to the brand is
/// `UnknownConversion`, else the first that can't make the transition is `Transition`. The
/// caller runs this in a savepoint and drops `rollups` on an error, so nothing of it is kept.
pub fn set_statuses(
    conn: &Connection,
    brand_id: BrandId,
    ids: &[i64],
    change: &Change,
    rollups: &mut Pending,
) -> StoreResult<Vec<Conversion>> {
    let mut rows: Vec<Conversion> = Vec::with_capacity(ids.len());
    for &id in ids {
        if rows.iter().any(|c| c.id == id) {
            continue;
        }
        match get(conn, brand_id, id) {
            Err(StoreError::NotFound) => return Err(StoreError::UnknownConversion(id)),
            r => rows.push(r?),
        }
    }
    for c in &rows {
        check(conn, c, change.status)?;
    }
    let mut changed = Vec::with_capacity(rows.len());
    for c in rows {
        changed.push(apply(conn, c, change, rollups)?.1);
    }
    Ok(changed)
}

/// Approve, as `system:hold`, up to `max` pending conversions whose hold has passed by `now`
/// (of every brand: the server's own work); how many. A conversion changed by anyone since it
/// was held has no `hold_until` any more, so it is never approved here, and an approved one is
/// no longer pending: each is approved once, however late the server comes back.
pub fn release_holds(
    conn: &Connection,
    now: i64,
    max: u32,
    rollups: &mut Pending,
) -> StoreResult<usize> {
    let due: Vec<(BrandId, i64)> = conn
        .prepare_cached(
            "SELECT brand_id, id FROM conversions WHERE status = 'pending'
             AND hold_until IS NOT NULL AND hold_until <= ?1 ORDER BY hold_until LIMIT ?2",
        )?
        .query_map(params![now, max], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let change = Change {
        status: ConversionStatus::Approved,
        reason: None,
        actor: HOLD_ACTOR.to_string(),
    };
    for (brand, id) in &due {
        set_status(conn, *brand, *id, &change, rollups)?;
    }
    Ok(due.len())
}

pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    f: &Filter,
    before_id: Option<i64>,
    limit: u32,
) -> StoreResult<Page<Conversion>> {
    Ok(paginate(
        batch(conn, brand_id, f, before_id, limit + 1)?,
        limit,
    ))
}

/// Rows an export reads at a time: a batch of conversions is about 200 KB of CSV.
pub const EXPORT_BATCH: u32 = 1_000;

/// Up to `size` conversions matching `f` with ids below `before_id` (all when `None`), newest
/// first: one keyset page. A CSV export reads every match this way, `EXPORT_BATCH` at a time,
/// each batch continuing below the last id of the one before. `id < ?` is always a real bound
/// (not `?10 IS NULL OR …`), so SQLite seeks `conversions_brand` to it: a page deep in a
/// million rows costs what the first one does, and an export reads each row once.
pub fn batch(
    conn: &Connection,
    brand_id: BrandId,
    f: &Filter,
    before_id: Option<i64>,
    size: u32,
) -> StoreResult<Vec<Conversion>> {
    // An offer or partner given is a plain `offer_id = ?2` / `partner_id = ?3` (not
    // `?2 IS NULL OR …`, which no index can serve), so SQLite seeks `conversions_brand_offer` /
    // `conversions_brand_partner` instead of walking every other offer's or partner's rows down
    // from the newest; the shapes are up to four cached statements.
    let offer = if f.offer_id.is_some() {
        "offer_id = ?2"
    } else {
        "?2 IS NULL"
    };
    let partner = if f.partner_id.is_some() {
        "partner_id = ?3"
    } else {
        "?3 IS NULL"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversions WHERE brand_id = ?1
         AND {offer} AND {partner}
         AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR event = ?5)
         AND (?6 IS NULL OR click_id = ?6) AND (?7 IS NULL OR transaction_id = ?7)
         AND (?8 IS NULL OR occurred_at >= ?8) AND (?9 IS NULL OR occurred_at <= ?9)
         AND id < ?10
         AND (?12 IS NULL OR transaction_id = ?12 OR click_id = ?12)
         ORDER BY id DESC LIMIT ?11"
    ))?;
    let rows = stmt
        .query_map(
            params![
                brand_id,
                f.offer_id,
                f.partner_id,
                f.status,
                f.event,
                f.click_id,
                f.transaction_id,
                f.from,
                f.to,
                before_id.unwrap_or(i64::MAX),
                size,
                f.search
            ],
            row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
