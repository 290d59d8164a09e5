//! Partners of a brand.

use crate::domain::ids::BrandId;
use rusqlite::{Connection, params};

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

pub fn get(conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<Partner> {
    // Cached: the writer looks offers and partners up for every conversion.
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM partners WHERE brand_id = ?1 AND id = ?2"
        ))?
        .query_row(params![brand_id, id], row))
}

pub fn all(conn: &Connection) -> StoreResult<Vec<Partner>> {
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
