//! Embedded SQL migrations, applied in order, one transaction each, tracked in `user_version`;
//! except 0011, a data migration of every click, run in batches (`compact_clicks`). 0012 edits
//! CREATE statements in place and moves the schema cookie (see its file).

use rusqlite::Connection;

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    ("0002_rollups", include_str!("migrations/0002_rollups.sql")),
    ("0003_health", include_str!("migrations/0003_health.sql")),
    (
        "0004_brand_timezone",
        include_str!("migrations/0004_brand_timezone.sql"),
    ),
    (
        "0005_lifecycle",
        include_str!("migrations/0005_lifecycle.sql"),
    ),
    ("0006_events", include_str!("migrations/0006_events.sql")),
    (
        "0007_conversions_partner",
        include_str!("migrations/0007_conversions_partner.sql"),
    ),
    (
        "0008_conversions_offer",
        include_str!("migrations/0008_conversions_offer.sql"),
    ),
    ("0009_ledger", include_str!("migrations/0009_ledger.sql")),
    (
        "0010_conversions_payable",
        include_str!("migrations/0010_conversions_payable.sql"),
    ),
    (
        COMPACT_CLICKS,
        include_str!("migrations/0011_compact_clicks.sql"),
    ),
    (
        PLAIN_CHECKS,
        include_str!("migrations/0012_plain_checks.sql"),
    ),
    // Only the tables and where the backfill starts: the writer sums the raw rows already
    // there in small steps between its batches (`store::sub_rollups::Writer::step`).
    (
        "0013_sub_rollups",
        include_str!("migrations/0013_sub_rollups.sql"),
    ),
    (
        "0014_sub_rollup_levels",
        include_str!("migrations/0014_sub_rollup_levels.sql"),
    ),
    // No change of schema: sealing walks its blocks again (blocks too big for one step are
    // now summed over several).
    (
        "0015_sub_rollup_reseal",
        include_str!("migrations/0015_sub_rollup_reseal.sql"),
    ),
];

/// Edits the schema text: see its file.
const PLAIN_CHECKS: &str = "0012_plain_checks";

/// Not one transaction: see `super::compact_clicks`.
const COMPACT_CLICKS: &str = "0011_compact_clicks";

/// The schema version this binary brings a database to.
pub fn latest_version() -> usize {
    MIGRATIONS.len()
}

pub fn schema_version(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map(|v| v as usize)
}

/// Bring the schema up to date. Refuses a database written by a newer binary.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Apply the migrations up to schema version `target`.
pub(crate) fn migrate_to(conn: &mut Connection, target: usize) -> anyhow::Result<()> {
    let current = schema_version(conn)?;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "the database has schema version {current}, newer than this binary knows ({}); upgrade trcker",
            MIGRATIONS.len()
        );
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        if *name == COMPACT_CLICKS {
            super::compact_clicks::run(conn, i + 1, sql)?;
            continue;
        }
        // IMMEDIATE takes the write lock first, so two processes starting together don't both
        // apply the same step.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if schema_version(&tx)? > i {
            continue;
        }
        let cookie: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
        // One statement can't report progress: say that it runs (0014 takes about a minute on
        // a store of 10M clicks with 10,000 sub values) and how long it took.
        let started = std::time::Instant::now();
        if current > 0 {
            tracing::info!(
                migration = name,
                "migrating the store: {name} (one transaction, safe to stop)"
            );
        }
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {name} failed: {e}"))?;
        if current > 0 {
            tracing::info!(
                migration = name,
                secs = started.elapsed().as_secs_f64(),
                "migrated: {name}"
            );
        }
        if *name == PLAIN_CHECKS {
            // Written by hand, the schema table doesn't move the cookie itself: without this,
            // connections already open would keep the old statements.
            tx.pragma_update(None, "schema_version", cookie + 1)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables 0012 edits, and a row each would refuse.
    const REFUSED: &[(&str, &str)] = &[
        ("conversions", "status"),
        ("rollups", "span"),
        ("offers", "status"),
        ("partners", "status"),
        ("caps", "window"),
    ];

    fn create_sql(conn: &Connection, table: &str) -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn ephemeral_tables(conn: &Connection, sql: &str) -> usize {
        let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let ops = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        ops.iter().filter(|op| *op == "OpenEphemeral").count()
    }

    const INSERT_CONVERSION: &str = "INSERT INTO conversions (brand_id, offer_id, partner_id, \
        event, payout_minor, currency, status, occurred_at, created_at, updated_at) \
        VALUES (1, 1, 1, 'sale', 0, 'USD', 'approved', 0, 0, 0)";

    #[test]
    fn checks_lose_their_in_lists_and_refuse_what_they_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::db::connect(dir.path()).unwrap();
        let version = MIGRATIONS
            .iter()
            .position(|(n, _)| *n == PLAIN_CHECKS)
            .unwrap();
        migrate_to(&mut conn, version).unwrap();
        // Open before 0012 and holding the schema before it (a statement on the table ran):
        // it must see the new one.
        let other = crate::db::connect(dir.path()).unwrap();
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM conversions", [], |r| r.get(0))
                .unwrap()
        };
        count(&other);
        assert_eq!(ephemeral_tables(&other, INSERT_CONVERSION), 1);
        migrate(&mut conn).unwrap();

        for (table, column) in REFUSED {
            let sql = create_sql(&conn, table);
            assert!(!sql.contains(&format!("{column} IN (")), "{table}: {sql}");
            assert!(sql.contains(&format!("{column} = ")), "{table}: {sql}");
        }
        for c in [&conn, &other] {
            // EXPLAIN alone doesn't check the schema cookie: a statement that runs does.
            count(c);
            assert_eq!(ephemeral_tables(c, INSERT_CONVERSION), 0);
            let bad = INSERT_CONVERSION.replace("'approved'", "'paid'");
            let err = c.execute(&bad, []).unwrap_err().to_string();
            assert!(err.contains("CHECK constraint failed"), "{err}");
            let err = c
                .execute(
                    "INSERT INTO rollups (brand_id, span, bucket, offer_id, partner_id, currency) \
                     VALUES (1, 60, 0, 1, 1, 'USD')",
                    [],
                )
                .unwrap_err()
                .to_string();
            assert!(err.contains("CHECK constraint failed"), "{err}");
        }
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
