//! The one writer of clicks and conversions: group commit.
//!
//! Requests hand their row to this thread and wait. It takes whatever has queued (up to
//! `MAX_BATCH`), writes it in one transaction, commits, and only then answers each waiter, so
//! an answer means the row is on disk (in the WAL) and survives a killed process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::{Checkpointer, WRITER_CHECKPOINT_PAGES};
use crate::db::files::FileId;
use crate::domain::click::ClickRow;
use crate::domain::conversion::{Conversion, NewConversion};
use crate::domain::ids::BrandId;
use crate::metrics::Metrics;
use crate::store::clicks;
use crate::store::conversions::{self, Change};
use crate::store::lookups::Lookups;
use crate::store::rollups::Pending;
use crate::store::sub_rollups;
use crate::store::{StoreError, StoreResult};

const MAX_BATCH: usize = 2048;
const QUEUE: usize = 16 * 1024;

/// Why a write was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No writer takes it (stopped, or its thread died): nothing can be acknowledged.
    #[error("the writer has stopped")]
    Unavailable,
    /// The store refused or failed the write; nothing of it was kept.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One queued write with the slot for its outcome and the waiter to answer: each kind of op
/// carries its own reply type, so no answer can reach a waiter of another kind.
enum Job {
    Click {
        row: ClickRow,
        done: Slot<()>,
    },
    Conversion {
        brand_id: BrandId,
        input: NewConversion,
        actor: String,
        done: Slot<(Conversion, bool)>,
    },
    ConversionStatus {
        brand_id: BrandId,
        id: i64,
        change: Change,
        done: Slot<Conversion>,
    },
    /// Many status changes at once: all of them or none (one savepoint).
    ConversionStatuses {
        brand_id: BrandId,
        ids: Vec<i64>,
        change: Change,
        done: Slot<Vec<Conversion>>,
    },
    /// A one-row update for /healthz: proof that a commit still reaches the disk.
    Probe {
        done: Slot<()>,
    },
    /// Any other store change that must be ordered with postbacks and status changes (caps,
    /// statements, holds): a closure run in its own savepoint, answered after the commit.
    Call(Box<dyn Deferred>),
}

/// A closure job and the slot for its outcome, with its type erased.
trait Deferred: Send {
    fn apply(&mut self, conn: &Connection, rollups: &mut Pending);
    fn answer(self: Box<Self>);
    fn refuse(self: Box<Self>);
}

type StoreOp<T> = Box<dyn FnOnce(&Connection, &mut Pending) -> StoreResult<T> + Send>;

struct Call<T> {
    op: Option<StoreOp<T>>,
    done: Slot<T>,
}

impl<T: Send> Deferred for Call<T> {
    fn apply(&mut self, conn: &Connection, rollups: &mut Pending) {
        let Some(op) = self.op.take() else { return };
        // Its deltas join the batch's only when the whole op is kept.
        let mut own = Pending::default();
        let r = savepoint(conn, || op(conn, &mut own));
        if r.is_ok() {
            rollups.merge(own);
        }
        self.done.result = Some(r);
    }
    fn answer(self: Box<Self>) {
        self.done.answer()
    }
    fn refuse(self: Box<Self>) {
        self.done.refuse()
    }
}

/// The outcome of an applied op, held until its batch commits, and who waits for it.
struct Slot<T> {
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T> Slot<T> {
    fn new() -> (Slot<T>, oneshot::Receiver<StoreResult<T>>) {
        let (reply, rx) = oneshot::channel();
        (
            Slot {
                result: None,
                reply,
            },
            rx,
        )
    }

    /// Committed: the waiter hears what its op did.
    fn answer(self) {
        let r = self
            .result
            .unwrap_or(Err(StoreError::Unavailable("the write was not applied")));
        let _ = self.reply.send(r);
    }

    /// Nothing of the batch is on disk: the waiter hears so, whatever its op did.
    fn refuse(self) {
        let _ = self.reply.send(Err(StoreError::Unavailable(
            "the database can't be written to",
        )));
    }
}

impl Job {
    fn answer(self) {
        match self {
            Job::Click { done, .. } | Job::Probe { done } => done.answer(),
            Job::Conversion { done, .. } => done.answer(),
            Job::ConversionStatus { done, .. } => done.answer(),
            Job::ConversionStatuses { done, .. } => done.answer(),
            Job::Call(call) => call.answer(),
        }
    }

