//! Raw clicks, written only by the writer thread, read by the API. The layout on disk (ids and
//! IPs as bytes, user agents and referers in a dictionary) is `db::click_layout`'s; what goes
//! in and comes out here is text, as the API shows it.

use crate::domain::ids::{BrandId, ClickCursor};

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};

use super::rollups::Pending;
use super::{Page, StoreError, StoreResult, one, paginate};
use crate::db::click_layout::{self, Parts, id_value, implied_second};
pub use crate::db::click_layout::{Texts, visitor_key};
use crate::domain::click::{ClickRow, id_text, ip_text};

/// Insert a click and count it in `rollups` (flushed by the caller in the same transaction).
/// `texts`: the writer's dictionary cache (forgotten when its transaction is rolled back).
pub fn insert(
    conn: &Connection,
    texts: &mut Texts,
    c: &ClickRow,
    rollups: &mut Pending,
) -> StoreResult<()> {
    click_layout::insert(
        conn,
        texts,
        &Parts {
            id: &c.id,
            brand_id: c.brand_id.get(),
            offer_id: c.offer_id,
            partner_id: c.partner_id,
            created_at: c.created_at,
            subs: [0, 1, 2, 3, 4].map(|i| c.subs[i].as_deref()),
            ip: &c.ip,
            user_agent: &c.user_agent,
            referer: c.referer.as_deref(),
            is_unique: c.is_unique,
            visitor: c.visitor,
        },
    )?;
    rollups.click(c);
    Ok(())
}

/// Where the click `id` is in the primary key: its `created_at` (the second of its ULID, or
/// what `click_times` says) and its stored id. `None`: no click can have this id.
fn locate(conn: &Connection, id: &str) -> StoreResult<Option<(i64, Value)>> {
    let stored = id_value(id);
    let listed: Option<i64> = conn
        .prepare_cached("SELECT created_at FROM click_times WHERE id = ?1")?
        .query_row([&stored], |r| r.get(0))
        .optional()?;
    Ok(listed.or_else(|| implied_second(id)).map(|t| (t, stored)))
}

/// A stored id or IP as its text.
fn text_of(v: ValueRef, decode: fn(&[u8]) -> Option<String>) -> rusqlite::Result<String> {
    match v {
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => decode(b).ok_or(rusqlite::Error::InvalidQuery),
        _ => Err(rusqlite::Error::InvalidQuery),
    }
}

/// What a conversion copies from its click.
#[derive(Debug, Clone)]
pub struct ClickRef {
    pub offer_id: i64,
    pub partner_id: i64,
    pub subs: [Option<String>; 5],
}

pub fn find(conn: &Connection, brand_id: BrandId, id: &str) -> StoreResult<Option<ClickRef>> {
    let Some((at, stored)) = locate(conn, id)? else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached(
            "SELECT offer_id, partner_id, sub1, sub2, sub3, sub4, sub5 FROM clicks
             WHERE brand_id = ?1 AND created_at = ?2 AND id = ?3",
        )?
        .query_row(params![brand_id, at, stored], |r| {
            Ok(ClickRef {
                offer_id: r.get(0)?,
                partner_id: r.get(1)?,
                subs: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
            })
        })
        .optional()?)
}

/// The visitors (`ClickRow::visitor`) and times of the clicks since `since`, to rebuild the
/// unique-click window after a restart: two integers per click, on the primary key.
pub fn recent_visits(
    conn: &Connection,
    since: i64,
    mut each: impl FnMut(i64, i64),
) -> StoreResult<()> {
    let mut brands = conn.prepare("SELECT id FROM brands")?;
    let ids: Vec<i64> = brands
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT visitor, created_at FROM clicks WHERE brand_id = ?1 AND created_at >= ?2",
    )?;
    for brand in ids {
        let mut rows = stmt.query(params![brand, since])?;
        while let Some(r) = rows.next()? {
            each(r.get(0)?, r.get(1)?);
        }
    }
    Ok(())
}

pub use crate::domain::click::Click;

/// Clicks a CSV export reads at a time (one `list` page each, continuing after the last).
pub const EXPORT_BATCH: u32 = 1_000;

/// What `list` keeps; every filter given must match, exactly.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub offer_id: Option<i64>,
    pub partner_id: Option<i64>,
    /// `created_at` bounds, both inclusive.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub subs: [Option<String>; 5],
    pub unique: Option<bool>,
}

