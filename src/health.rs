//! `/healthz`: can the store take a write right now? A `SELECT 1` answers yes for a database
//! deleted under the server (the open file lives on, unlinked) or on a read-only or full disk;
//! this asks what the writer knows instead, and proves a commit when none happened lately.

use std::time::Duration;

use poem::http::StatusCode;
use poem::web::Json;
use poem::{IntoResponse, Response};

use crate::state::AppState;
use crate::tracking::writer::WriteError;

/// A commit this recent (clicks under load commit many times a second) proves the store takes
/// writes; older, /healthz commits a one-row update itself. Keeps /healthz cheap under load.
const FRESH: Duration = Duration::from_secs(2);
/// A probe that waits longer than this behind the queue counts as a failure.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store can't take a write, or Ok.
pub async fn check(state: &AppState) -> Result<(), &'static str> {
    let writer = &state.writer;
    if !writer.alive() {
        return Err("the writer has stopped");
    }
    let status = writer.status();
    if let Some(reason) = status.failed() {
        return Err(reason);
    }
    // A stat: the writer checks per batch, but an idle server would not notice until a click.
    if let Err(reason) = status.check_file() {
        status.fail(reason);
        return Err(reason);
    }
    if status.last_commit_failed() {
        return Err("the last commit failed");
    }
    if status.since_last_ok().is_some_and(|d| d < FRESH) {
        return Ok(());
    }
    match tokio::time::timeout(PROBE_TIMEOUT, writer.probe()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(WriteError::Unavailable | WriteError::Store(_))) => Err("a test write failed"),
        Err(_) => Err("a test write timed out"),
    }
}

/// 200 `{"status":"ok"}` or 503 `{"status":"unavailable","reason":...}`.
pub async fn healthz(state: &AppState) -> Response {
    match check(state).await {
        Ok(()) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "reason": reason})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn an_idle_store_proves_a_write_and_a_stopped_writer_is_unhealthy() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(crate::Config::for_data_dir(dir.path().into())).unwrap();
        // No click yet: the probe's one-row update commits.
        assert_eq!(check(&state).await, Ok(()));
        assert!(state.writer.status().since_last_ok().is_some());
        let writer = state.writer.clone();
        tokio::task::spawn_blocking(move || writer.shutdown())
            .await
            .unwrap();
        assert_eq!(check(&state).await, Err("the writer has stopped"));
    }
}
