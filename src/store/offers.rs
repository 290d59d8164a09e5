//! Offers of a brand.

use crate::domain::ids::BrandId;
use rusqlite::{Connection, TransactionBehavior, params};

use super::{Page, StoreError, StoreResult, one, paginate};
use crate::domain::money::Money;
use crate::domain::offer::OfferInput;
use crate::domain::status::{OfferStatus, PayoutType};
use crate::domain::time::now;

#[derive(Debug, Clone)]
pub struct Offer {
    pub id: i64,
    pub brand_id: BrandId,
    pub name: String,
    pub destination_url: String,
    pub payout_type: PayoutType,
    pub payout: Money,
    pub currency: String,
    pub status: OfferStatus,
    pub hold_days: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, brand_id, name, destination_url, payout_type, payout_minor, currency, status, created_at, updated_at, hold_days";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Offer> {
    Ok(Offer {
        id: r.get(0)?,
        brand_id: r.get(1)?,
        name: r.get(2)?,
        destination_url: r.get(3)?,
        payout_type: r.get(4)?,
        payout: Money(r.get(5)?),
        currency: r.get(6)?,
        status: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        hold_days: r.get(10)?,
    })
}

/// The offer a request's body names: `Invalid` when it is not the brand's (see
/// `partners::named`).
pub fn named(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Offer> {
    get(conn, brand_id, id).map_err(|e| match e {
        StoreError::NotFound => {
            StoreError::Invalid(format!("offer_id {id} matches no offer of this brand"))
        }
        e => e,
    })
}

pub fn get(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Offer> {
    // Cached: the writer looks offers and partners up for every conversion.
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM offers WHERE brand_id = ?1 AND id = ?2"
        ))?
        .query_row(params![brand_id, id], row))
}

/// Every offer of every brand: the one read across tenants, made once at start to fill the
/// tracking catalog (which tells brands apart by the ids it holds). Tenant reads take a `BrandId`.
pub fn all_brands_for_catalog(conn: &Connection) -> StoreResult<Vec<Offer>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM offers"))?;
    let rows = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    status: Option<OfferStatus>,
    before_id: Option<i64>,
    limit: u32,
) -> StoreResult<Page<Offer>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM offers WHERE brand_id = ?1 AND (?2 IS NULL OR status = ?2)
         AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(params![brand_id, status, before_id, limit + 1], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(rows, limit))
}

pub fn create(conn: &Connection, brand_id: BrandId, f: &OfferInput) -> StoreResult<Offer> {
    let ts = now();
    conn.execute(
        "INSERT INTO offers (brand_id, name, destination_url, payout_type, payout_minor, currency, status, created_at, updated_at, hold_days)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        params![brand_id, f.name(), f.destination_url(), f.payout_type(), f.payout().0, f.currency(), f.status(), ts, f.hold_days()],
    )?;
    get(conn, brand_id, conn.last_insert_rowid())
}

pub fn update(conn: &Connection, brand_id: BrandId, id: i64, f: &OfferInput) -> StoreResult<Offer> {
    let n = conn.execute(
        "UPDATE offers SET name = ?3, destination_url = ?4, payout_type = ?5, payout_minor = ?6,
         currency = ?7, status = ?8, updated_at = ?9, hold_days = ?10 WHERE brand_id = ?1 AND id = ?2",
        params![
            brand_id,
            id,
            f.name(),
            f.destination_url(),
            f.payout_type(),
            f.payout().0,
            f.currency(),
            f.status(),
            now(),
            f.hold_days()
        ],
    )?;
    if n == 0 {
        return Err(super::StoreError::NotFound);
    }
    get(conn, brand_id, id)
}

/// Read an offer, merge a change into it and write it back, all under one write lock, and hand
/// the new row to `published` before the lock is released: two changes can't undo each other,
/// and a cache kept by `published` (the tracking catalog) ends as the table does. `merge`
/// refuses with a message for people (`StoreError::Invalid`).
pub fn modify(
    conn: &mut Connection,
    brand_id: BrandId,
    id: i64,
    merge: impl FnOnce(Offer) -> Result<OfferInput, String>,
    published: impl Fn(&Offer),
) -> StoreResult<Offer> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let input = merge(get(&tx, brand_id, id)?).map_err(StoreError::Invalid)?;
    let offer = update(&tx, brand_id, id, &input)?;
    published(&offer);
    if let Err(e) = tx.commit() {
        // Not written after all: publish what the table holds.
        published(&get(conn, brand_id, id)?);
        return Err(e.into());
    }
    Ok(offer)
}
