//! The SQLite file: a pool whose every connection has the same pragmas, and the migrations.

pub mod click_layout;
mod compact_clicks;
pub mod files;
pub(crate) mod migrate;

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;

pub use migrate::{latest_version, migrate, schema_version};

pub type Pool = r2d2::Pool<SqliteConnectionManager>;
pub type Conn = r2d2::PooledConnection<SqliteConnectionManager>;

pub const DB_FILE: &str = "trcker.db";

/// Pragmas every connection needs: WAL for readers beside the writer, enforced foreign keys,
/// and a busy timeout so the CLI and the server can share the file.
pub fn configure(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    // First: switching a new file to WAL takes a lock that the pool's other connections,
    // opening at the same moment, must wait for rather than fail on.
    conn.busy_timeout(Duration::from_secs(5))?;
    // Opened while another process is switching the new file to WAL, or checkpointing and
    // removing the WAL as its last connection closes, this can answer "database is locked"
    // at once, without the busy handler: retry for as long as the handler would wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            r => break r?,
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Open (creating if needed) the database in `data_dir`, migrate it, and pool it.
pub fn open(data_dir: &Path) -> anyhow::Result<Pool> {
    files::create_dir(data_dir)?;
    let path = data_dir.join(DB_FILE);
    // Create, switch to WAL and migrate on one connection before the pool opens eight at once
    // (which, on a new file, raced for the switch and logged "database is locked").
    let mut first =
        connect(data_dir).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    migrate(&mut first)?;
    drop(first);
    let manager =
        SqliteConnectionManager::file(&path).with_init(|c: &mut rusqlite::Connection| configure(c));
    let pool = r2d2::Pool::builder()
        .max_size(8)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    // After the migration SQLite has made the -wal and -shm too; a store made before modes
    // were tightened gets them tightened here, by whichever command opens it first.
    files::tighten_modes(data_dir);
    Ok(pool)
}

/// A connection outside the pool, for the writer thread.
pub fn connect(data_dir: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(data_dir.join(DB_FILE))?;
    configure(&conn)?;
    Ok(conn)
}
