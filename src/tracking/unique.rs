//! The unique-click window: was there a click from this IP + user agent on this offer and
//! partner in the previous 24 hours? Decided in memory, bounded, rebuilt from the last 24
//! hours of clicks at start so a restart does not count anyone twice.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

pub const WINDOW_SECS: i64 = 24 * 3600;

pub struct UniqueWindow {
    hasher: RandomState,
    max_entries: usize,
    seen: Mutex<HashMap<u64, i64>>,
}

impl UniqueWindow {
    pub fn new(max_entries: usize) -> Self {
        UniqueWindow {
            hasher: RandomState::new(),
            max_entries,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, offer: i64, partner: i64, ip: &str, ua: &str) -> u64 {
        self.hasher.hash_one((offer, partner, ip, ua))
    }

    /// Record a visit at `ts`; true when it is the first in the window.
    pub fn visit(&self, offer: i64, partner: i64, ip: &str, ua: &str, ts: i64) -> bool {
        let k = self.key(offer, partner, ip, ua);
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
