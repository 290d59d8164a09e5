//! argon2 on the blocking pool, inside a slot of the process's [`WorkGate`]: past the bound a
//! sign-in is refused at once (a 503 page), never queued.

use std::sync::Arc;

use crate::work_gate::{Slot, WorkGate};

/// Run `work` (argon2) on the blocking pool inside a slot; `Err(busy page)` when none is free.
pub async fn run<T: Send + 'static>(
    gate: &Arc<WorkGate>,
    work: impl FnOnce() -> T + Send + 'static,
) -> poem::Result<T> {
    let slot = gate.try_enter().ok_or_else(crate::web::page::busy)?;
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
    .map_err(crate::web::page::internal)
}