    fn refuse(self) {
        match self {
            Job::Click { done, .. } | Job::Probe { done } => done.refuse(),
            Job::Conversion { done, .. } => done.refuse(),
            Job::ConversionStatus { done, .. } => done.refuse(),
            Job::ConversionStatuses { done, .. } => done.refuse(),
            Job::Call(call) => call.refuse(),
        }
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "jobs travel by value: boxing would add an allocation per click for no gain"
)]
enum Msg {
    Job(Job),
    Stop,
}

pub struct Writer {
    tx: mpsc::Sender<Msg>,
    handle: Mutex<Option<JoinHandle<()>>>,
    checkpointer: Checkpointer,
    status: Arc<Status>,
}

/// What the writer knows of the store's health, shared with /healthz.
pub struct Status {
    path: PathBuf,
    /// The database file the writer opened; another (or none) at `path` means it was
    /// deleted or replaced, and commits would land in a file nobody will open again.
    file: FileId,
    /// Set once, never cleared: the store can't be trusted until a restart.
    failed: OnceLock<&'static str>,
    last_commit_failed: AtomicBool,
    started: Instant,
    /// Milliseconds after `started` of the last successful commit (0: none yet).
    last_ok_ms: AtomicU64,
}

impl Status {
    /// Mark the store failed for good (the first reason wins) and say so once.
    pub fn fail(&self, reason: &'static str) {
        if self.failed.set(reason).is_ok() {
            tracing::error!(path = %self.path.display(), reason, "the store is failed: clicks and conversions are refused until a restart");
        }
    }

    /// A stat of the path, compared with the file opened at start.
    pub fn check_file(&self) -> Result<(), &'static str> {
        match FileId::of(&self.path) {
            Ok(id) if id == self.file => Ok(()),
            Ok(_) => Err("the database file was replaced"),
            Err(_) => Err("the database file was deleted"),
        }
    }

    pub fn failed(&self) -> Option<&'static str> {
        self.failed.get().copied()
    }

    pub fn last_commit_failed(&self) -> bool {
        self.last_commit_failed.load(Ordering::Relaxed)
    }

    /// Time since the last successful commit, if any.
    pub fn since_last_ok(&self) -> Option<std::time::Duration> {
        let ms = self.last_ok_ms.load(Ordering::Relaxed);
        (ms > 0).then(|| {
            self.started
                .elapsed()
                .saturating_sub(std::time::Duration::from_millis(ms))
        })
    }

    fn committed(&self, ok: bool) {
        self.last_commit_failed.store(!ok, Ordering::Relaxed);
        if ok {
            let ms = self.started.elapsed().as_millis() as u64;
            self.last_ok_ms.store(ms.max(1), Ordering::Relaxed);
        }
    }
}

