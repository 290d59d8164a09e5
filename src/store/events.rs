//! Events: what happened to a brand's resources, oldest first, written in the transaction of
//! the change they record (by the writer thread only).

use rusqlite::{Connection, params};

use super::StoreResult;
use crate::domain::conversion::{Conversion, ConversionJson};
use crate::domain::ids::BrandId;
use crate::domain::statement::{Statement, StatementJson};

pub const CONVERSION_CREATED: &str = "conversion.created";
pub const CONVERSION_STATUS_CHANGED: &str = "conversion.status_changed";
pub const STATEMENT_CREATED: &str = "statement.created";
pub const STATEMENT_PAID: &str = "statement.paid";

#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub created_at: i64,
    /// JSON text: the resource as it was after the change.
    pub data: String,
}

/// Record `kind` for conversion `c` as it now is.
pub fn conversion(conn: &Connection, kind: &str, c: &Conversion, at: i64) -> StoreResult<()> {
    write(conn, c.brand_id, kind, &ConversionJson::from(c), at)
}

/// Record `kind` for statement `s` as it now is.
pub fn statement(conn: &Connection, kind: &str, s: &Statement, at: i64) -> StoreResult<()> {
    write(conn, s.brand_id, kind, &StatementJson::from(s), at)
}

fn write(
    conn: &Connection,
    brand_id: BrandId,
    kind: &str,
    data: &impl serde::Serialize,
    at: i64,
) -> StoreResult<()> {
    let data = serde_json::to_string(data)
        .map_err(|e| super::StoreError::Invalid(format!("event data: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO events (brand_id, type, created_at, data) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![brand_id, kind, at, data])?;
    Ok(())
}

/// Up to `limit` of the brand's events with ids above `after`, oldest first, and whether more
/// follow.
pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    after: i64,
    limit: u32,
) -> StoreResult<super::Page<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, type, created_at, data FROM events WHERE brand_id = ?1 AND id > ?2
         ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![brand_id, after, limit + 1], |r| {
            Ok(Event {
                id: r.get(0)?,
                kind: r.get(1)?,
                created_at: r.get(2)?,
                data: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(super::paginate(rows, limit))
}
