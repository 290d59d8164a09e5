//! "Last used" of API keys, gathered in memory and written in one batch every few seconds,
//! so an API call never waits on a write for it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::db::Pool;
use crate::domain::time::now;

#[derive(Default)]
pub struct KeyUsage {
    seen: Mutex<HashMap<i64, i64>>,
}

impl KeyUsage {
    pub fn touch(&self, key_id: i64) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key_id, now());
    }

    /// Uses gathered since the last flush, not yet in the database (the settings page merges
    /// them in, so "last used" is current without a write per request).
    pub fn pending(&self) -> HashMap<i64, i64> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Write what was gathered since the last flush.
    pub fn flush(&self, pool: &Pool) {
        let seen: Vec<(i64, i64)> =
            std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        if seen.is_empty() {
            return;
        }
        let result = pool
            .get()
            .map_err(crate::store::StoreError::from)
            .and_then(|mut c| crate::store::keys::record_last_used(&mut c, &seen));
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record key usage");
        }
    }
}
