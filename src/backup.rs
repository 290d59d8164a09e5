//! `trcker backup` and `trcker restore`: a consistent copy of a serving database, and putting
//! one back with the server stopped.
//!
//! The copy uses SQLite's online backup API from a connection that holds one read transaction
//! for the whole copy. In WAL mode that is a snapshot: the server's writer goes on committing
//! (into the WAL) and never waits, and the backup never restarts. (Without the open
//! transaction each `step` starts a new read, sees the writer's latest commit and starts the
//! copy over: under steady clicks it would never finish.) The cost: the WAL can't be
//! checkpointed past the snapshot until the copy ends, so it grows for that long.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::db::DB_FILE;
use crate::db::files;

/// Pages per backup step: 16 MiB at the default 4 KiB page, a progress line's worth.
const PAGES_PER_STEP: i32 = 4096;
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Tables every trcker database has, whatever its version.
const TRCKER_TABLES: &[&str] = &["brands", "offers", "partners", "clicks", "conversions"];

/// A temp file removed unless it was renamed into place.
struct TempPath(Option<PathBuf>);

impl TempPath {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("temp path in use")
    }
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(&p);
            let _ = std::fs::remove_file(journal(&p));
        }
    }
}

fn journal(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-journal");
    PathBuf::from(s)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A new, empty, 0600 file beside `target`, named so it is recognisably ours.
fn temp_beside(target: &Path) -> anyhow::Result<TempPath> {
    let name = target
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("{} is not a file name", target.display()))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp-{}", std::process::id()));
    let path = target.with_file_name(tmp);
    let _ = std::fs::remove_file(&path);
    files::create_private(&path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    Ok(TempPath(Some(path)))
}

/// Copy `from` (a connection) into the file at `to`, all pages from one read snapshot.
/// `progress(bytes done, bytes total)` about once a second. Returns the size copied.
fn copy(from: &Connection, to: &Path, mut progress: impl FnMut(u64, u64)) -> anyhow::Result<u64> {
    let mut dst = Connection::open(to)?;
    // Durability comes from the one fsync at the end, not from each step.
    dst.pragma_update(None, "synchronous", "OFF")?;
    from.execute_batch("BEGIN DEFERRED")?;
    // The snapshot starts at the first read, not at BEGIN.
    from.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
    let page_size: i64 = from.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let page_size = page_size as u64;
    let result = (|| -> anyhow::Result<u64> {
        let b = Backup::new(from, &mut dst)?;
        let mut last = Instant::now();
        loop {
            let r = b.step(PAGES_PER_STEP)?;
            let p = b.progress();
            let total = p.pagecount.max(0) as u64 * page_size;
            let done = (p.pagecount - p.remaining).max(0) as u64 * page_size;
            match r {
                StepResult::Done => {
                    progress(total, total);
                    return Ok(total);
                }
                StepResult::More => {}
                // The destination is ours alone and the source is only read: seen only if
                // something else locks the new file; wait a little and go on.
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
            if last.elapsed() >= PROGRESS_EVERY {
                progress(done, total);
                last = Instant::now();
            }
        }
    })();
    let _ = from.execute_batch("COMMIT");
    let total = result?;
    // A plain rollback-journal file: complete on its own (no -wal to carry along), and
    // readable read-only anywhere. The server turns WAL back on when it opens it.
    dst.pragma_update(None, "journal_mode", "DELETE")?;
    dst.close().map_err(|(_, e)| e)?;
    std::fs::File::open(to)?.sync_all()?;
    Ok(total)
}

/// Write a consistent copy of `data_dir`'s database to `to` (mode 0600), beside a running
/// server. Refuses an existing `to` unless `force`.
pub fn backup(
    data_dir: &Path,
    to: &Path,
    force: bool,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<u64> {
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        anyhow::bail!("no database at {}", db.display());
    }
    if to.exists() && !force {
        anyhow::bail!(
            "{} exists; choose another file or pass --force to replace it",
            to.display()
        );
    }
    if to.exists() && files::FileId::of(to)? == files::FileId::of(&db)? {
        anyhow::bail!("{} is the database itself", to.display());
    }
    // Never create a database here: the path must name an existing one.
    let src = Connection::open_with_flags(
        &db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", db.display()))?;
    src.busy_timeout(Duration::from_secs(5))?;
    let tmp = temp_beside(to)?;
    let total = copy(&src, tmp.path(), progress)
        .map_err(|e| anyhow::anyhow!("backup of {} failed: {e}", db.display()))?;
    if force {
        std::fs::rename(tmp.path(), to)?;
    } else {
        // A hard link never replaces: a file that appeared at `to` meanwhile is kept.
        match std::fs::hard_link(tmp.path(), to) {
            Ok(()) => std::fs::remove_file(tmp.path())?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                anyhow::bail!("{} exists; pass --force to replace it", to.display())
            }
            // A filesystem without hard links: check, then rename (a narrow race).
            Err(_) if !to.exists() => std::fs::rename(tmp.path(), to)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", to.display()))?,
            Err(e) => anyhow::bail!("cannot write {}: {e}", to.display()),
        }
    }
    tmp.keep();
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        files::sync_dir(parent)?;
    }
    Ok(total)
}

/// Is `conn` a sound trcker database this binary can serve? The error says what is wrong.
fn check(conn: &Connection, file: &Path) -> anyhow::Result<()> {
    let unusable = |e: rusqlite::Error| {
        anyhow::anyhow!(
            "{} is not a usable SQLite database ({e}); nothing was changed",
            file.display()
        )
    };
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(unusable)?;
    let version = crate::db::schema_version(conn).map_err(unusable)?;
    let missing: Vec<&str> = TRCKER_TABLES
        .iter()
        .copied()
        .filter(|t| !tables.iter().any(|n| n == t))
        .collect();
    if version == 0 || !missing.is_empty() {
        anyhow::bail!(
            "{} is an SQLite database but not a trcker one (missing: {}); nothing was changed",
            file.display(),
            if missing.is_empty() {
                "schema version".to_string()
            } else {
                missing.join(", ")
            }
        );
    }
    let latest = crate::db::latest_version();
    if version > latest {
        anyhow::bail!(
            "{} has schema version {version}, newer than this binary knows ({latest}); \
             restore it with a newer trcker. Nothing was changed",
            file.display()
        );
    }
    let verdict: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(unusable)?;
    if verdict != ["ok"] {
        anyhow::bail!(
            "{} fails SQLite's integrity check ({}); nothing was changed",
            file.display(),
            verdict.into_iter().take(3).collect::<Vec<_>>().join("; ")
        );
    }
    Ok(())
}

/// Replace `data_dir`'s database with the backup `from`, with no server running (the same lock
/// as `serve`). The file is checked and copied in before anything is touched; the previous
/// database is kept (returned). Its migrations run at the next `serve`.
pub fn restore(data_dir: &Path, from: &Path) -> anyhow::Result<Option<PathBuf>> {
    if !from.is_file() {
        anyhow::bail!("no backup file at {}", from.display());
    }
    let _lock = files::claim(data_dir, "restore")?;
    let src = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a usable SQLite database ({e}); nothing was changed",
            from.display()
        )
    })?;
    eprintln!("restore: checking {}", from.display());
    check(&src, from)?;
    let db = data_dir.join(DB_FILE);
    let tmp = temp_beside(&db)?;
    copy(&src, tmp.path(), |_, _| {})
        .map_err(|e| anyhow::anyhow!("cannot copy {}: {e}", from.display()))?;
    drop(src);

    let kept = if std::fs::symlink_metadata(&db).is_ok() {
        // Fold the old WAL into its file where it can be (a clean database); a damaged one
        // keeps its -wal beside it under the new name instead.
        if let Ok(old) = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE) {
            let _ = old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            let _ = old.close();
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let keep = with_suffix(&db, &format!(".before-restore-{stamp}"));
        // A link, so trcker.db itself is only ever replaced by the rename below, at once.
        std::fs::hard_link(&db, &keep).map_err(|e| {
            anyhow::anyhow!("cannot keep the old database as {}: {e}", keep.display())
        })?;
        // The old WAL must not stay: SQLite would replay it into the restored file.
        for suffix in ["-wal", "-shm"] {
            let f = with_suffix(&db, suffix);
            if f.exists() {
                std::fs::rename(&f, with_suffix(&keep, suffix))?;
            }
        }
        Some(keep)
    } else {
        None
    };
    // The saved unique-click window belongs to the old database: the restored one rebuilds
    // its own from its clicks.
    let _ = std::fs::remove_file(data_dir.join(files::UNIQUE_WINDOW_FILE));
    std::fs::rename(tmp.path(), &db)?;
    tmp.keep();
    files::sync_dir(data_dir)?;
    Ok(kept)
}