const SELECT: &str = "SELECT c.id, c.offer_id, c.partner_id, c.created_at, c.sub1, c.sub2,
    c.sub3, c.sub4, c.sub5, c.ip, u.text, r.text, c.is_unique
    FROM clicks c JOIN click_texts u ON u.id = c.ua_id
    LEFT JOIN click_texts r ON r.id = c.referer_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Click> {
    Ok(Click {
        id: text_of(r.get_ref(0)?, id_text)?,
        offer_id: r.get(1)?,
        partner_id: r.get(2)?,
        created_at: r.get(3)?,
        subs: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
        ip: text_of(r.get_ref(9)?, ip_text)?,
        user_agent: r.get(10)?,
        referer: r.get(11)?,
        is_unique: r.get(12)?,
    })
}

pub fn get(conn: &Connection, brand_id: BrandId, id: &str) -> StoreResult<Click> {
    let Some((at, stored)) = locate(conn, id)? else {
        return Err(StoreError::NotFound);
    };
    one(conn
        .prepare_cached(&format!(
            "{SELECT} WHERE c.brand_id = ?1 AND c.created_at = ?2 AND c.id = ?3"
        ))?
        .query_row(params![brand_id, at, stored], row))
}

fn list_sql() -> String {
    format!(
        "{SELECT}
         WHERE c.brand_id = ?1 AND c.created_at >= ?2 AND (c.created_at, c.id) < (?3, ?4)
         AND (?5 IS NULL OR c.offer_id = ?5) AND (?6 IS NULL OR c.partner_id = ?6)
         AND (?7 IS NULL OR c.sub1 = ?7) AND (?8 IS NULL OR c.sub2 = ?8)
         AND (?9 IS NULL OR c.sub3 = ?9) AND (?10 IS NULL OR c.sub4 = ?10)
         AND (?11 IS NULL OR c.sub5 = ?11) AND (?12 IS NULL OR c.is_unique = ?12)
         ORDER BY c.created_at DESC, c.id DESC LIMIT ?13"
    )
}

/// Newest first by `(created_at, id)`, after `before` when given. Both the page's start and
/// `to` are one upper bound on that pair, and `from` a lower one on `created_at`, so the
/// query walks the primary key `(brand_id, created_at, id)` from where the page starts: no
/// sort, and no scan of the clicks before it, however deep the page. The other filters are
/// checked on the way. (Ids are compared as stored: 16-byte ULIDs sort as their text does.)
pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    f: &Filter,
    before: Option<&ClickCursor>,
    limit: u32,
) -> StoreResult<Page<Click>> {
    // `(to + 1, "")` is just above every click of second `to`: no stored id sorts below "".
    let to = f.to.map(|t| ClickCursor {
        created_at: t.saturating_add(1),
        id: String::new(),
    });
    let upper = match (before.cloned(), to) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(ClickCursor {
            created_at: i64::MAX,
            id: String::new(),
        }),
    };
    let mut stmt = conn.prepare_cached(&list_sql())?;
    let rows = stmt
        .query_map(
            params![
                brand_id,
                f.from.unwrap_or(i64::MIN),
                upper.created_at,
                id_value(&upper.id),
                f.offer_id,
                f.partner_id,
                f.subs[0],
                f.subs[1],
                f.subs[2],
                f.subs[3],
                f.subs[4],
                f.unique,
                limit + 1
            ],
            row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(rows, limit))
}

/// A click's place in the primary key, as `expired` found it.
#[derive(Debug, Clone)]
pub struct Key {
    created_at: i64,
    id: Value,
}

