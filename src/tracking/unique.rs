//! The unique-click window: was there a click from this IP + user agent on this offer and
//! partner in the previous 24 hours? Decided in memory, bounded, rebuilt from the last 24
//! hours of clicks at start so a restart does not count anyone twice. A visitor is
//! `domain::click::visitor` under the store's key: the integer each click stores, so the
//! rebuild reads two integers per click and hashes nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::click::visitor;

pub const WINDOW_SECS: i64 = 24 * 3600;

pub struct UniqueWindow {
    key: [u8; 16],
    max_entries: usize,
    seen: Mutex<HashMap<i64, i64>>,
}

impl UniqueWindow {
    /// A window whose visitors are hashed under a key of its own (nothing to rebuild from).
    pub fn new(max_entries: usize) -> Self {
        Self::with_key(max_entries, crate::domain::random::bytes::<16>())
    }

    /// A window keyed as the store's clicks are (`store::clicks::visitor_key`).
    pub fn with_key(max_entries: usize, key: [u8; 16]) -> Self {
        UniqueWindow {
            key,
            max_entries,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The visitor a click of this IP and user agent on this offer and partner is.
    pub fn visitor(&self, offer: i64, partner: i64, ip: &str, ua: &str) -> i64 {
        visitor(&self.key, offer, partner, ip, ua)
    }

    /// Record a visit at `ts`; true when it is the first in the window.
    pub fn visit(&self, offer: i64, partner: i64, ip: &str, ua: &str, ts: i64) -> bool {
        self.visit_as(self.visitor(offer, partner, ip, ua), ts)
    }

    /// Record a visit of `visitor` (from `visitor`) at `ts`; true when it is the first in the
    /// window.
    pub fn visit_as(&self, k: i64, ts: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= self.max_entries && !seen.contains_key(&k) {
            seen.retain(|_, last| ts - *last < WINDOW_SECS);
            if seen.len() >= self.max_entries {
                // Still full of live visitors: forget half rather than grow without bound.
                // The cost is that some returning visitors count as unique again.
                let mut times: Vec<i64> = seen.values().copied().collect();
                let mid = times.len() / 2;
                let cut = *times.select_nth_unstable(mid).1;
                seen.retain(|_, last| *last > cut);
            }
        }
        match seen.insert(k, ts) {
            Some(prev) if ts - prev < WINDOW_SECS => {
                if prev > ts {
                    seen.insert(k, prev);
                }
                false
            }
            _ => true,
        }
    }

    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_visit_in_window_is_unique() {
        let w = UniqueWindow::new(100);
        assert!(w.visit(1, 2, "1.1.1.1", "ua", 1000));
        assert!(!w.visit(1, 2, "1.1.1.1", "ua", 2000));
        assert!(w.visit(1, 3, "1.1.1.1", "ua", 2000));
        assert!(w.visit(1, 2, "1.1.1.1", "other", 2000));
        assert!(w.visit(1, 2, "1.1.1.1", "ua", 2000 + WINDOW_SECS));
    }

    #[test]
    fn stays_bounded() {
        let w = UniqueWindow::new(1000);
        for i in 0..10_000 {
            w.visit(1, 1, &i.to_string(), "ua", 5000 + i);
        }
        assert!(w.len() <= 1000);
        // The prune forgets the oldest visitors, never the newest: the last one is still seen.
        assert!(!w.visit(1, 1, "9999", "ua", 5000 + 10_000));
        // And one forgotten long ago counts as unique again.
        assert!(w.visit(1, 1, "0", "ua", 5000 + 10_000));
    }
}
