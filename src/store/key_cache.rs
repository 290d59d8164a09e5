//! Live API keys remembered in memory for a moment, so a request does not hand a key lookup to
//! a blocking thread (two thread switches and a pooled read) every time: at postback rates
//! that hand-off cost more than the lookup.
//!
//! Only live keys are remembered (an unknown key is looked up each time, so guessing can't
//! fill the map), each for `TTL`, and the map is bounded. Revoking through `KeyCache::revoke`
//! forgets every key at once, so a key revoked in this process stops working immediately; a
//! key revoked behind the server's back (another process writing the file) stops within
//! `TTL`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::StoreResult;
use super::keys::{self, KeyOwner};

const TTL: Duration = Duration::from_secs(2);
/// Far above the keys any brand uses at once; past it the map starts over.
const MAX_KEYS: usize = 4096;

#[derive(Default)]
pub struct KeyCache {
    live: Mutex<Live>,
}

#[derive(Default)]
struct Live {
    keys: HashMap<Vec<u8>, (KeyOwner, Instant)>,
    /// Moved by every revoke: a lookup that read the store before a revoke committed must
    /// not remember what it read after it.
    generation: u64,
}

impl KeyCache {
    /// The live key with this hash, if it was found live less than `TTL` ago.
    pub fn get(&self, hash: &[u8]) -> Option<KeyOwner> {
        self.lock()
            .keys
            .get(hash)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(owner, _)| owner.clone())
    }

    /// The live key with this hash, read from the store (and remembered when live, unless a
    /// revoke happened meanwhile).
    pub fn find_active(&self, conn: &Connection, hash: &[u8]) -> StoreResult<Option<KeyOwner>> {
        let generation = self.lock().generation;
        let owner = keys::find_active(conn, hash)?;
        if let Some(o) = &owner {
            let mut live = self.lock();
            if live.generation == generation {
                if live.keys.len() >= MAX_KEYS {
                    live.keys.clear();
                }
                live.keys.insert(hash.to_vec(), (o.clone(), Instant::now()));
            }
        }
        Ok(owner)
    }

    /// Revoke a key and forget every remembered one, so it stops working at once.
    pub fn revoke(&self, conn: &Connection, key_id: i64) -> StoreResult<()> {
        let r = keys::revoke(conn, key_id);
        // After the update: a lookup that read the key live before it can't remember it now.
        let mut live = self.lock();
        live.generation += 1;
        live.keys.clear();
        r
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (Connection, crate::domain::ids::BrandId) {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let brand = super::super::brands::create(&conn, "b").unwrap().id;
        (conn, brand)
    }

    #[test]
    fn a_revoked_key_is_forgotten_at_once_and_unknown_keys_are_not_remembered() {
        let (conn, brand) = db();
        let (key, full) = keys::create(&conn, brand, "k").unwrap();
        let hash = crate::domain::ids::hash_secret(&full);
        let cache = KeyCache::default();
        assert!(cache.get(&hash).is_none());
        assert_eq!(
            cache.find_active(&conn, &hash).unwrap().unwrap().key_id,
            key.id
        );
        assert_eq!(cache.get(&hash).unwrap().key_id, key.id);
        cache.revoke(&conn, key.id).unwrap();
        assert!(cache.get(&hash).is_none());
        assert!(cache.find_active(&conn, &hash).unwrap().is_none());
        assert!(cache.get(&hash).is_none());
        let unknown = crate::domain::ids::hash_secret("trk_nobody");
        assert!(cache.find_active(&conn, &unknown).unwrap().is_none());
        assert!(cache.lock().keys.is_empty());
    }
}