/// Up to `max` keys of the brand's clicks made before `before`, oldest first (on the
/// primary key): what retention deletes next. A read, off the writer.
pub fn expired(
    conn: &Connection,
    brand_id: BrandId,
    before: i64,
    max: u32,
) -> StoreResult<Vec<Key>> {
    let mut stmt = conn.prepare_cached(
        "SELECT created_at, id FROM clicks WHERE brand_id = ?1 AND created_at < ?2
         ORDER BY created_at, id LIMIT ?3",
    )?;
    let keys = stmt
        .query_map(params![brand_id, before, max], |r| {
            Ok(Key {
                created_at: r.get(0)?,
                id: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<Key>, _>>()?;
    Ok(keys)
}

/// Delete the brand's clicks `keys` that were made before `before` (checked again: the keys
/// were read outside this transaction); how many went. Rollups are left alone, so reports
/// still count them; the dictionary keeps its texts.
pub fn delete_expired(
    conn: &Connection,
    brand_id: BrandId,
    keys: &[Key],
    before: i64,
) -> StoreResult<usize> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM clicks WHERE brand_id = ?1 AND created_at = ?2 AND id = ?3 AND created_at < ?4",
    )?;
    let mut times = conn.prepare_cached("DELETE FROM click_times WHERE id = ?1")?;
    let mut n = 0;
    for k in keys {
        let gone = stmt.execute(params![brand_id, k.created_at, k.id, before])?;
        if gone > 0 {
            times.execute([&k.id])?;
        }
        n += gone;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        conn
    }

    fn insert_at(conn: &Connection, brand: i64, id: &str, at: i64, sub1: Option<&str>) {
        let parts = Parts {
            id,
            brand_id: brand,
            offer_id: 1,
            partner_id: 1,
            created_at: at,
            subs: [sub1, None, None, None, None],
            ip: "10.0.0.1",
            user_agent: "ua",
            referer: None,
            is_unique: true,
            visitor: 0,
        };
        click_layout::insert(conn, &mut Texts::default(), &parts).unwrap();
    }

    /// The default page, the next ones and the filtered ones never sort a brand's clicks nor
    /// read past them: they walk the `(brand_id, created_at)` index from the page's start.
    #[test]
    fn every_page_walks_the_time_index_without_sorting() {
        let conn = db();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", list_sql()))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map(
                params![
                    1,
                    0,
                    i64::MAX,
                    "",
                    7,
                    None::<i64>,
                    "s",
                    None::<String>,
                    None::<String>,
                    None::<String>,
                    None::<String>,
                    true,
                    26
                ],
                |r| r.get::<_, String>(3),
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.contains("SEARCH c USING PRIMARY KEY")
                    && p.contains("(created_at,id)<(?,?)"))
                && !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "{plan:?}"
        );
    }

    #[test]
    fn pages_run_newest_first_within_the_bounds() {
        let conn = db();
        insert_at(&conn, 1, "01A", 100, Some("x"));
        insert_at(&conn, 1, "01B", 200, None);
        insert_at(&conn, 1, "01C", 200, Some("x"));
        insert_at(&conn, 1, "01D", 300, None);
        insert_at(&conn, 2, "01E", 250, Some("x"));
        let brand = BrandId::new(1);
        let ids = |p: Page<Click>| p.rows.into_iter().map(|c| c.id).collect::<Vec<_>>();
        let all = list(&conn, brand, &Filter::default(), None, 2).unwrap();
        assert!(all.has_more);
        let last = all.rows.last().unwrap().cursor();
        assert_eq!(ids(all), ["01D", "01C"]);
        let next = list(&conn, brand, &Filter::default(), Some(&last), 2).unwrap();
        assert!(!next.has_more);
        assert_eq!(ids(next), ["01B", "01A"]);
        let window = Filter {
            from: Some(200),
            to: Some(200),
            ..Filter::default()
        };
        assert_eq!(
            ids(list(&conn, brand, &window, None, 10).unwrap()),
            ["01C", "01B"]
        );
        let after_c = ClickCursor {
            created_at: 200,
            id: "01C".into(),
        };
        assert_eq!(
            ids(list(&conn, brand, &window, Some(&after_c), 10).unwrap()),
            ["01B"]
        );
        let to_only = Filter {
            to: Some(250),
            ..Filter::default()
        };
        let above = ClickCursor {
            created_at: 300,
            id: "01D".into(),
        };
        assert_eq!(
            ids(list(&conn, brand, &to_only, Some(&above), 10).unwrap()),
            ["01C", "01B", "01A"],
            "the tighter of cursor and to wins"
        );
        let sub = Filter {
            subs: [Some("x".into()), None, None, None, None],
            ..Filter::default()
        };
        assert_eq!(
            ids(list(&conn, brand, &sub, None, 10).unwrap()),
            ["01C", "01A"]
        );
        assert_eq!(
            get(&conn, brand, "01E").map(|c| c.id).ok(),
            None,
            "brand 2's"
        );
    }
}
