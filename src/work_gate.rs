//! A bound on expensive CPU work running at once (argon2 today: each hash or verify takes a CPU
//! and 19 MiB for a while). Unbounded, a burst queues on the blocking pool, and the memory glibc
//! hands out for it stays resident afterwards. Past the bound work is refused at once, never
//! queued; the HTTP layer answers that with a 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct WorkGate {
    limit: usize,
    busy: AtomicUsize,
}

/// One computation's right to run; the slot frees when this drops. Move it into the
/// blocking task, so a client that hangs up does not free the slot while the work goes on.
pub struct Slot(Arc<WorkGate>);

impl WorkGate {
    /// About one slot per core: more would only make each computation slower.
    pub fn per_core() -> Arc<WorkGate> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        WorkGate::with_limit(cores)
    }

    pub fn with_limit(limit: usize) -> Arc<WorkGate> {
        Arc::new(WorkGate {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_freed_on_drop() {
        let gate = WorkGate::with_limit(2);
        let a = gate.try_enter().expect("first");
        let _b = gate.try_enter().expect("second");
        assert!(gate.try_enter().is_none(), "full");
        drop(a);
        assert!(gate.try_enter().is_some(), "a slot came back");
    }
}
