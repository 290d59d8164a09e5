//! Raw clicks, written only by the writer thread, read by the API.

use crate::domain::ids::{BrandId, ClickCursor};

use rusqlite::{Connection, OptionalExtension, params};

use super::rollups::Pending;
use super::{Page, StoreResult, one, paginate};
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

const COLUMNS: &str = "id, offer_id, partner_id, created_at, sub1, sub2, sub3, sub4, sub5, ip,
    user_agent, referer, is_unique";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Click> {
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
}

pub fn get(conn: &Connection, brand_id: BrandId, id: &str) -> StoreResult<Click> {
    one(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM clicks WHERE id = ?1 AND brand_id = ?2"
        ))?
        .query_row(params![id, brand_id], row))
}

fn list_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM clicks
         WHERE brand_id = ?1 AND created_at >= ?2 AND (created_at, id) < (?3, ?4)
         AND (?5 IS NULL OR offer_id = ?5) AND (?6 IS NULL OR partner_id = ?6)
         AND (?7 IS NULL OR sub1 = ?7) AND (?8 IS NULL OR sub2 = ?8) AND (?9 IS NULL OR sub3 = ?9)
         AND (?10 IS NULL OR sub4 = ?10) AND (?11 IS NULL OR sub5 = ?11)
         AND (?12 IS NULL OR is_unique = ?12)
         ORDER BY created_at DESC, id DESC LIMIT ?13"
    )
}

/// Newest first by `(created_at, id)`, after `before` when given. Both the page's start and
/// `to` are one upper bound on that pair, and `from` a lower one on `created_at`, so the
/// query walks `clicks_brand_time` from where the page starts: no sort, and no scan of the
/// clicks before it, however deep the page. The other filters are checked on the way.
pub fn list(
    conn: &Connection,
    brand_id: BrandId,
    f: &Filter,
    before: Option<&ClickCursor>,
    limit: u32,
) -> StoreResult<Page<Click>> {
    // `(to + 1, "")` is just above every click of second `to`: no id sorts below "".
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
                upper.id,
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

/// Up to `max` ids of the brand's clicks made before `before`, oldest first (on
/// `clicks_brand_time`): what retention deletes next. A read, off the writer.
pub fn expired(
    conn: &Connection,
    brand_id: BrandId,
    before: i64,
    max: u32,
) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM clicks WHERE brand_id = ?1 AND created_at < ?2
         ORDER BY created_at LIMIT ?3",
    )?;
    let ids = stmt
        .query_map(params![brand_id, before, max], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Delete the brand's clicks `ids` that were made before `before` (checked again: the ids
/// were read outside this transaction); how many went. Rollups are left alone, so reports
/// still count them.
pub fn delete_expired(
    conn: &Connection,
    brand_id: BrandId,
    ids: &[String],
    before: i64,
) -> StoreResult<usize> {
    let mut stmt = conn
        .prepare_cached("DELETE FROM clicks WHERE id = ?1 AND brand_id = ?2 AND created_at < ?3")?;
    let mut n = 0;
    for id in ids {
        n += stmt.execute(params![id, brand_id, before])?;
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
        conn.execute(
            "INSERT INTO clicks (id, brand_id, offer_id, partner_id, created_at, sub1, ip,
             user_agent, is_unique) VALUES (?1, ?2, 1, 1, ?3, ?4, '10.0.0.1', 'ua', 1)",
            params![id, brand, at, sub1],
        )
        .unwrap();
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
        assert_eq!(plan.len(), 1, "{plan:?}");
        assert!(
            plan[0].contains("USING INDEX clicks_brand_time")
                && plan[0].contains("(created_at,id)<(?,?)"),
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
