//! The data dir on disk: who may read it (modes), who may serve it (the lock file), whether it
//! can take writes, and which file the server opened (its identity, to notice a replacement).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::DB_FILE;

pub const LOCK_FILE: &str = "trcker.lock";
/// The unique-click window as last saved (`tracking::unique`): start-up loads it and replays
/// only the clicks committed since, instead of the whole last day.
pub const UNIQUE_WINDOW_FILE: &str = "unique-window.bin";
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// The data holds partner emails, visitor IPs and password hashes: nothing this process
/// creates (the database, and the -wal and -shm SQLite makes beside it) is for other users.
/// Called first thing in `main`, before any file exists.
pub fn private_umask() {
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Create the data dir (0700) if missing.
pub fn create_dir(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(data_dir)
            .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", data_dir.display()))?;
    }
    Ok(())
}

/// Take away group and other access from the data dir and the database files, and say so:
/// stores made before this were 0755 and 0644. Files that don't exist are skipped.
pub fn tighten_modes(data_dir: &Path) {
    let mut paths = vec![(data_dir.to_path_buf(), DIR_MODE)];
    for name in [
        DB_FILE,
        "trcker.db-wal",
        "trcker.db-shm",
        LOCK_FILE,
        UNIQUE_WINDOW_FILE,
    ] {
        paths.push((data_dir.join(name), FILE_MODE));
    }
    for (path, mode) in paths {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let now = meta.permissions().mode() & 0o777;
        if now & 0o077 == 0 {
            continue;
        }
        match std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                from = format!("{now:o}"),
                to = format!("{mode:o}"),
                "tightened file mode: the store is private to its owner"
            ),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot tighten file mode")
            }
        }
    }
}

/// Which file a path names: (device, inode). A database deleted or replaced under the server
/// has another identity at its path (or none), while the server's open file lives on unlinked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub fn of(path: &Path) -> std::io::Result<FileId> {
        let m = std::fs::metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// The exclusive claim on a data dir by the one process that serves (or restores) it: an
/// `flock` on `trcker.lock`, released by the kernel when the process exits however it exits.
/// The CLI's small writes (keys, admin, seed) and `backup` don't take it: SQLite's own locks
/// make them safe beside a server.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Claim `data_dir` for `what` ("serve", "restore"): create it if needed, check that it and the
/// database can take writes, and take the lock. Every refusal says what to do.
pub fn claim(data_dir: &Path, what: &str) -> anyhow::Result<DataDirLock> {
    create_dir(data_dir)?;
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(&path)
        .map_err(|e| not_writable(data_dir, &e))?;
    // SAFETY: flock on a descriptor we own; it only fails with an errno.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            anyhow::bail!(
                "another trcker process{holder} is serving or restoring {}: it holds {}. \
                 Stop it first; only one server may use a data dir",
                data_dir.display(),
                path.display()
            );
        }
        anyhow::bail!("cannot lock {}: {e}", path.display());
    }
    // Who holds it, for the next one's message; the lock, not this text, is what counts.
    let _ = file.set_len(0);
    let _ = writeln!(file, "{}", std::process::id());
    let db = data_dir.join(DB_FILE);
    if std::fs::symlink_metadata(&db).is_ok() {
        // A real open for writing: unlike a mode check it also refuses as root on a read-only
        // filesystem (EROFS), and refuses a directory or other non-file in the database's place.
        if let Err(e) = OpenOptions::new().read(true).write(true).open(&db) {
            anyhow::bail!(
                "cannot {what}: {} is not writable ({e}); clicks could not be recorded",
                db.display()
            );
        }
        if !std::fs::metadata(&db)?.is_file() {
            anyhow::bail!("cannot {what}: {} is not a file", db.display());
        }
    }
    Ok(DataDirLock { _file: file, path })
}

fn not_writable(data_dir: &Path, e: &std::io::Error) -> anyhow::Error {
    let hint = if e.raw_os_error() == Some(libc::EROFS) {
        " (the filesystem is mounted read-only)"
    } else {
        ""
    };
    anyhow::anyhow!(
        "the data dir {} is not writable{hint}: {e}; clicks could not be recorded",
        data_dir.display()
    )
}

/// Create `path` for writing with mode 0600, failing if it exists.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// fsync a directory, so a rename in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_claim_in_the_same_process_is_refused_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let lock = claim(dir.path(), "serve").unwrap();
        let err = claim(dir.path(), "serve").unwrap_err().to_string();
        assert!(err.contains("another trcker process"), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(lock);
        claim(dir.path(), "serve").unwrap();
    }

    #[test]
    fn a_directory_in_the_database_place_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(DB_FILE)).unwrap();
        let err = claim(dir.path(), "serve").unwrap_err().to_string();
        assert!(err.contains("not writable"), "{err}");
    }
}
