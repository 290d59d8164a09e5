//! Embedded SQL migrations, applied in order, one transaction each, tracked in `user_version`;
//! except 0011, a data migration of every click, run in batches (`compact_clicks`).

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
];

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
    let current = schema_version(conn)?;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "the database has schema version {current}, newer than this binary knows ({}); upgrade trcker",
            MIGRATIONS.len()
        );
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current) {
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
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {name} failed: {e}"))?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