impl Writer {
    /// `fsync_each_commit`: survive power loss too, not only a killed process (about 15-20 %
    /// fewer clicks per second here; see `--synchronous`).
    pub fn start(
        data_dir: &Path,
        fsync_each_commit: bool,
        seal_step_rows: usize,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Writer> {
        let conn = crate::db::connect(data_dir)?;
        if fsync_each_commit {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        // Each postback runs in its own savepoint, whose sub-journal keeps the original of
        // every page it touches (a dozen or more). Past 64 KiB in a batch SQLite spills that
        // journal to a temp file, and the writer spent a third of its time in its pwrites.
        // In memory it is a copy; a batch's is bounded by MAX_BATCH ops (a few MB at most).
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let path = data_dir.join(crate::db::DB_FILE);
        let status = Arc::new(Status {
            file: FileId::of(&path)?,
            path,
            failed: OnceLock::new(),
            last_commit_failed: AtomicBool::new(false),
            started: Instant::now(),
            last_ok_ms: AtomicU64::new(0),
        });
        let checkpointer = Checkpointer::start(data_dir)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread_status = status.clone();
        // Answers go out from a task on the runtime that started us (see `Answers`).
        let answers = Answers(tokio::runtime::Handle::try_current().ok());
        let handle = std::thread::Builder::new()
            .name("trcker-writer".into())
            .spawn(move || {
                let subs = sub_rollups::Writer::with_step_rows(seal_step_rows);
                run(conn, rx, subs, &thread_status, &metrics, &answers)
            })?;
        Ok(Writer {
            tx,
            handle: Mutex::new(Some(handle)),
            checkpointer,
            status,
        })
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// False once the thread has ended (shut down, or died).
    pub fn alive(&self) -> bool {
        !self.tx.is_closed()
            && self
                .handle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(|h| !h.is_finished())
    }

    /// Queue a job and wait until its batch is committed (or refused).
    async fn submit<T>(
        &self,
        job: Job,
        rx: oneshot::Receiver<StoreResult<T>>,
    ) -> Result<T, WriteError> {
        self.tx
            .send(Msg::Job(job))
            .await
            .map_err(|_| WriteError::Unavailable)?;
        Ok(rx.await.map_err(|_| WriteError::Unavailable)??)
    }

    /// Record a click; Ok once it is on disk.
    pub async fn submit_click(&self, row: ClickRow) -> Result<(), WriteError> {
        let (done, rx) = Slot::new();
        self.submit(Job::Click { row, done }, rx).await
    }

    /// Record a postback: the conversion and whether it is new (false: a repeat of its
    /// `transaction_id`, answered with the first one). `actor` is named in its history.
    pub async fn submit_conversion(
        &self,
        brand_id: BrandId,
        input: NewConversion,
        actor: String,
    ) -> Result<(Conversion, bool), WriteError> {
        let (done, rx) = Slot::new();
        let job = Job::Conversion {
            brand_id,
            input,
            actor,
            done,
        };
        self.submit(job, rx).await
    }

    /// Change a conversion's status as the lifecycle allows; the conversion as it now is.
    pub async fn submit_status(
        &self,
        brand_id: BrandId,
        id: i64,
        change: Change,
    ) -> Result<Conversion, WriteError> {
        let (done, rx) = Slot::new();
        let job = Job::ConversionStatus {
            brand_id,
            id,
            change,
            done,
        };
        self.submit(job, rx).await
    }

    /// Change the status of every conversion in `ids`, all or nothing: one id unknown to the
    /// brand (`UnknownConversion`) or one that can't make the transition (`Transition`) and
    /// none changes. The conversions as they now are.
    pub async fn submit_statuses(
        &self,
        brand_id: BrandId,
        ids: Vec<i64>,
        change: Change,
    ) -> Result<Vec<Conversion>, WriteError> {
        let (done, rx) = Slot::new();
        let job = Job::ConversionStatuses {
            brand_id,
            ids,
            change,
            done,
        };
        self.submit(job, rx).await
    }

    /// Run `op` in the writer's transaction, in order with every postback and status change
    /// (all or nothing: an error undoes what it wrote); its result once committed.
    pub async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection, &mut Pending) -> StoreResult<T> + Send + 'static,
    ) -> Result<T, WriteError> {
        let (done, rx) = Slot::new();
        let call = Call {
            op: Some(Box::new(op)),
            done,
        };
        self.submit(Job::Call(Box::new(call)), rx).await
    }

    /// Commit a one-row update: proof that a write still reaches the disk.
    pub async fn probe(&self) -> Result<(), WriteError> {
        let (done, rx) = Slot::new();
        self.submit(Job::Probe { done }, rx).await
    }

    /// Finish everything queued, then stop the thread. Everything is committed on return; the
    /// last batch's answers may still be on their way (a runtime task, see `Answers`).
    pub fn shutdown(&self) {
        let handle = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = self.tx.blocking_send(Msg::Stop);
            let _ = h.join();
        }
        self.checkpointer.stop();
    }
}

/// Take what has queued, up to `MAX_BATCH`; false once Stop has been seen.
fn drain(rx: &mut mpsc::Receiver<Msg>, batch: &mut Vec<Job>) -> bool {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(Msg::Job(j)) => batch.push(j),
            Ok(Msg::Stop) => return false,
            Err(_) => break,
        }
    }
    true
}

/// Who tells a committed batch's waiters. Answering from this thread woke a parked tokio
/// worker per job (a futex syscall each, a tenth of the writer's time per postback, and the
/// writer is what bounds postbacks per second); handed to one task on the runtime, a batch
/// costs one wake here and its answers are scheduled from inside the runtime. Without a
/// runtime (unit tests), the writer answers itself.
struct Answers(Option<tokio::runtime::Handle>);

