//! Brands: the tenants.

use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, StoreResult, one};
use crate::domain::ids::BrandId;
use crate::domain::name::Name;
use crate::domain::time::{now, parse_timezone};

#[derive(Debug, Clone)]
pub struct Brand {
    pub id: BrandId,
    pub name: String,
    /// The brand's own zone: the default of its reports, the zone its pages show.
    pub timezone: Tz,
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, created_at, timezone";

/// A stored zone name as a zone. Only hand-written SQL can store a name this build doesn't
/// know (`update` takes a parsed zone, and the tz database keeps old names as links): such a
/// brand reads as `UTC` rather than failing every page and report.
fn zone(name: &str) -> Tz {
    parse_timezone(name).unwrap_or(chrono_tz::UTC)
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Brand> {
    Ok(Brand {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        timezone: zone(r.get_ref(3)?.as_str()?),
    })
}

pub fn list(conn: &Connection) -> StoreResult<Vec<Brand>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM brands ORDER BY name"))?;
    let rows = stmt.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: BrandId) -> StoreResult<Brand> {
    one(conn.query_row(
        &format!("SELECT {COLUMNS} FROM brands WHERE id = ?1"),
        [id],
        row,
    ))
}

/// The brand's zone, for what defaults to it (reports, the pages).
pub fn timezone(conn: &Connection, id: BrandId) -> StoreResult<Tz> {
    one(conn
        .prepare_cached("SELECT timezone FROM brands WHERE id = ?1")?
        .query_row([id], |r| Ok(zone(r.get_ref(0)?.as_str()?))))
}

pub fn find_by_name(conn: &Connection, name: &str) -> StoreResult<Option<Brand>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM brands WHERE name = ?1"),
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

/// A change to a brand: only the fields given change. Both come parsed (`Name::parse`,
/// `parse_timezone`), so no invalid name or zone reaches the table.
#[derive(Debug, Clone, Default)]
pub struct BrandChange {
    pub name: Option<Name>,
    pub timezone: Option<Tz>,
}

/// Apply `change`; answers the brand as it is now. Another brand's name: `Duplicate`.
/// A new zone moves the brand's cap windows, so its caps are counted again in the same
/// transaction.
pub fn update(conn: &mut Connection, id: BrandId, change: &BrandChange) -> StoreResult<Brand> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let before = timezone(&tx, id)?;
    let brand = rename_or_rezone(&tx, id, change)?;
    if let Some(tz) = change.timezone.filter(|tz| *tz != before) {
        super::caps::recount(&tx, id, tz)?;
    }
    tx.commit()?;
    Ok(brand)
}

fn rename_or_rezone(conn: &Connection, id: BrandId, change: &BrandChange) -> StoreResult<Brand> {
    let name = change.name.as_ref().map(Name::as_str);
    match conn.execute(
        "UPDATE brands SET name = coalesce(?2, name), timezone = coalesce(?3, timezone)
         WHERE id = ?1",
        params![id, name, change.timezone.map(|tz| tz.name())],
    ) {
        Ok(0) => Err(StoreError::NotFound),
        Ok(_) => get(conn, id),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
            field: "name",
            value: name.unwrap_or_default().to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn a_new_brand_is_utc_and_changes_only_what_is_given() {
        let mut conn = db();
        let acme = create(&conn, "Acme").unwrap();
        assert_eq!(acme.timezone, chrono_tz::UTC);
        let kolkata = parse_timezone("Asia/Kolkata").unwrap();
        let zone_only = BrandChange {
            timezone: Some(kolkata),
            ..Default::default()
        };
        let b = update(&mut conn, acme.id, &zone_only).unwrap();
        assert_eq!((b.name.as_str(), b.timezone), ("Acme", kolkata));
        assert_eq!(timezone(&conn, acme.id).unwrap(), kolkata);
        let name_only = BrandChange {
            name: Some(Name::parse(" Acme Shoes ").unwrap()),
            ..Default::default()
        };
        let b = update(&mut conn, acme.id, &name_only).unwrap();
        assert_eq!((b.name.as_str(), b.timezone), ("Acme Shoes", kolkata));
        assert!(matches!(
            update(&mut conn, BrandId::new(999), &name_only),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            timezone(&conn, BrandId::new(999)),
            Err(StoreError::NotFound)
        ));
        create(&conn, "Globex").unwrap();
        let taken = BrandChange {
            name: Some(Name::parse("Globex").unwrap()),
            timezone: Some(chrono_tz::UTC),
        };
        assert!(matches!(
            update(&mut conn, acme.id, &taken),
            Err(StoreError::Duplicate { field: "name", .. })
        ));
        assert_eq!(
            get(&conn, acme.id).unwrap().timezone,
            kolkata,
            "nothing changed"
        );
    }

    #[test]
    fn a_zone_name_this_build_does_not_know_reads_as_utc() {
        let conn = db();
        let b = create(&conn, "Acme").unwrap();
        conn.execute("UPDATE brands SET timezone = 'Mars/Base'", [])
            .unwrap();
        assert_eq!(timezone(&conn, b.id).unwrap(), chrono_tz::UTC);
        assert_eq!(get(&conn, b.id).unwrap().timezone, chrono_tz::UTC);
    }
}
