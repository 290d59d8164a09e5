//! Brands: the tenants.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, StoreResult, one};
use crate::domain::ids::BrandId;
use crate::domain::time::now;

#[derive(Debug, Clone)]
pub struct Brand {
    pub id: BrandId,
    pub name: String,
    pub created_at: i64,
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Brand> {
    Ok(Brand {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
    })
}

pub fn list(conn: &Connection) -> StoreResult<Vec<Brand>> {
    let mut stmt = conn.prepare("SELECT id, name, created_at FROM brands ORDER BY name")?;
    let rows = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: BrandId) -> StoreResult<Brand> {
    one(conn.query_row(
        "SELECT id, name, created_at FROM brands WHERE id = ?1",
        [id],
        row,
    ))
}

pub fn find_by_name(conn: &Connection, name: &str) -> StoreResult<Option<Brand>> {
    Ok(conn
        .query_row(
            "SELECT id, name, created_at FROM brands WHERE name = ?1",
            [name],
            row,
        )
        .optional()?)
}

pub fn create(conn: &Connection, name: &str) -> StoreResult<Brand> {
    let ts = now();
    match conn.execute(
        "INSERT INTO brands (name, created_at) VALUES (?1, ?2)",
        params![name, ts],
    ) {
        Ok(_) => get(conn, BrandId::new(conn.last_insert_rowid())),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
            field: "name",
            value: name.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

pub fn rename(conn: &Connection, id: BrandId, name: &str) -> StoreResult<Brand> {
    match conn.execute(
        "UPDATE brands SET name = ?2 WHERE id = ?1",
        params![id, name],
    ) {
        Ok(0) => Err(StoreError::NotFound),
        Ok(_) => get(conn, id),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
            field: "name",
            value: name.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The brand named `name`, created if missing; the flag says whether it was created.
pub fn find_or_create(conn: &Connection, name: &str) -> StoreResult<(Brand, bool)> {
    if let Some(b) = find_by_name(conn, name)? {
        return Ok((b, false));
    }
    match create(conn, name) {
        Ok(b) => Ok((b, true)),
        // Lost a race with another process: use theirs.
        Err(StoreError::Duplicate { .. }) => Ok((
            find_by_name(conn, name)?.ok_or(StoreError::NotFound)?,
            false,
        )),
        Err(e) => Err(e),
    }
}

pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}
