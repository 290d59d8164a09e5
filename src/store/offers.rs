//! Offers of a brand.

use crate::domain::ids::BrandId;
use rusqlite::{Connection, params};

use super::{Page, StoreResult, one, paginate};
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
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, brand_id, name, destination_url, payout_type, payout_minor, currency, status, created_at, updated_at";

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

/// Every offer of every brand: the tracking cache is filled from this at start.
pub fn all(conn: &Connection) -> StoreResult<Vec<Offer>> {
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
        "INSERT INTO offers (brand_id, name, destination_url, payout_type, payout_minor, currency, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![brand_id, f.name(), f.destination_url(), f.payout_type(), f.payout().0, f.currency(), f.status(), ts],
    )?;
    get(conn, brand_id, conn.last_insert_rowid())
}

pub fn update(conn: &Connection, brand_id: BrandId, id: i64, f: &OfferInput) -> StoreResult<Offer> {
    let n = conn.execute(
        "UPDATE offers SET name = ?3, destination_url = ?4, payout_type = ?5, payout_minor = ?6,
         currency = ?7, status = ?8, updated_at = ?9 WHERE brand_id = ?1 AND id = ?2",
        params![
            brand_id,
            id,
            f.name(),
            f.destination_url(),
            f.payout_type(),
            f.payout().0,
            f.currency(),
            f.status(),
            now()
        ],
    )?;
    if n == 0 {
        return Err(super::StoreError::NotFound);
    }
    get(conn, brand_id, id)
}
