//! Failed sign-ins, with exponential backoff rather than a lock. Three counts, each with a
//! few free failures, after which every further failure doubles the wait before the next
//! attempt (from [`FIRST_WAIT_SECS`] up to [`MAX_WAIT_SECS`]):
//!
//! - per (account, client IP): someone guessing one account from one address;
//! - per client IP, over all accounts: spraying common passwords over many accounts;
//! - per account, over all addresses: guessing from many addresses. A browser holding the
//!   account's device cookie (see `device`), or an address that has signed in to the account
//!   before, is exempt from this one, so strangers elsewhere can't keep the admin out.
//!
//! A correct password clears its (account, IP) count and is not counted against the IP or the
//! account. "Account" is the email together with a fingerprint of its stored password hash
//! ([`account_key`]): once the password changes (`trcker admin reset-password` in another
//! process included) the account's counts start afresh, with nothing to persist or signal.
//!
//! In memory: a restart forgets the counts, which costs an attacker a restart they cannot
//! cause. Memory is bounded by [`CAPACITY`] entries of fixed size.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Free failures per (account, IP): a few typos cost nothing.
pub const FREE_PER_ACCOUNT_AND_IP: u32 = 5;
/// Free failures per IP over all accounts: higher, so an office behind one NAT address does not
/// slow itself down over a few typos, but far too few for spraying passwords.
pub const FREE_PER_IP: u32 = 20;
/// Free failures per account over all IPs: only many addresses together reach this.
pub const FREE_PER_ACCOUNT: u32 = 50;
/// The wait after the first failure past the free ones; it doubles with each further one.
pub const FIRST_WAIT_SECS: i64 = 30;
pub const MAX_WAIT_SECS: i64 = 15 * 60;
/// A count without a new failure for this long is forgotten.
pub const FORGET_AFTER_SECS: i64 = 24 * 3600;
/// The most entries kept (about 100 bytes each); past it, forgotten and harmless ones go.
pub const CAPACITY: usize = 100_000;

/// Who signs in: a hash of the email and the password hash it has now (`None` for an email
/// with no account, which is throttled just the same, so timing and refusals reveal nothing).
pub fn account_key(email: &str, password_hash: Option<&str>) -> AccountKey {
    let mut h = Sha256::new();
    h.update(email.as_bytes());
    h.update(b"\n");
    h.update(password_hash.unwrap_or("").as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&h.finalize()[..16]);
    AccountKey(k)
}

#[derive(Hash, PartialEq, Eq, Clone, Copy, Debug)]
pub struct AccountKey([u8; 16]);

#[derive(Hash, PartialEq, Eq, Clone, Debug)]
enum Key {
    Pair(AccountKey, String),
    Ip(String),
    Account(AccountKey),
}

