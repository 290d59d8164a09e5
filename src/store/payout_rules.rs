//! Payout rules of a brand. The writer reads a partner's rules on an offer once per batch of
//! postbacks (`of_pair`, kept in `store::lookups`); each postback picks the one in force.

use rusqlite::{Connection, params};

use super::{Page, StoreError, StoreResult, offers, one, paginate, partners};
use crate::domain::ids::BrandId;
use crate::domain::money::Money;
use crate::domain::payout_rule::{PayoutRule, RuleInput};
use crate::domain::time::now;

const COLUMNS: &str =
    "id, offer_id, partner_id, payout_type, payout_minor, starts_at, ends_at, created_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<PayoutRule> {
    Ok(PayoutRule {
        id: r.get(0)?,
        offer_id: r.get(1)?,
        partner_id: r.get(2)?,
        payout_type: r.get(3)?,
        payout: Money(r.get(4)?),
        starts_at: r.get(5)?,
        ends_at: r.get(6)?,
        created_at: r.get(7)?,
    })
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Filter {
    pub offer_id: Option<i64>,
    pub partner_id: Option<i64>,
}

pub fn get(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<PayoutRule> {
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM payout_rules WHERE brand_id = ?1 AND id = ?2"
        ))?
        .query_row(params![brand_id, id], row))
}

/// A new rule; its offer (if any) and partner must be the brand's (`Invalid` otherwise).
pub fn create(conn: &Connection, brand_id: BrandId, input: &RuleInput) -> StoreResult<PayoutRule> {
    if let Some(offer) = input.offer_id {
        offers::named(conn, brand_id, offer)?;
    }
    partners::named(conn, brand_id, input.partner_id)?;
    conn.execute(
        "INSERT INTO payout_rules (brand_id, offer_id, partner_id, payout_type, payout_minor,
         starts_at, ends_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            brand_id,
            input.offer_id,
            input.partner_id,
            input.payout_type,
            input.payout.0,
            input.starts_at,
            input.ends_at,
            now()
        ],
    )?;
    get(conn, brand_id, conn.last_insert_rowid())
}

/// The rule stops applying; conversions it priced keep their payout and `payout_rule_id`.
pub fn delete(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<()> {
    let n = conn.execute(
        "DELETE FROM payout_rules WHERE brand_id = ?1 AND id = ?2",
        params![brand_id, id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    f: Filter,
    before_id: Option<i64>,
    limit: u32,
) -> StoreResult<Page<PayoutRule>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payout_rules WHERE brand_id = ?1
         AND (?2 IS NULL OR offer_id = ?2) AND (?3 IS NULL OR partner_id = ?3)
         AND id < ?4 ORDER BY id DESC LIMIT ?5"
    ))?;
    let rows = stmt
        .query_map(
            params![
                brand_id,
                f.offer_id,
                f.partner_id,
                before_id.unwrap_or(i64::MAX),
                limit + 1
            ],
            row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(rows, limit))
}

/// Every rule of the partner for the offer or for all its offers, whenever in force: what a
/// batch of postbacks remembers (`store::lookups`), choosing by each one's time.
pub fn of_pair(
    conn: &Connection,
    brand_id: BrandId,
    offer_id: i64,
    partner_id: i64,
) -> StoreResult<Vec<PayoutRule>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payout_rules WHERE brand_id = ?1 AND partner_id = ?2
         AND (offer_id IS NULL OR offer_id = ?3)"
    ))?;
    let rows = stmt
        .query_map(params![brand_id, partner_id, offer_id], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The partner's rules that could price a conversion on `offer_id` at `at` (for this offer or
/// for all); `payout_rule::applicable` picks among them.
pub fn in_force(
    conn: &Connection,
    brand_id: BrandId,
    offer_id: i64,
    partner_id: i64,
    at: i64,
) -> StoreResult<Vec<PayoutRule>> {
    let mut rules = of_pair(conn, brand_id, offer_id, partner_id)?;
    rules.retain(|r| r.applies_at(at));
    Ok(rules)
}
