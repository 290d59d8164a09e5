//! A bound on argon2 work running at once. Each hash or verify takes a CPU and 19 MiB for a
//! while; unbounded, a burst of sign-ins queues on the blocking pool, and the memory glibc
//! hands out for them stays resident afterwards. Past the bound a request is refused at once
//! (a 503 page), never queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Argon2Gate {
    limit: usize,
    busy: AtomicUsize,
}

/// One argon2 computation's right to run; the slot frees when this drops. Move it into the
/// blocking task, so a client that hangs up does not free the slot while the work goes on.
pub struct Slot(Arc<Argon2Gate>);

impl Argon2Gate {
    /// About one slot per core: more would only make each computation slower.
    pub fn per_core() -> Arc<Argon2Gate> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Argon2Gate::with_limit(cores)
    }

    pub fn with_limit(limit: usize) -> Arc<Argon2Gate> {
        Arc::new(Argon2Gate {
            limit,
            busy: AtomicUsize::new(0),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A free slot, or `None` when all are taken.
    pub fn try_enter(self: &Arc<Self>) -> Option<Slot> {
        self.busy
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(self)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Run `work` (argon2) on the blocking pool inside a slot; `Err(busy page)` when none is free.
pub async fn run<T: Send + 'static>(
    gate: &Arc<Argon2Gate>,
    work: impl FnOnce() -> T + Send + 'static,
) -> poem::Result<T> {
    let slot = gate.try_enter().ok_or_else(super::page::busy)?;
    run_in(slot, work).await
}

/// Run `work` on the blocking pool, holding `slot` until it is done.
pub async fn run_in<T: Send + 'static>(
    slot: Slot,
    work: impl FnOnce() -> T + Send + 'static,
) -> poem::Result<T> {
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(super::page::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_freed_on_drop() {
        let gate = Argon2Gate::with_limit(2);
        let a = gate.try_enter().expect("first");
        let _b = gate.try_enter().expect("second");
        assert!(gate.try_enter().is_none(), "full");
        drop(a);
        assert!(gate.try_enter().is_some(), "a slot came back");
    }
}