impl Answers {
    fn send(&self, batch: &mut Vec<Job>) {
        match &self.0 {
            Some(rt) => {
                // Exactly the batch's length: the writer keeps its own buffer for the next.
                let mut jobs = Vec::with_capacity(batch.len());
                jobs.append(batch);
                rt.spawn(async move {
                    for job in jobs {
                        job.answer();
                    }
                });
            }
            None => {
                for job in batch.drain(..) {
                    job.answer();
                }
            }
        }
    }
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Msg>,
    mut subs: sub_rollups::Writer,
    status: &Status,
    metrics: &Metrics,
    answers: &Answers,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    // User agents and referers seen lately and their dictionary ids: most clicks look none up.
    let mut texts = clicks::Texts::default();
    let mut stopping = false;
    while !stopping {
        let msg = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(mpsc::error::TryRecvError::Empty) => {
                // Idle: background work (backfill, sealing) one small step at a time, each
                // followed by a look at the queue.
                if status.failed().is_none() && subs.has_work(&conn, crate::domain::time::now()) {
                    background(&mut conn, &mut subs);
                    continue;
                }
                rx.blocking_recv()
            }
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
        match msg {
            Some(Msg::Job(j)) => batch.push(j),
            Some(Msg::Stop) | None => stopping = true,
        }
        // No extra wait for stragglers: under load the queue refills while a batch commits
        // (about a dozen clicks per commit at 50k clicks/s), and lingering measured no faster.
        stopping |= !drain(&mut rx, &mut batch);
        metrics.set_queue_depth(rx.len());
        if !batch.is_empty() {
            commit_batch(
                &mut conn, &mut texts, &mut subs, &mut batch, status, metrics, answers,
            );
        }
        // Under load, background steps still move, at most about a quarter of the writer's time.
        if !stopping && status.failed().is_none() && subs.due(&conn, crate::domain::time::now()) {
            background(&mut conn, &mut subs);
        }
    }
    // Anything that raced in after Stop is still answered.
    rx.close();
    while let Ok(Msg::Job(j)) = rx.try_recv() {
        batch.push(j);
    }
    if !batch.is_empty() {
        commit_batch(
            &mut conn, &mut texts, &mut subs, &mut batch, status, metrics, answers,
        );
    }
}

/// One step of the sub-id rollups' background work; a failure is logged and retried later
/// (the step rolled back; until then sub-id reports read what was done so far, still exact).
fn background(conn: &mut Connection, subs: &mut sub_rollups::Writer) {
    if let Err(e) = subs.step(conn, crate::domain::time::now()) {
        tracing::error!(error = %e, "sub-id rollups step failed");
    }
}

/// A postback run without a savepoint failed after it had written rows: the batch must be
/// written again with every op in its own savepoint.
struct PartlyWritten;

/// Record a postback without a savepoint of its own. The savepoint's sub-journal copied each
/// of the dozen or more pages a postback touches, and with the savepoint statements it was
/// about a fifth of the writer's work per postback. A postback refused before it writes
/// (unknown click, offer, partner; a repeated transaction id) leaves nothing to undo; one
/// that fails after writing (no input is known to: only an I/O error, which fails the whole
/// batch anyway) returns `PartlyWritten`, and the caller rolls the batch back.
fn record_postback(
    conn: &Connection,
    job: &mut Job,
    rollups: &mut Pending,
    lookups: &mut Lookups,
) -> Result<(), PartlyWritten> {
    let Job::Conversion {
        brand_id,
        input,
        actor,
        done,
    } = job
    else {
        unreachable!("only postbacks are recorded without a savepoint")
    };
    let written = conn.total_changes();
    let r = conversions::insert(conn, *brand_id, input, actor, rollups, lookups);
    if r.is_err() && conn.total_changes() != written {
        return Err(PartlyWritten);
    }
    done.result = Some(r);
    Ok(())
}

