//! A click as it is recorded: who sent the visitor (offer, partner, sub ids) and who the
//! visitor was (IP, user agent, referer), with the unique-click decision already taken.

use std::sync::Arc;

use super::ids::{BrandId, ClickCursor};

#[derive(Debug, Clone)]
pub struct ClickRow {
    pub id: String,
    pub brand_id: BrandId,
    pub offer_id: i64,
    pub partner_id: i64,
    /// The offer's currency (fixed for an offer's life), for the rollups.
    pub currency: Arc<str>,
    pub created_at: i64,
    pub subs: [Option<String>; 5],
    pub ip: String,
    pub user_agent: String,
    pub referer: Option<String>,
    pub is_unique: bool,
    /// `visitor(key, offer, partner, ip, user agent)`: what the unique-click window keys on,
    /// stored so the window is rebuilt at start from one integer per click.
    pub visitor: i64,
}

/// A click as read back: what the API's `Click` and the clicks CSV show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub id: String,
    pub offer_id: i64,
    pub partner_id: i64,
    pub created_at: i64,
    pub subs: [Option<String>; 5],
    pub ip: String,
    pub user_agent: String,
    pub referer: Option<String>,
    pub is_unique: bool,
}

impl Click {
    /// Where a page that ends with this click ends.
    pub fn cursor(&self) -> ClickCursor {
        ClickCursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

/// The 16 bytes a click id is stored as: `Some` only for a ULID in canonical form (it formats
/// back to the very same text); anything else is stored as text.
pub fn id_bytes(id: &str) -> Option<[u8; 16]> {
    let u = ulid::Ulid::from_string(id).ok()?;
    (u.to_string() == id).then(|| u.to_bytes())
}

/// The text of a stored 16-byte id.
pub fn id_text(bytes: &[u8]) -> Option<String> {
    let b: [u8; 16] = bytes.try_into().ok()?;
    Some(ulid::Ulid::from_bytes(b).to_string())
}

/// The second a ULID was made in: a click's `created_at` (the ids are made from the clock
/// the click is timed by), which makes the id alone enough to find the row.
pub fn id_second(bytes: &[u8; 16]) -> i64 {
    (ulid::Ulid::from_bytes(*bytes).timestamp_ms() / 1000) as i64
}

/// An IP as stored: 4 or 16 bytes, nothing for "" (unknown); `None` for text that doesn't
/// come back from its bytes exactly as it is (kept as text).
pub fn ip_bytes(ip: &str) -> Option<Vec<u8>> {
    if ip.is_empty() {
        return Some(Vec::new());
    }
    let addr: std::net::IpAddr = ip.parse().ok()?;
    if addr.to_string() != ip {
        return None;
    }
    Some(match addr {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    })
}

/// The text of stored IP bytes.
pub fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        0 => Some(String::new()),
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// The visitor of a click: SipHash-1-3 under the store's own key of (offer, partner, IP,
/// user agent), cut to 47 bits so SQLite stores it in 6 bytes (a false "seen before" among a
/// million visitors of the window: about one in 10^8).
pub fn visitor(key: &[u8; 16], offer: i64, partner: i64, ip: &str, ua: &str) -> i64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher13::new_with_key(key);
    h.write_i64(offer);
    h.write_i64(partner);
    h.write_usize(ip.len());
    h.write(ip.as_bytes());
    h.write(ua.as_bytes());
    (h.finish() & ((1 << 47) - 1)) as i64
}

/// The lookup key of a user agent or referer in the text dictionary: the first 8 bytes of its
/// SHA-256 (stable, and no one can make many texts share one).
pub fn text_hash(text: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(text.as_bytes());
    i64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_ips_come_back_as_the_same_text() {
        let id = "01JDQ7ZK3M8XW2V5T9R4B6N1CE";
        let b = id_bytes(id).unwrap();
        assert_eq!(id_text(&b).unwrap(), id);
        assert_eq!(
            id_bytes("01jdq7zk3m8xw2v5t9r4b6n1ce"),
            None,
            "not canonical"
        );
        assert_eq!(id_bytes("01A"), None);
        for ip in ["10.1.2.3", "::1", "2001:db8::1", "::ffff:1.2.3.4", ""] {
            assert_eq!(ip_text(&ip_bytes(ip).unwrap()).unwrap(), ip);
        }
        for odd in ["2001:DB8::1", "010.1.2.3", "unknown", " 1.2.3.4"] {
            assert_eq!(ip_bytes(odd), None, "{odd}");
        }
        assert_eq!(ip_bytes("1.2.3.4").unwrap().len(), 4);
    }

    #[test]
    fn visitors_fit_in_47_bits_and_differ() {
        let k = [7u8; 16];
        let a = visitor(&k, 1, 2, "1.1.1.1", "ua");
        assert!((0..1 << 47).contains(&a));
        assert_eq!(a, visitor(&k, 1, 2, "1.1.1.1", "ua"));
        assert_ne!(a, visitor(&k, 1, 3, "1.1.1.1", "ua"));
        assert_ne!(a, visitor(&k, 1, 2, "1.1.1.1", "ub"));
        assert_ne!(a, visitor(&[8u8; 16], 1, 2, "1.1.1.1", "ua"));
        // The IP's length is hashed: moving a byte between IP and user agent changes it.
        assert_ne!(
            visitor(&k, 1, 2, "1.1.1.1", "1ua"),
            visitor(&k, 1, 2, "1.1.1.11", "ua")
        );
    }
}
