//! Raw clicks, written only by the writer thread.

use crate::domain::ids::BrandId;

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreResult;
use super::rollups::Pending;
use crate::domain::click::ClickRow;

/// Insert a click and count it in `rollups` (flushed by the caller in the same transaction).
pub fn insert(conn: &Connection, c: &ClickRow, rollups: &mut Pending) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO clicks (id, brand_id, offer_id, partner_id, created_at, sub1, sub2, sub3, sub4, sub5,
         ip, user_agent, referer, is_unique) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        c.id, c.brand_id, c.offer_id, c.partner_id, c.created_at,
        c.subs[0], c.subs[1], c.subs[2], c.subs[3], c.subs[4],
        c.ip, c.user_agent, c.referer, c.is_unique
    ])?;
    rollups.click(c);
    Ok(())
}

/// What a conversion copies from its click.
#[derive(Debug, Clone)]
pub struct ClickRef {
    pub offer_id: i64,
    pub partner_id: i64,
    pub subs: [Option<String>; 5],
}

pub fn find(conn: &Connection, brand_id: BrandId, id: &str) -> StoreResult<Option<ClickRef>> {
    Ok(conn
        .prepare_cached(
            "SELECT offer_id, partner_id, sub1, sub2, sub3, sub4, sub5 FROM clicks WHERE id = ?1 AND brand_id = ?2",
        )?
        .query_row(params![id, brand_id], |r| {
            Ok(ClickRef {
                offer_id: r.get(0)?,
                partner_id: r.get(1)?,
                subs: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
            })
        })
        .optional()?)
}

/// A click as the dashboard shows it beside the conversion that credits it.
#[derive(Debug, Clone)]
pub struct Click {
    pub id: String,
    pub offer_id: i64,
    pub partner_id: i64,
    pub created_at: i64,
    pub subs: [Option<String>; 5],
    pub ip: String,
    pub user_agent: String,
    pub referer: Option<String>,
    pub is_unique: bool,
}

/// The whole row of click `id` of the brand, if it is stored.
pub fn get(conn: &Connection, brand_id: BrandId, id: &str) -> StoreResult<Option<Click>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, offer_id, partner_id, created_at, sub1, sub2, sub3, sub4, sub5, ip,
             user_agent, referer, is_unique FROM clicks WHERE id = ?1 AND brand_id = ?2",
        )?
        .query_row(params![id, brand_id], |r| {
            Ok(Click {
                id: r.get(0)?,
                offer_id: r.get(1)?,
                partner_id: r.get(2)?,
                created_at: r.get(3)?,
                subs: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                ip: r.get(9)?,
                user_agent: r.get(10)?,
                referer: r.get(11)?,
                is_unique: r.get(12)?,
            })
        })
        .optional()?)
}

/// Visits seen since `since`, to rebuild the unique-click window after a restart.
pub fn recent_visits(
    conn: &Connection,
    since: i64,
    mut each: impl FnMut(i64, i64, &str, &str, i64),
) -> StoreResult<()> {
    let mut brands = conn.prepare("SELECT id FROM brands")?;
    let ids: Vec<i64> = brands
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT offer_id, partner_id, ip, user_agent, created_at FROM clicks
         WHERE brand_id = ?1 AND created_at >= ?2",
    )?;
    for brand in ids {
        let mut rows = stmt.query(params![brand, since])?;
        while let Some(r) = rows.next()? {
            each(
                r.get(0)?,
                r.get(1)?,
                r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                r.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?,
                r.get(4)?,
            );
        }
    }
    Ok(())
}
