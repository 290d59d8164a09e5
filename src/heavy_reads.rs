//! Where reports are built: a few threads of their own at a low CPU priority (nice 10), so a
//! report that reads millions of rows takes the CPU the redirect path leaves over instead of
//! competing with it as an equal; at most `PER_KEY` of one API key's at once (the rest are
//! refused, not queued, so one client can't fill the queue for everybody), and at most
//! `QUEUE` waiting in all.
//!
//! While tracking links are busy, a report thread rests after each report for `REST` times as
//! long as the report took (at most `REST_MAX`): a cost-weighted limit, so back-to-back heavy
//! reports take at most about a quarter of a thread's time and the click path keeps its rate.
//! Nice alone was not enough: two nice-10 threads running `hour,offer,sub1` reports (0.4 s,
//! 13 MB each) back to back beside the click load took 3 s of CPU each in 10 s and clicks fell
//! to 0.59–0.82 of their rate (the idle scheduling class did no better, 0.69–0.78): the click
//! path leaves CPU idle while it waits, and what runs there still costs it caches and wake-ups. A report's own answer is not
//! delayed by its rest, which comes after it; a report that finds both threads resting waits
//! in the queue (at most `REST_MAX`), as it would behind two running reports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

/// Threads: one report at a time per thread; more would only slice the same spare CPU thinner.
const THREADS: usize = 2;
/// Reports waiting for a thread, across every key.
const QUEUE: usize = 32;
/// Reports of one key running or waiting at once.
pub const PER_KEY: usize = 2;
/// The niceness of the report threads: CFS gives a nice-0 thread about ten times a nice-10
/// one's share when both want the CPU.
const NICE: i32 = 10;
/// After a report, while the click path is busy, a thread rests this many times its duration.
const REST: u32 = 3;
/// The longest rest: a report that read raw rows for seconds (a store still backfilling its
/// sub-id rollups) must not keep the queue waiting for minutes.
const REST_MAX: std::time::Duration = std::time::Duration::from_secs(1);
/// Clicks committed per second, over a report's duration, from which the click path is busy.
const BUSY_CLICKS_PER_SEC: f64 = 1_000.0;

/// Clicks committed so far (the writer's counter): how a report thread tells whether the click
/// path is busy.
pub type ClicksCommitted = Arc<dyn Fn() -> u64 + Send + Sync>;

type Job = Box<dyn FnOnce() + Send>;

/// Why a report was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This key already has `PER_KEY` reports running or waiting.
    KeyBusy,
    /// Every thread is busy and the queue is full.
    Full,
    /// The pool has stopped (or the report's work panicked).
    Gone,
}

pub struct HeavyReads {
    tx: mpsc::SyncSender<Job>,
    per_key: Arc<Mutex<HashMap<i64, usize>>>,
}

/// A key's place among the reports in flight; given back when dropped.
struct Ticket {
    per_key: Arc<Mutex<HashMap<i64, usize>>>,
    key: i64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut map = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

impl HeavyReads {
    pub fn start(clicks: ClicksCommitted) -> anyhow::Result<HeavyReads> {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..THREADS {
            let rx = rx.clone();
            let clicks = clicks.clone();
            std::thread::Builder::new()
                .name(format!("trcker-report-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = {
                            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
                            rx.recv()
                        };
                        match job {
                            // A panic in one report must not take the thread with it.
                            Ok(job) => {
                                let (started, before) = (std::time::Instant::now(), clicks());
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                                let took = started.elapsed();
                                if let Some(rest) =
                                    rest_after(took, clicks().saturating_sub(before))
                                {
                                    std::thread::sleep(rest);
                                }
                            }
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(HeavyReads {
            tx,
            per_key: Arc::default(),
        })
    }

    /// Run `f` on a report thread for API key `key`; its result. Refused at once when the key
    /// has `PER_KEY` in flight or the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        key: i64,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refused> {
        let ticket = {
            let mut map = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(key).or_insert(0);
            if *n >= PER_KEY {
                return Err(Refused::KeyBusy);
            }
            *n += 1;
            Ticket {
                per_key: self.per_key.clone(),
                key,
            }
        };
        let (done, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // Held until the work is over, even when the client has gone; given back before
            // the answer, so a client that asks again on receiving it finds its place free
            // (this low-priority thread may wait a while after sending).
            let out = f();
            drop(ticket);
            let _ = done.send(out);
        });
        self.tx.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => Refused::Full,
            mpsc::TrySendError::Disconnected(_) => Refused::Gone,
        })?;
        rx.await.map_err(|_| Refused::Gone)
    }
}

/// How long a report thread rests after a report that took `took` while `clicks` were
/// committed: `REST` times `took` (at most `REST_MAX`) when the click path was busy, else not
/// at all.
fn rest_after(took: std::time::Duration, clicks: u64) -> Option<std::time::Duration> {
    let busy = clicks as f64 >= BUSY_CLICKS_PER_SEC * took.as_secs_f64() && clicks > 0;
    busy.then(|| (took * REST).min(REST_MAX))
}

/// Lower this thread's CPU priority (Linux: `setpriority` on the thread id). A failure leaves
/// it as it was: reports still run, only at the normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory effects; they act on this thread only.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, NICE) != 0 {
            tracing::warn!("could not lower the report threads' priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_rests_three_times_a_report_only_while_clicks_are_busy() {
        let ms = std::time::Duration::from_millis;
        // 200 ms beside 8,000 clicks (40k/s): rests 600 ms.
        assert_eq!(rest_after(ms(200), 8_000), Some(ms(600)));
        // 30 s of raw rows: at most REST_MAX.
        assert_eq!(rest_after(ms(30_000), 1_200_000), Some(REST_MAX));
        // 300 clicks/s is not busy; nor are no clicks at all.
        assert_eq!(rest_after(ms(400), 120), None);
        assert_eq!(rest_after(ms(0), 0), None);
    }

    #[tokio::test]
    async fn a_key_gets_two_at_once_and_runs_at_low_priority() {
        let pool = Arc::new(HeavyReads::start(Arc::new(|| 0)).unwrap());
        let nice = pool
            // SAFETY: getpriority and gettid only read this thread's scheduling state.
            .run(1, || unsafe {
                libc::getpriority(
                    libc::PRIO_PROCESS,
                    libc::syscall(libc::SYS_gettid) as libc::id_t,
                )
            })
            .await
            .unwrap();
        assert_eq!(nice, NICE);
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let gate_rx = Arc::new(Mutex::new(gate_rx));
        let slow = |g: Arc<Mutex<std::sync::mpsc::Receiver<()>>>| {
            move || {
                let _ = g.lock().unwrap().recv();
            }
        };
        let spawn_slow = |key: i64| {
            let (p, g) = (pool.clone(), gate_rx.clone());
            tokio::spawn(async move { p.run(key, slow(g)).await })
        };
        let (a, b) = (spawn_slow(7), spawn_slow(7));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(pool.run(7, || ()).await, Err(Refused::KeyBusy));
        // Another key is not refused: it waits for a thread.
        let other = {
            let p = pool.clone();
            tokio::spawn(async move { p.run(8, || 8).await })
        };
        gate_tx.send(()).unwrap();
        gate_tx.send(()).unwrap();
        a.await.unwrap().unwrap();
        b.await.unwrap().unwrap();
        assert_eq!(other.await.unwrap(), Ok(8));
        assert_eq!(pool.run(7, || 3).await, Ok(3), "its places are free again");
    }
}
