//! Browser sessions of admins. Only the SHA-256 of the session id is stored, so a copy of the
//! database does not let anyone sign in.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use crate::domain::time::now;

#[derive(Debug, Clone)]
pub struct Session {
    pub admin_id: i64,
    pub email: String,
    pub csrf_token: String,
    pub last_seen: i64,
}

pub fn create(
    conn: &Connection,
    id_hash: &[u8],
    admin_id: i64,
    csrf_token: &str,
) -> StoreResult<()> {
    let ts = now();
    conn.execute(
        "INSERT INTO sessions (id_hash, admin_id, csrf_token, created_at, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![id_hash, admin_id, csrf_token, ts],
    )?;
    Ok(())
}

/// The session with this id hash if it was active since `idle_cutoff` and started after
/// `start_cutoff`.
pub fn find_live(
    conn: &Connection,
    id_hash: &[u8],
    idle_cutoff: i64,
    start_cutoff: i64,
) -> StoreResult<Option<Session>> {
    Ok(conn
        .query_row(
            "SELECT s.admin_id, a.email, s.csrf_token, s.last_seen
             FROM sessions s JOIN admins a ON a.id = s.admin_id
             WHERE s.id_hash = ?1 AND s.last_seen >= ?2 AND s.created_at >= ?3",
            params![id_hash, idle_cutoff, start_cutoff],
            |r| {
                Ok(Session {
                    admin_id: r.get(0)?,
                    email: r.get(1)?,
                    csrf_token: r.get(2)?,
                    last_seen: r.get(3)?,
                })
            },
        )
        .optional()?)
}

pub fn touch(conn: &Connection, id_hash: &[u8]) -> StoreResult<()> {
    conn.execute(
        "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1",
        params![id_hash, now()],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id_hash: &[u8]) -> StoreResult<()> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])?;
    Ok(())
}

/// Forget sessions that no longer sign anyone in.
pub fn purge_expired(conn: &Connection, idle_cutoff: i64, start_cutoff: i64) -> StoreResult<usize> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
        params![idle_cutoff, start_cutoff],
    )?)
}
