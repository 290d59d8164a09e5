//! The "device cookie" (OWASP, "Slow down online guessing attacks with device cookies"): a
//! browser that has signed in to an account gets a cookie naming that account, signed with a
//! key of this process. Such a browser is exempt from the account-wide delay of
//! [`super::throttle`], so many strangers failing against an account from many addresses
//! slow down themselves, not the admin's own browser. The key lives only in memory, like the
//! throttle's counts: a restart forgets both together.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::ids::random_token;

pub const DEVICE_COOKIE: &str = "trcker_device";
/// Long enough to cover an admin who signs in a few times a year.
pub const DEVICE_MAX_AGE_SECS: i64 = 365 * 24 * 3600;

pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    pub fn random() -> DeviceKey {
        DeviceKey(crate::domain::random::bytes::<32>())
    }

    fn mac(&self, email: &str, nonce: &str) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        // The separator cannot occur in a normalised email, so (email, nonce) splits one way.
        m.update(email.as_bytes());
        m.update(b"\n");
        m.update(nonce.as_bytes());
        crate::domain::random::hex(&m.finalize().into_bytes())
    }

    /// A new cookie value for `email` (normalised): `nonce.mac`, URL-safe.
    pub fn issue(&self, email: &str) -> String {
        let nonce = random_token(16);
        let mac = self.mac(email, &nonce);
        format!("{nonce}.{mac}")
    }

    /// Whether `cookie` is one [`DeviceKey::issue`] made for `email`.
    pub fn vouches_for(&self, email: &str, cookie: &str) -> bool {
        cookie.split_once('.').is_some_and(|(nonce, mac)| {
            crate::web::session::same_secret(mac, &self.mac(email, nonce))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_vouches_for_its_account_under_its_key_only() {
        let k = DeviceKey::random();
        let c = k.issue("a@x.io");
        assert!(k.vouches_for("a@x.io", &c));
        assert!(!k.vouches_for("b@x.io", &c));
        assert!(!DeviceKey::random().vouches_for("a@x.io", &c));
        assert!(!k.vouches_for("a@x.io", "forged.00"));
        assert!(!k.vouches_for("a@x.io", ""));
    }
}