/// Apply `job` so that its failure undoes only its own writes.
fn apply(
    conn: &Connection,
    texts: &mut clicks::Texts,
    job: &mut Job,
    rollups: &mut Pending,
    lookups: &mut Lookups,
) {
    match job {
        Job::Click { row, done } => done.result = Some(clicks::insert(conn, texts, row, rollups)),
        Job::Conversion {
            brand_id,
            input,
            actor,
            done,
        } => {
            done.result = Some(savepoint(conn, || {
                conversions::insert(conn, *brand_id, input, actor, rollups, lookups)
            }))
        }
        Job::ConversionStatus {
            brand_id,
            id,
            change,
            done,
        } => {
            done.result = Some(savepoint(conn, || {
                conversions::set_status(conn, *brand_id, *id, change, rollups)
                    .map(|(_, after)| after)
            }))
        }
        Job::ConversionStatuses {
            brand_id,
            ids,
            change,
            done,
        } => {
            // The group's deltas join the batch's only when the whole group is kept.
            let mut own = Pending::default();
            let r = savepoint(conn, || {
                conversions::set_statuses(conn, *brand_id, ids, change, &mut own)
            });
            if r.is_ok() {
                rollups.merge(own);
            }
            done.result = Some(r);
        }
        Job::Call(call) => call.apply(conn, rollups),
        Job::Probe { done } => {
            done.result = Some(
                conn.execute(
                    "UPDATE health SET checked_at = ?1 WHERE id = 1",
                    [crate::domain::time::now()],
                )
                .map(|_| ())
                .map_err(StoreError::from),
            )
        }
    }
}

/// Run `f` so that its failure undoes only its own writes, not the batch's.
fn savepoint<T>(conn: &Connection, f: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    // Cached: these run for every op but a postback, at hundreds of ops a batch.
    let run = |sql: &str| conn.prepare_cached(sql)?.execute([]).map(|_| ());
    run("SAVEPOINT op")?;
    match f() {
        Ok(v) => {
            run("RELEASE op")?;
            Ok(v)
        }
        Err(e) => {
            run("ROLLBACK TO op")?;
            run("RELEASE op")?;
            Err(e)
        }
    }
}

/// Every waiter of the batch hears of a failure; none gets a success.
fn refuse(batch: &mut Vec<Job>) {
    for job in batch.drain(..) {
        job.refuse();
    }
}

/// Why a batch's transaction was not committed.
enum Rewrite {
    /// A postback failed after writing (see `record_postback`); nothing was committed.
    Guarded,
    Failed(rusqlite::Error),
}

impl From<rusqlite::Error> for Rewrite {
    fn from(e: rusqlite::Error) -> Rewrite {
        Rewrite::Failed(e)
    }
}

/// Write `batch` in one transaction and commit it. Unless `guarded`, postbacks (which come
/// first) run without savepoints of their own; every other op always has one.
fn write_batch(
    conn: &mut Connection,
    texts: &mut clicks::Texts,
    subs: &mut sub_rollups::Writer,
    batch: &mut [Job],
    guarded: bool,
) -> Result<(), Rewrite> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut rollups = Pending::default();
    // The memo of postbacks' reads relies on this order (see `store::lookups`).
    debug_assert!(batch.is_sorted_by_key(|j| !matches!(j, Job::Conversion { .. })));
    // Without savepoints, a failure after writing rolls the whole attempt back, so the cap
    // use of its postbacks can wait in memory until they are done; guarded, each postback's
    // savepoint must undo its own, so it writes it at once.
    let mut lookups = match guarded {
        false => Lookups::deferring_cap_use(),
        true => Lookups::default(),
    };
    for j in batch.iter_mut() {
        if !guarded && matches!(j, Job::Conversion { .. }) {
            // Dropping `tx` rolls back everything of this attempt.
            record_postback(&tx, j, &mut rollups, &mut lookups)
                .map_err(|PartlyWritten| Rewrite::Guarded)?;
        } else {
            if !matches!(j, Job::Click { .. } | Job::Conversion { .. }) {
                // A closure may change or count a cap: the postbacks' use is written first,
                // and the memo forgotten (no postback follows today: they are sorted first).
                lookups.finish(&tx).map_err(store_to_db)?;
            }
            apply(&tx, texts, j, &mut rollups, &mut lookups);
        }
        // Some errors (disk full, I/O) make SQLite roll back the whole transaction; the
        // rest would then run as autocommits and be saved while every waiter hears of a
        // failure. Stop at once instead: nothing of the batch is on disk.
        if tx.is_autocommit() {
            return Err(Rewrite::Failed(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the batch transaction was rolled back".into()),
            )));
        }
    }
    // The cap use and the rollups commit with the rows they count, or not at all.
    lookups.finish(&tx).map_err(store_to_db)?;
    rollups.flush(&tx, subs).map_err(store_to_db)?;
    tx.commit()?;
    Ok(())
}

