//! Partners of a brand.

use crate::domain::ids::BrandId;
use rusqlite::{Connection, TransactionBehavior, params};

use super::brands::is_unique_violation;
use super::{Page, StoreError, StoreResult, one, paginate};
use crate::domain::partner::PartnerInput;
use crate::domain::status::PartnerStatus;
use crate::domain::time::now;

#[derive(Debug, Clone)]
pub struct Partner {
    pub id: i64,
    pub brand_id: BrandId,
    pub name: String,
    pub email: String,
    pub status: PartnerStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, brand_id, name, email, status, created_at, updated_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Partner> {
    Ok(Partner {
        id: r.get(0)?,
        brand_id: r.get(1)?,
        name: r.get(2)?,
        email: r.get(3)?,
        status: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn duplicate_email(email: &str) -> StoreError {
    StoreError::Duplicate {
        field: "email",
        value: email.to_string(),
    }
}

/// The partner a request's body names: `Invalid` (a 422 naming the field, not a 404 of the
/// resource asked for) when it is not the brand's.
pub fn named(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Partner> {
    get(conn, brand_id, id).map_err(|e| match e {
        StoreError::NotFound => {
            StoreError::Invalid(format!("partner_id {id} matches no partner of this brand"))
        }
        e => e,
    })
}

pub fn get(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Partner> {
    // Cached: the writer looks offers and partners up for every conversion.
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM partners WHERE brand_id = ?1 AND id = ?2"
        ))?
        .query_row(params![brand_id, id], row))
}

/// Every partner of every brand: the one read across tenants, made once at start to fill the
/// tracking catalog (which tells brands apart by the ids it holds). Tenant reads take a `BrandId`.
pub fn all_brands_for_catalog(conn: &Connection) -> StoreResult<Vec<Partner>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM partners"))?;
    let rows = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    status: Option<PartnerStatus>,
    before_id: Option<i64>,
    limit: u32,
) -> StoreResult<Page<Partner>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM partners WHERE brand_id = ?1 AND (?2 IS NULL OR status = ?2)
         AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(params![brand_id, status, before_id, limit + 1], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(rows, limit))
}

/// A page of the brand's partners whose name or email contains `text` (any case), newest
/// first. `%` and `_` in `text` match themselves.
pub fn search(
    conn: &Connection,
    brand_id: BrandId,
    text: &str,
    status: Option<PartnerStatus>,
    before_id: Option<i64>,
    limit: u32,
) -> StoreResult<Page<Partner>> {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM partners WHERE brand_id = ?1 AND (?2 IS NULL OR status = ?2)
         AND (?3 IS NULL OR id < ?3)
         AND (name LIKE ?5 ESCAPE '\\' OR email LIKE ?5 ESCAPE '\\')
         ORDER BY id DESC LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(
            params![brand_id, status, before_id, limit + 1, pattern],
            row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(rows, limit))
}

pub fn create(conn: &Connection, brand_id: BrandId, f: &PartnerInput) -> StoreResult<Partner> {
    let ts = now();
    match conn.execute(
        "INSERT INTO partners (brand_id, name, email, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![brand_id, f.name(), f.email(), f.status(), ts],
    ) {
        Ok(_) => get(conn, brand_id, conn.last_insert_rowid()),
        Err(e) if is_unique_violation(&e) => Err(duplicate_email(f.email())),
        Err(e) => Err(e.into()),
    }
}

pub fn update(
    conn: &Connection,
    brand_id: BrandId,
    id: i64,
    f: &PartnerInput,
) -> StoreResult<Partner> {
    match conn.execute(
        "UPDATE partners SET name = ?3, email = ?4, status = ?5, updated_at = ?6
         WHERE brand_id = ?1 AND id = ?2",
        params![brand_id, id, f.name(), f.email(), f.status(), now()],
    ) {
        Ok(0) => Err(StoreError::NotFound),
        Ok(_) => get(conn, brand_id, id),
        Err(e) if is_unique_violation(&e) => Err(duplicate_email(f.email())),
        Err(e) => Err(e.into()),
    }
}

/// Read a partner, merge a change into it and write it back, all under one write lock, and hand
/// the new row to `published` before the lock is released: two changes can't undo each other,
/// and a cache kept by `published` (the tracking catalog) ends as the table does. `merge`
/// refuses with a message for people (`StoreError::Invalid`).
pub fn modify(
    conn: &mut Connection,
    brand_id: BrandId,
    id: i64,
    merge: impl FnOnce(Partner) -> Result<PartnerInput, String>,
    published: impl Fn(&Partner),
) -> StoreResult<Partner> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let input = merge(get(&tx, brand_id, id)?).map_err(StoreError::Invalid)?;
    let partner = update(&tx, brand_id, id, &input)?;
    published(&partner);
    if let Err(e) = tx.commit() {
        // Not written after all: publish what the table holds.
        published(&get(conn, brand_id, id)?);
        return Err(e.into());
    }
    Ok(partner)
}