impl Key {
    fn free(&self) -> u32 {
        match self {
            Key::Pair(..) => FREE_PER_ACCOUNT_AND_IP,
            Key::Ip(_) => FREE_PER_IP,
            Key::Account(_) => FREE_PER_ACCOUNT,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Failures {
    count: u32,
    /// When the last failure was counted.
    last: i64,
    /// (Pair entries only) this address has signed in to this account before.
    signed_in_before: bool,
}

/// How long after the last of `count` failures the next attempt must wait.
pub fn wait_after(count: u32, free: u32) -> i64 {
    if count < free {
        return 0;
    }
    let doublings = (count - free).min(20);
    (FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS)
}

impl Failures {
    fn forgotten(&self, now: i64) -> bool {
        now - self.last >= FORGET_AFTER_SECS
    }

    fn waiting(&self, free: u32, now: i64) -> bool {
        !self.forgotten(now) && now - self.last < wait_after(self.count, free)
    }
}

/// An attempt let through and counted as a failure in advance (so parallel guesses cannot all
/// pass the check before any is counted). Settle it with [`Throttle::succeeded`] or
/// [`Throttle::not_tried`]; dropping it leaves the failure counted.
#[must_use]
pub struct Attempt {
    account: AccountKey,
    ip: String,
    at: i64,
    /// The `last` each count had before this attempt, restored when it is taken back.
    before: [Option<i64>; 3],
}

#[derive(Default)]
pub struct Throttle {
    seen: Mutex<HashMap<Key, Failures>>,
}

impl Throttle {
    /// Let an attempt through (counted as a failure until settled) or `None` while one of its
    /// counts makes it wait. `trusted_device`: the browser holds the account's device cookie.
    pub fn attempt(
        &self,
        account: AccountKey,
        ip: &str,
        trusted_device: bool,
        now: i64,
    ) -> Option<Attempt> {
        let mut seen = self.lock();
        let keys = keys(account, ip);
        let get = |k: &Key| seen.get(k).copied().unwrap_or_default();
        let pair = get(&keys[0]);
        let exempt = trusted_device || pair.signed_in_before;
        for (i, k) in keys.iter().enumerate() {
            if i == 2 && exempt {
                continue;
            }
            if get(k).waiting(k.free(), now) {
                return None;
            }
        }
        make_room(&mut seen, now);
        let mut before = [None; 3];
        for (i, k) in keys.into_iter().enumerate() {
            let f = seen.entry(k).or_default();
            before[i] = Some(f.last);
            if f.forgotten(now) {
                f.count = 0;
            }
            f.count += 1;
            f.last = now;
        }
        Some(Attempt {
            account,
            ip: ip.to_string(),
            at: now,
            before,
        })
    }

    /// A correct password: the (account, IP) count is cleared and the address remembered as
    /// one that signs in to the account; the IP's and the account's counts are as before.
    pub fn succeeded(&self, a: Attempt) {
        let mut seen = self.lock();
        let [pair, ip, account] = keys(a.account, &a.ip);
        seen.insert(
            pair,
            Failures {
                count: 0,
                last: a.at,
                signed_in_before: true,
            },
        );
        take_back(&mut seen, ip, a.at, a.before[1]);
        take_back(&mut seen, account, a.at, a.before[2]);
    }

    /// The password was never checked (the server was busy): the attempt counts for nothing.
    pub fn not_tried(&self, a: Attempt) {
        let mut seen = self.lock();
        for (k, before) in keys(a.account, &a.ip).into_iter().zip(a.before) {
            take_back(&mut seen, k, a.at, before);
        }
    }

    /// How many entries are kept (for tests of the memory bound).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Failures>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn keys(account: AccountKey, ip: &str) -> [Key; 3] {
    [
        Key::Pair(account, ip.to_string()),
        Key::Ip(ip.to_string()),
        Key::Account(account),
    ]
}

/// Undo one counted failure. `last` goes back to what it was unless another failure was
/// counted since, so a success or a busy refusal never lengthens a wait.
fn take_back(seen: &mut HashMap<Key, Failures>, k: Key, at: i64, before: Option<i64>) {
    if let Some(f) = seen.get_mut(&k) {
        f.count = f.count.saturating_sub(1);
        if f.last == at
            && let Some(b) = before
        {
            f.last = b;
        }
        if f.count == 0 && !f.signed_in_before {
            seen.remove(&k);
        }
    }
}

/// Keep the map under [`CAPACITY`]: first drop what is forgotten or still within its free
/// failures (losing those costs nobody more than a few free tries again), keeping addresses
/// known to sign in; if a flood of distinct keys, each past its free failures, still fills it,
/// start afresh rather than grow.
fn make_room(seen: &mut HashMap<Key, Failures>, now: i64) {
    if seen.len() + 3 <= CAPACITY {
        return;
    }
    seen.retain(|k, f| f.signed_in_before || (!f.forgotten(now) && f.count >= k.free()));
    if seen.len() + 3 > CAPACITY / 2 {
        tracing::warn!(
            entries = seen.len(),
            "sign-in throttle is full of distinct failing clients; starting afresh"
        );
        seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(email: &str) -> AccountKey {
        account_key(email, Some("$argon2id$hash-one"))
    }

    /// `n` failed attempts (each let through, then left counted).
    fn fail(t: &Throttle, a: AccountKey, ip: &str, n: u32, now: i64) {
        for i in 0..n {
            assert!(
                t.attempt(a, ip, false, now).is_some(),
                "failure {i} allowed"
            );
        }
    }

    #[test]
    fn free_failures_then_doubling_waits_up_to_the_cap() {
        let t = Throttle::default();
        let a = acct("a@x.io");
        fail(&t, a, "1.1.1.1", FREE_PER_ACCOUNT_AND_IP, 100);
        assert!(t.attempt(a, "1.1.1.1", false, 100).is_none(), "waits now");
        assert!(
            t.attempt(a, "1.1.1.1", false, 100 + FIRST_WAIT_SECS - 1)
                .is_none()
        );
        let mut now = 100 + FIRST_WAIT_SECS;
        let mut wait = FIRST_WAIT_SECS;
        // Each further failure doubles the wait, up to the cap.
        for _ in 0..8 {
            assert!(t.attempt(a, "1.1.1.1", false, now).is_some(), "at {now}");
            wait = (wait * 2).min(MAX_WAIT_SECS);
            assert!(t.attempt(a, "1.1.1.1", false, now + wait - 1).is_none());
            now += wait;
        }
        assert_eq!(wait, MAX_WAIT_SECS, "capped");
        assert_eq!(wait_after(100, 5), MAX_WAIT_SECS);
        assert_eq!(wait_after(4, 5), 0);
    }

    #[test]
    fn waits_are_refused_without_counting_and_forgotten_after_a_day() {
        let t = Throttle::default();
        let a = acct("a@x.io");
        fail(&t, a, "1.1.1.1", FREE_PER_ACCOUNT_AND_IP, 0);
        for _ in 0..50 {
            assert!(t.attempt(a, "1.1.1.1", false, 1).is_none());
        }
        // Refused attempts did not lengthen the wait.
        assert!(t.attempt(a, "1.1.1.1", false, FIRST_WAIT_SECS).is_some());
        let later = FIRST_WAIT_SECS + FORGET_AFTER_SECS;
        fail(&t, a, "1.1.1.1", FREE_PER_ACCOUNT_AND_IP, later);
    }

    #[test]
    fn a_correct_password_clears_the_pair_and_costs_the_ip_nothing() {
        let t = Throttle::default();
        let a = acct("a@x.io");
        fail(&t, a, "1.1.1.1", FREE_PER_ACCOUNT_AND_IP - 1, 10);
        let ok = t.attempt(a, "1.1.1.1", false, 10).unwrap();
        t.succeeded(ok);
        fail(&t, a, "1.1.1.1", FREE_PER_ACCOUNT_AND_IP, 10);
        // Many successes from one IP never use up its budget.
        let t = Throttle::default();
        for _ in 0..10 * FREE_PER_IP {
            let ok = t
                .attempt(a, "2.2.2.2", false, 10)
                .expect("a success is let through");
            t.succeeded(ok);
        }
        fail(&t, acct("b@x.io"), "2.2.2.2", FREE_PER_ACCOUNT_AND_IP, 10);
    }

    #[test]
    fn a_success_does_not_lengthen_a_running_wait() {
        let t = Throttle::default();
        for i in 0..FREE_PER_IP {
            fail(&t, acct(&format!("u{i}@x.io")), "3.3.3.3", 1, 0);
        }
        let a = acct("a@x.io");
        assert!(t.attempt(a, "3.3.3.3", false, 1).is_none(), "IP waits");
        let ok = t.attempt(a, "3.3.3.3", false, FIRST_WAIT_SECS).unwrap();
        t.succeeded(ok);
        // The IP's last failure is still the one at 0, whose wait is over.
        let ok = t.attempt(a, "3.3.3.3", false, FIRST_WAIT_SECS).unwrap();
        t.succeeded(ok);
    }

    #[test]
    fn the_ip_count_spans_accounts() {
        let t = Throttle::default();
        for i in 0..FREE_PER_IP {
            fail(&t, acct(&format!("u{i}@x.io")), "9.9.9.9", 1, 5);
        }
        assert!(t.attempt(acct("new@x.io"), "9.9.9.9", false, 5).is_none());
        assert!(t.attempt(acct("new@x.io"), "8.8.8.8", false, 5).is_some());
    }

    #[test]
    fn strangers_elsewhere_slow_the_account_but_not_its_known_browser_or_address() {
        let t = Throttle::default();
        let a = acct("admin@x.io");
        // The admin signed in from 1.1.1.1 once.
        t.succeeded(t.attempt(a, "1.1.1.1", false, 0).unwrap());
        // Strangers from many addresses, a few failures each.
        let per_ip = FREE_PER_ACCOUNT_AND_IP - 1;
        for i in 0..FREE_PER_ACCOUNT {
            fail(&t, a, &format!("10.0.0.{}", i / per_ip), 1, 1);
        }
        assert!(
            t.attempt(a, "10.9.9.9", false, 1).is_none(),
            "a new address waits on the account-wide count"
        );
        // The admin's address and a browser with the device cookie do not.
        t.succeeded(t.attempt(a, "1.1.1.1", false, 1).expect("known address"));
        t.succeeded(t.attempt(a, "7.7.7.7", true, 1).expect("device cookie"));
    }

    #[test]
    fn a_new_password_hash_starts_the_account_afresh() {
        let t = Throttle::default();
        let old = account_key("a@x.io", Some("$argon2id$old"));
        fail(&t, old, "1.1.1.1", FREE_PER_ACCOUNT_AND_IP, 0);
        assert!(t.attempt(old, "1.1.1.1", false, 0).is_none());
        let new = account_key("a@x.io", Some("$argon2id$new"));
        assert!(t.attempt(new, "1.1.1.1", false, 0).is_some());
    }

    #[test]
    fn not_tried_takes_the_attempt_back() {
        let t = Throttle::default();
        let a = acct("a@x.io");
        for _ in 0..3 * FREE_PER_ACCOUNT_AND_IP {
            t.not_tried(t.attempt(a, "1.1.1.1", false, 0).unwrap());
        }
        assert_eq!(t.tracked(), 0);
        fail(&t, a, "1.1.1.1", FREE_PER_ACCOUNT_AND_IP, 0);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_distinct_clients() {
        let t = Throttle::default();
        let admin = acct("admin@x.io");
        t.succeeded(t.attempt(admin, "1.1.1.1", false, 0).unwrap());
        for i in 0..(CAPACITY as u32) {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            let _ = t.attempt(account_key(&format!("u{i}@x.io"), None), &ip, false, 1);
            assert!(t.tracked() <= CAPACITY);
        }
        // What matters survived the pruning: the address the admin signs in from.
        let seen = t.lock();
        assert!(seen.get(&Key::Pair(admin, "1.1.1.1".into())).is_some());
    }
}
