//! How a click is laid out on disk (migration 0011), shared by the writer
//! (`store::clicks::insert`), the seeder and the migration that converts older stores:
//!
//! - `clicks` is keyed by `(brand_id, created_at, id)`: a brand's clicks in time order, which
//!   is every read's order, so no secondary index is needed. The id is its ULID's 16 bytes.
//!   A click whose `created_at` is not its id's second (or whose id is no canonical ULID:
//!   only ever in stores from before 0011) is also in `click_times`, so a lookup by id alone
//!   still finds it.
//! - the IP is 4 or 16 bytes (text only when it wouldn't come back as the same text);
//! - user agents and referers are ids into `click_texts`, one row per distinct text.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::click::{id_bytes, id_second, ip_bytes, text_hash};

/// A click id as stored: its 16 bytes, or the text itself.
pub fn id_value(id: &str) -> Value {
    match id_bytes(id) {
        Some(b) => Value::Blob(b.to_vec()),
        None => Value::Text(id.to_string()),
    }
}

/// An IP as stored: 0, 4 or 16 bytes, or the text itself.
pub fn ip_value(ip: &str) -> Value {
    match ip_bytes(ip) {
        Some(b) => Value::Blob(b),
        None => Value::Text(ip.to_string()),
    }
}

/// The `created_at` that `id` alone implies, when it is a ULID.
pub fn implied_second(id: &str) -> Option<i64> {
    id_bytes(id).map(|b| id_second(&b))
}

/// A click in the stored layout.
pub struct Parts<'a> {
    pub id: &'a str,
    pub brand_id: i64,
    pub offer_id: i64,
    pub partner_id: i64,
    pub created_at: i64,
    pub subs: [Option<&'a str>; 5],
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub referer: Option<&'a str>,
    pub is_unique: bool,
    pub visitor: i64,
}

/// Insert one click (its texts into the dictionary first, when new).
pub fn insert(conn: &Connection, texts: &mut Texts, c: &Parts) -> rusqlite::Result<()> {
    let ua = texts.id(conn, c.user_agent)?;
    let referer = c.referer.map(|r| texts.id(conn, r)).transpose()?;
    let bytes = id_bytes(c.id);
    let implied = bytes.map(|b| id_second(&b));
    let id = match bytes {
        Some(b) => Value::Blob(b.to_vec()),
        None => Value::Text(c.id.to_string()),
    };
    conn.prepare_cached(
        "INSERT INTO clicks (brand_id, created_at, id, offer_id, partner_id, is_unique, visitor,
         ip, ua_id, referer_id, sub1, sub2, sub3, sub4, sub5)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        c.brand_id,
        c.created_at,
        id,
        c.offer_id,
        c.partner_id,
        c.is_unique,
        c.visitor,
        ip_value(c.ip),
        ua,
        referer,
        c.subs[0],
        c.subs[1],
        c.subs[2],
        c.subs[3],
        c.subs[4]
    ])?;
    if implied != Some(c.created_at) {
        conn.prepare_cached("INSERT OR REPLACE INTO click_times (id, created_at) VALUES (?1, ?2)")?
            .execute(params![id, c.created_at])?;
    }
    Ok(())
}

/// What the sub-id rollups need of a stored click.
pub struct ForSubs {
    pub created_at: i64,
    pub offer_id: i64,
    pub partner_id: i64,
    pub is_unique: bool,
    pub subs: [Option<String>; 5],
}

/// Every click of `brand_id` with `from <= created_at < to`, in time order (the key's order).
pub fn each_for_subs(
    conn: &Connection,
    brand_id: i64,
    from: i64,
    to: i64,
    mut f: impl FnMut(ForSubs),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT created_at, offer_id, partner_id, is_unique, sub1, sub2, sub3, sub4, sub5
         FROM clicks WHERE brand_id = ?1 AND created_at >= ?2 AND created_at < ?3",
    )?;
    let mut rows = stmt.query(params![brand_id, from, to])?;
    while let Some(r) = rows.next()? {
        f(ForSubs {
            created_at: r.get(0)?,
            offer_id: r.get(1)?,
            partner_id: r.get(2)?,
            is_unique: r.get(3)?,
            subs: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
        });
    }
    Ok(())
}

/// The store's key of `domain::click::visitor` (made by migration 0011).
pub fn visitor_key(conn: &Connection) -> rusqlite::Result<[u8; 16]> {
    let v: Vec<u8> = conn.query_row(
        "SELECT value FROM store_secrets WHERE name = 'visitor_key'",
        [],
        |r| r.get(0),
    )?;
    v.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "visitor_key".into(), rusqlite::types::Type::Blob)
    })
}

/// Texts kept in memory per generation: the writer looks up a text in SQL only the first time
/// it sees it lately. Two generations (the current one and the one before) make it an
/// approximate LRU: a text in use is carried over, a text not seen for a generation is dropped.
/// Each entry is the text plus ~40 bytes, so 2 × 8192 user agents cost a few MB at most.
const GENERATION: usize = 8192;

#[derive(Default)]
pub struct Texts {
    current: HashMap<Box<str>, i64>,
    previous: HashMap<Box<str>, i64>,
}

impl Texts {
    /// The id of `text`, inserting it into the dictionary if it is new.
    pub fn id(&mut self, conn: &Connection, text: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.current.get(text) {
            return Ok(id);
        }
        if let Some((k, id)) = self.previous.remove_entry(text) {
            self.keep(k, id);
            return Ok(id);
        }
        let hash = text_hash(text);
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM click_texts WHERE hash = ?1 AND text = ?2")?
            .query_row(params![hash, text], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO click_texts (hash, text) VALUES (?1, ?2)")?
                    .execute(params![hash, text])?;
                conn.last_insert_rowid()
            }
        };
        self.keep(text.into(), id);
        Ok(id)
    }

    fn keep(&mut self, text: Box<str>, id: i64) {
        if self.current.len() >= GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(text, id);
    }

    /// Forget everything: after a rolled-back transaction, ids it inserted don't exist.
    pub fn forget(&mut self) {
        self.current.clear();
        self.previous.clear();
    }
}

/// The text of a dictionary id.
pub fn text(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT text FROM click_texts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_text_and_a_bounded_cache() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE click_texts (id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, text TEXT NOT NULL);
             CREATE INDEX click_texts_hash ON click_texts(hash);",
        )
        .unwrap();
        let mut t = Texts::default();
        let a = t.id(&conn, "Mozilla/5.0").unwrap();
        assert_eq!(t.id(&conn, "Mozilla/5.0").unwrap(), a);
        let b = t.id(&conn, "").unwrap();
        assert_ne!(a, b);
        // A fresh cache (a restarted writer) finds the stored ids.
        let mut fresh = Texts::default();
        assert_eq!(fresh.id(&conn, "Mozilla/5.0").unwrap(), a);
        for i in 0..3 * GENERATION {
            t.id(&conn, &format!("ua {i}")).unwrap();
        }
        assert!(t.current.len() + t.previous.len() <= 2 * GENERATION);
        assert_eq!(t.id(&conn, "Mozilla/5.0").unwrap(), a);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM click_texts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3 * GENERATION as i64 + 2);
        assert_eq!(text(&conn, a).unwrap().as_deref(), Some("Mozilla/5.0"));
    }
}
