//! WAL checkpoints beside the writer. Left to SQLite, the committing connection (the writer)
//! copies WAL pages into the database and syncs it every 1000 pages, inside a commit: under
//! click load several times a second, each a stall for every waiting redirect. Here a thread of
//! its own checkpoints passively (it never blocks the writer), so when the writer's own, rarer
//! checkpoint comes due there is little left to copy, and it restarts the WAL from the top.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const EVERY: Duration = Duration::from_millis(100);

/// WAL pages at which the writer checkpoints (and so restarts the WAL): about 100 MB.
pub const WRITER_CHECKPOINT_PAGES: i64 = 25_000;

pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub fn start(data_dir: &Path) -> anyhow::Result<Checkpointer> {
        let conn = crate::db::connect(data_dir)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("trcker-checkpoint".into())
            .spawn(move || {
                let (lock, cv) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !*stopped {
                    stopped = cv
                        .wait_timeout(stopped, EVERY)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    // Busy or failed: the next round tries again.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })?;
        Ok(Checkpointer {
            stop,
            handle: Mutex::new(Some(handle)),
        })
    }

    fn signal(&self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }

    /// Stop and wait for the thread.
    pub fn stop(&self) {
        self.signal();
        if let Some(h) = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Checkpointer {
    // An app dropped without `shutdown` (tests) still ends the thread.
    fn drop(&mut self) {
        self.signal();
    }
}
