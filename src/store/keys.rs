//! API keys: only hashes are stored; the full key exists once, in the answer that made it.

use crate::domain::ids::BrandId;
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, StoreResult};
use crate::domain::ids::{NewKey, generate_key};
use crate::domain::time::now;

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub brand_id: BrandId,
    pub brand_name: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What an authenticated request knows about its key.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: i64,
    pub brand_id: BrandId,
    /// The key's name: what a conversion's history names as the actor (`key:<name>`).
    pub name: String,
}

/// Create a key for `brand_id`; returns the stored row and the full key text.
pub fn create(conn: &Connection, brand_id: BrandId, name: &str) -> StoreResult<(ApiKey, String)> {
    let NewKey { full, prefix, hash } = generate_key();
    conn.execute(
        "INSERT INTO api_keys (brand_id, name, prefix, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![brand_id, name, prefix, hash, now()],
    )?;
    let key = super::one(conn.query_row(
        &format!("{SELECT} WHERE k.id = ?1"),
        [conn.last_insert_rowid()],
        row,
    ))?;
    Ok((key, full))
}

/// The live key with this hash, if any.
pub fn find_active(conn: &Connection, hash: &[u8]) -> StoreResult<Option<KeyOwner>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, brand_id, name FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL",
        )?
        .query_row([hash], |r| {
            Ok(KeyOwner {
                key_id: r.get(0)?,
                brand_id: r.get(1)?,
                name: r.get(2)?,
            })
        })
        .optional()?)
}

const SELECT: &str =
    "SELECT k.id, k.brand_id, b.name, k.name, k.prefix, k.created_at, k.last_used_at,
    k.revoked_at FROM api_keys k JOIN brands b ON b.id = k.brand_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        brand_id: r.get(1)?,
        brand_name: r.get(2)?,
        name: r.get(3)?,
        prefix: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

/// Every key of every brand, newest first (the settings page groups them by brand).
pub fn list(conn: &Connection) -> StoreResult<Vec<ApiKey>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY k.id DESC"))?;
    let rows = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn revoke(conn: &Connection, key_id: i64) -> StoreResult<()> {
    let n = conn.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![key_id, now()],
    )?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Write the last-used times gathered in memory, in one transaction.
pub fn record_last_used(conn: &mut Connection, seen: &[(i64, i64)]) -> StoreResult<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
        )?;
        for (id, ts) in seen {
            stmt.execute(params![id, ts])?;
        }
    }
    tx.commit()?;
    Ok(())
}
