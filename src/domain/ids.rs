//! Identifiers and secrets: brand ids, API keys, list cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The brand (tenant) a row belongs to. Every store function over tenant data takes one, so
/// an unscoped query can't be written by passing a stray integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrandId(i64);

impl BrandId {
    pub const fn new(id: i64) -> BrandId {
        BrandId(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for BrandId {
    fn from(id: i64) -> BrandId {
        BrandId(id)
    }
}

impl std::fmt::Display for BrandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl rusqlite::types::ToSql for BrandId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

impl rusqlite::types::FromSql for BrandId {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        i64::column_result(v).map(BrandId)
    }
}

/// A freshly generated API key: the full text (shown once) and what is stored.
pub struct NewKey {
    pub full: String,
    pub prefix: String,
    pub hash: Vec<u8>,
}

/// Random URL-safe text of `bytes` bytes of entropy, from the OS CSPRNG.
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(super::random::vec(bytes))
}

/// `trk_` + 43 URL-safe characters (256 random bits).
pub fn generate_key() -> NewKey {
    let full = format!("trk_{}", random_token(32));
    NewKey {
        prefix: full[..12].to_string(),
        hash: hash_secret(&full),
        full,
    }
}

/// SHA-256 of a high-entropy secret (keys, session ids): fast to check, useless to reverse.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A well-formed key: the prefix and enough URL-safe characters.
pub fn looks_like_key(text: &str) -> bool {
    text.strip_prefix("trk_").is_some_and(|rest| {
        rest.len() >= 32
            && rest.len() <= 128
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Cursors are opaque to clients: the last id seen, encoded.
pub fn encode_cursor(last_id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{last_id}"))
}

pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("v1:")?.parse().ok().filter(|id| *id > 0)
}

/// Where a page of clicks ended. Clicks are listed newest first by time, then by id (an
/// index order, so a page never sorts a brand's clicks); the derived order is the same.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClickCursor {
    pub created_at: i64,
    pub id: String,
}

impl ClickCursor {
    /// Opaque to clients, like the other cursors.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("c1:{}:{}", self.created_at, self.id))
    }

    pub fn decode(cursor: &str) -> Option<ClickCursor> {
        let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (created_at, id) = text.strip_prefix("c1:")?.split_once(':')?;
        Some(ClickCursor {
            created_at: created_at.parse().ok()?,
            id: id.to_string(),
        })
        .filter(|c| !c.id.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_well_formed_and_distinct() {
        let a = generate_key();
        let b = generate_key();
        assert!(looks_like_key(&a.full));
        assert_ne!(a.full, b.full);
        assert_eq!(a.hash, hash_secret(&a.full));
        assert!(a.full.starts_with(&a.prefix));
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("garbage"), None);
        let c = ClickCursor {
            created_at: 1_793_491_200,
            id: "01JDQ7ZK3M8XW2V5T9R4B6N1CE".into(),
        };
        assert_eq!(ClickCursor::decode(&c.encode()), Some(c));
        assert_eq!(ClickCursor::decode(&encode_cursor(42)), None);
        assert_eq!(ClickCursor::decode("garbage"), None);
    }
}
