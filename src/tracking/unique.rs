//! The unique-click window: was there a click from this IP + user agent on this offer and
//! partner in the previous 24 hours? Decided in memory, bounded, rebuilt from the last 24
//! hours of clicks at start so a restart does not count anyone twice. A visitor is
//! `domain::click::visitor` under the store's key: the integer each click stores, so the
//! rebuild reads two integers per click and hashes nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::click::visitor;

pub const WINDOW_SECS: i64 = 24 * 3600;

/// Visitors are already keyed SipHash values (no one can aim them at a bucket without the
/// store's key): hashing them again only slows the start-up rebuild. One multiply spreads the
/// 47 bits over the 64 the table's buckets and tags are taken from.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Visitors = HashMap<i64, i64, BuildHasherDefault<Spread>>;

pub struct UniqueWindow {
    key: [u8; 16],
    max_entries: usize,
    seen: Mutex<Visitors>,
    /// Visits recorded so far: the snapshot job writes when this has moved.
    visits: AtomicU64,
}

/// A saved window: magic, the key's fingerprint, when it was taken, the count, then
/// (visitor, last seen) pairs, then a checksum of all that. Little-endian.
const MAGIC: &[u8; 8] = b"TRCKUW01";

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
            seen: Mutex::new(Visitors::default()),
            visits: AtomicU64::new(0),
        }
    }

    /// Visits recorded so far (by `visit` and `visit_as`).
    pub fn visits(&self) -> u64 {
        self.visits.load(Ordering::Relaxed)
    }

    fn fingerprint(&self) -> u64 {
        visitor(&self.key, -1, -1, "unique-window", "snapshot") as u64
    }

    /// Save the window to `path` as of `taken_at`: a copy of the table taken under the lock
    /// (a memcpy: the click path waits a few ms at most), written beside and renamed over, so
    /// a reader (or a kill) never sees half a file. How many visitors it holds.
    pub fn save(&self, path: &Path, taken_at: i64) -> std::io::Result<usize> {
        let copy = self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut buf = Vec::with_capacity(40 + 16 * copy.len());
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&self.fingerprint().to_le_bytes());
        buf.extend_from_slice(&taken_at.to_le_bytes());
        buf.extend_from_slice(&(copy.len() as u64).to_le_bytes());
        for (k, ts) in &copy {
            buf.extend_from_slice(&k.to_le_bytes());
            buf.extend_from_slice(&ts.to_le_bytes());
        }
        let sum = checksum(&buf);
        buf.extend_from_slice(&sum.to_le_bytes());
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&buf)?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        Ok(copy.len())
    }

    /// Fill the window from a file `save` wrote under this key; when it was taken. `None`
    /// (and nothing loaded) when there is none, it is torn or of another key, or older than
    /// the window at `now`.
    pub fn load(&self, path: &Path, now: i64) -> Option<i64> {
        let buf = std::fs::read(path).ok()?;
        let word = |i: usize| -> Option<i64> {
            Some(i64::from_le_bytes(buf.get(i..i + 8)?.try_into().ok()?))
        };
        if buf.len() < 40 || &buf[..8] != MAGIC || word(8)? as u64 != self.fingerprint() {
            return None;
        }
        let (taken_at, n) = (word(16)?, word(24)? as usize);
        let end = 32usize.checked_add(n.checked_mul(16)?)?;
        if buf.len() != end + 8 || checksum(&buf[..end]) != word(end)? as u64 {
            return None;
        }
        if now - taken_at >= WINDOW_SECS {
            return None;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.reserve(n.min(self.max_entries));
        for i in 0..n {
            let (k, ts) = (word(32 + 16 * i)?, word(40 + 16 * i)?);
            if now - ts < WINDOW_SECS && seen.len() < self.max_entries {
                seen.insert(k, ts);
            }
        }
        Some(taken_at)
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
        self.visits.fetch_add(1, Ordering::Relaxed);
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

/// SipHash-1-3 under a zero key: catches a torn or damaged file, not an adversary.
fn checksum(bytes: &[u8]) -> u64 {
    let mut h = siphasher::sip::SipHasher13::new();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_window_loads_under_its_key_only_and_not_when_torn_or_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w");
        let w = UniqueWindow::with_key(100, [3; 16]);
        assert!(w.visit(1, 2, "1.1.1.1", "ua", 1000));
        assert!(w.visit(1, 2, "2.2.2.2", "ua", 1010));
        assert_eq!(w.save(&path, 1020).unwrap(), 2);
        let back = UniqueWindow::with_key(100, [3; 16]);
        assert_eq!(back.load(&path, 1030), Some(1020));
        assert!(
            !back.visit(1, 2, "1.1.1.1", "ua", 1040),
            "seen before the save"
        );
        assert!(back.visit(1, 2, "3.3.3.3", "ua", 1040));
        assert_eq!(UniqueWindow::with_key(100, [4; 16]).load(&path, 1030), None);
        assert_eq!(
            UniqueWindow::with_key(100, [3; 16]).load(&path, 1020 + WINDOW_SECS),
            None
        );
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(UniqueWindow::with_key(100, [3; 16]).load(&path, 1030), None);
        std::fs::write(&path, &bytes[..30]).unwrap();
        assert_eq!(UniqueWindow::with_key(100, [3; 16]).load(&path, 1030), None);
    }

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
