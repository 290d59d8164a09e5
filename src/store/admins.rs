//! Admin accounts: who may sign in to the settings pages. Emails are stored normalised.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{StoreError, StoreResult};
use crate::domain::time::now;

#[derive(Debug, Clone)]
pub struct Admin {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
}

pub fn count(conn: &Connection) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM admins", [], |r| r.get(0))?)
}

pub fn find_by_email(conn: &Connection, email: &str) -> StoreResult<Option<Admin>> {
    Ok(conn
        .query_row(
            "SELECT id, email, password_hash FROM admins WHERE email = ?1",
            [email],
            |r| {
                Ok(Admin {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    password_hash: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Add an admin (the CLI may add several).
pub fn create(conn: &Connection, email: &str, password_hash: &str) -> StoreResult<i64> {
    match conn.execute(
        "INSERT INTO admins (email, password_hash, created_at) VALUES (?1, ?2, ?3)",
        params![email, password_hash, now()],
    ) {
        Ok(_) => Ok(conn.last_insert_rowid()),
        Err(e) if super::brands::is_unique_violation(&e) => Err(StoreError::Duplicate {
            field: "email",
            value: email.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// The first-run setup: create the admin only if there is none yet, atomically, so two setup
/// forms submitted at once cannot both succeed. `None` when an admin already exists.
pub fn create_first(
    conn: &mut Connection,
    email: &str,
    password_hash: &str,
) -> StoreResult<Option<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if count(&tx)? > 0 {
        return Ok(None);
    }
    let id = create(&tx, email, password_hash)?;
    tx.commit()?;
    Ok(Some(id))
}

/// Replace an admin's password and end all their sessions (a reset is often a lock-out of
/// someone else).
pub fn set_password(conn: &mut Connection, email: &str, password_hash: &str) -> StoreResult<()> {
    let tx = conn.transaction()?;
    let id: i64 = super::one(tx.query_row(
        "SELECT id FROM admins WHERE email = ?1",
        [email],
        |r| r.get(0),
    ))?;
    tx.execute(
        "UPDATE admins SET password_hash = ?2 WHERE id = ?1",
        params![id, password_hash],
    )?;
    tx.execute("DELETE FROM sessions WHERE admin_id = ?1", [id])?;
    tx.commit()?;
    Ok(())
}