fn store_to_db(e: StoreError) -> rusqlite::Error {
    match e {
        StoreError::Db(e) => e,
        _ => rusqlite::Error::InvalidQuery,
    }
}

fn commit_batch(
    conn: &mut Connection,
    texts: &mut clicks::Texts,
    subs: &mut sub_rollups::Writer,
    batch: &mut Vec<Job>,
    status: &Status,
    metrics: &Metrics,
    answers: &Answers,
) {
    let started = Instant::now();
    if status.failed().is_some() {
        return refuse(batch);
    }
    // The jobs of a batch were submitted concurrently (nobody has heard of any of them yet),
    // so any order is one they could have come in: postbacks go first, and the ops that
    // can't be run twice (closures) only once the postbacks are written for good.
    batch.sort_by_key(|j| !matches!(j, Job::Conversion { .. }));
    let result = match write_batch(conn, texts, subs, batch, false) {
        Err(Rewrite::Guarded) => {
            // The rolled-back attempt's new dictionary ids are gone with it.
            texts.forget();
            subs.forget();
            tracing::warn!(
                "a postback failed after writing: the batch is written again with a savepoint per op"
            );
            write_batch(conn, texts, subs, batch, true)
        }
        r => r,
    };
    let result = result.map_err(|e| match e {
        Rewrite::Failed(e) => e,
        Rewrite::Guarded => unreachable!("a guarded batch is never rewritten"),
    });
    match result {
        Ok(()) => {
            // Committed, but into the file at our path? One stat per batch (about a dozen
            // clicks under load) before anyone hears "recorded": a deleted or replaced
            // database would otherwise swallow every click until the restart loses them.
            if let Err(reason) = status.check_file() {
                status.fail(reason);
                return refuse(batch);
            }
            status.committed(true);
            let clicks = batch
                .iter()
                .filter(|j| matches!(j, Job::Click { .. }))
                .count() as u64;
            let conversions = batch
                .iter()
                .filter(|j| {
                    matches!(
                        j,
                        Job::Conversion { .. }
                            | Job::ConversionStatus { .. }
                            | Job::ConversionStatuses { .. }
                    )
                })
                .count() as u64;
            metrics.batch(clicks, conversions, started);
            answers.send(batch);
        }
        Err(e) => {
            // Nothing of this batch is on disk, nor are the dictionary ids it made.
            texts.forget();
            subs.forget();
            tracing::error!(error = %e, rows = batch.len(), "batch commit failed");
            status.committed(false);
            refuse(batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::attribution::Attribution;
    use crate::domain::status::ConversionStatus;

    type Answer = oneshot::Receiver<StoreResult<(Conversion, bool)>>;

    fn postback(txn: &str) -> (Job, Answer) {
        postback_as(txn, ConversionStatus::Approved)
    }

    fn postback_as(txn: &str, status: ConversionStatus) -> (Job, Answer) {
        let (done, rx) = Slot::new();
        let input = NewConversion {
            attribution: Attribution::Direct {
                offer_id: 1,
                partner_id: 1,
            },
            amount: None,
            event: "sale".into(),
            transaction_id: Some(txn.into()),
            status,
            occurred_at: None,
        };
        let job = Job::Conversion {
            brand_id: BrandId::new(1),
            input,
            actor: "key:test".into(),
            done,
        };
        (job, rx)
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// A store with brand 1, its offer 1 and partner 1, and a lifetime conversions cap of
    /// `cap` on the offer; then `sql`.
    fn store(dir: &Path, cap: i64, sql: &str) -> Connection {
        drop(crate::db::open(dir).unwrap());
        let conn = crate::db::connect(dir).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO brands (name, created_at) VALUES ('b', 0);
             INSERT INTO offers (brand_id, name, destination_url, payout_type, payout_minor,
               currency, status, created_at, updated_at) VALUES (1, 'o', 'https://x.example/',
               'cpa', 250, 'USD', 'active', 0, 0);
             INSERT INTO partners (brand_id, name, email, status, created_at, updated_at)
               VALUES (1, 'p', 'p@example.com', 'active', 0, 0);
             INSERT INTO caps (brand_id, offer_id, metric, window, limit_value, created_at)
               VALUES (1, 1, 'conversions', 'lifetime', {cap}, 0);
             {sql}"
        ))
        .unwrap();
        conn
    }

    fn status(dir: &Path) -> Status {
        Status {
            file: FileId::of(&dir.join(crate::db::DB_FILE)).unwrap(),
            path: dir.join(crate::db::DB_FILE),
            failed: OnceLock::new(),
            last_commit_failed: AtomicBool::new(false),
            started: Instant::now(),
            last_ok_ms: AtomicU64::new(0),
        }
    }

    fn commit(conn: &mut Connection, dir: &Path, mut batch: Vec<Job>) {
        let mut texts = clicks::Texts::default();
        let status = status(dir);
        commit_batch(
            conn,
            &mut texts,
            &mut sub_rollups::Writer::default(),
            &mut batch,
            &status,
            &Metrics::new(None),
            &Answers(None),
        );
    }

    /// A batch's postbacks count cap use in memory until they are done: a postback refused
    /// after its caps were checked (here a trigger refuses its row) counts none, even when
    /// the next one asks no cap, and the cap admits exactly its limit within the batch.
    #[test]
    fn cap_use_counted_within_a_batch_is_exact_and_a_refused_postback_counts_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = store(
            dir.path(),
            2,
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON conversions
               WHEN NEW.transaction_id = 'refused'
               BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        );
        let (refused, refused_rx) = postback("refused");
        let (uncapped, uncapped_rx) = postback_as("uncapped", ConversionStatus::Rejected);
        let jobs: Vec<(Job, Answer)> = ["a", "b", "c"].into_iter().map(postback).collect();
        let (jobs, answers): (Vec<Job>, Vec<Answer>) = jobs.into_iter().unzip();
        let mut batch = vec![refused, uncapped];
        batch.extend(jobs);
        commit(&mut conn, dir.path(), batch);

        assert!(refused_rx.blocking_recv().unwrap().is_err());
        assert!(uncapped_rx.blocking_recv().unwrap().unwrap().1);
        let statuses: Vec<ConversionStatus> = answers
            .into_iter()
            .map(|rx| rx.blocking_recv().unwrap().unwrap().0.status)
            .collect();
        use ConversionStatus::{Approved, Rejected};
        assert_eq!(statuses, [Approved, Approved, Rejected]);
        assert_eq!(count(&conn, "SELECT SUM(used) FROM cap_usage"), 2);
        // A later batch reads what this one wrote.
        let (d, d_rx) = postback("d");
        commit(&mut conn, dir.path(), vec![d]);
        assert_eq!(d_rx.blocking_recv().unwrap().unwrap().0.status, Rejected);
        assert_eq!(count(&conn, "SELECT SUM(used) FROM cap_usage"), 2);
    }

    /// A postback that fails after it has written (here a trigger refuses its history entry,
    /// after its row and its cap use are written) leaves nothing behind, and the postbacks
    /// and the closure op of its batch are still recorded, each once.
    #[test]
    fn a_postback_failing_after_it_wrote_leaves_no_trace_and_its_batch_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = store(
            dir.path(),
            1000,
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON conversion_history
               WHEN (SELECT transaction_id FROM conversions WHERE id = NEW.conversion_id) = 'boom'
               BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        );
        let (first, first_rx) = postback("first");
        let (boom, boom_rx) = postback("boom");
        let (last, last_rx) = postback("last");
        let (done, call_rx) = Slot::new();
        let call = Job::Call(Box::new(Call {
            op: Some(Box::new(|conn: &Connection, _: &mut Pending| {
                Ok(conn.query_row("SELECT COUNT(*) FROM conversions", [], |r| {
                    r.get::<_, i64>(0)
                })?)
            })),
            done,
        }));
        commit(&mut conn, dir.path(), vec![call, first, boom, last]);

        assert!(first_rx.blocking_recv().unwrap().unwrap().1);
        assert!(last_rx.blocking_recv().unwrap().unwrap().1);
        assert!(boom_rx.blocking_recv().unwrap().is_err());
        // The closure ran once, after the postbacks (any order of a batch is a valid one).
        assert_eq!(call_rx.blocking_recv().unwrap().unwrap(), 2);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM conversions"), 2);
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM conversions WHERE transaction_id = 'boom'"
            ),
            0
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM conversion_history"), 2);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM events"), 2);
        assert_eq!(count(&conn, "SELECT SUM(used) FROM cap_usage"), 2);
        assert_eq!(
            count(
                &conn,
                "SELECT SUM(conversions) FROM rollups WHERE span = 86400"
            ),
            2
        );
    }
}
