//! Failed sign-ins, counted per account and per client IP in fixed windows. In memory: a
//! restart forgets them, which costs an attacker a restart they cannot cause.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long failures are remembered, and how many each key may have in that time.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Per account: a few typos are fine, guessing is not.
pub const ACCOUNT_LIMIT: u32 = 5;
/// Per IP: higher, so one office behind NAT does not lock itself out as fast, but still far
/// too low for spraying passwords over many accounts.
pub const IP_LIMIT: u32 = 20;
/// Past this many tracked keys, expired ones are dropped (bounds memory under a flood).
const PRUNE_AT: usize = 10_000;

#[derive(Hash, PartialEq, Eq, Clone)]
enum Key {
    Account(String),
    Ip(String),
}

#[derive(Clone, Copy)]
struct Window {
    start: i64,
    failures: u32,
}

#[derive(Default)]
pub struct Throttle {
    seen: Mutex<HashMap<Key, Window>>,
}

impl Throttle {
    /// Check and count a sign-in attempt in one step, before the password is verified: parallel
    /// attempts can't all pass the check before any of them is counted. A success then clears
    /// the account's count with [`Throttle::succeeded`].
    pub fn attempt(&self, email: &str, ip: &str, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if !under_limits(&seen, email, ip, now) {
            return false;
        }
        count(&mut seen, email, ip, now);
        true
    }

    /// A correct password clears the account's count (not the IP's: one good account must not
    /// reset a spray over others).
    pub fn succeeded(&self, email: &str) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&Key::Account(email.to_string()));
    }
}

fn under_limits(seen: &HashMap<Key, Window>, email: &str, ip: &str, now: i64) -> bool {
    let under = |k: Key, limit: u32| {
        seen.get(&k)
            .is_none_or(|w| now - w.start >= WINDOW_SECS || w.failures < limit)
    };
    under(Key::Account(email.to_string()), ACCOUNT_LIMIT)
        && under(Key::Ip(ip.to_string()), IP_LIMIT)
}

fn count(seen: &mut HashMap<Key, Window>, email: &str, ip: &str, now: i64) {
    if seen.len() >= PRUNE_AT {
        seen.retain(|_, w| now - w.start < WINDOW_SECS);
    }
    for k in [Key::Account(email.to_string()), Key::Ip(ip.to_string())] {
        let w = seen.entry(k).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now - w.start >= WINDOW_SECS {
            *w = Window {
                start: now,
                failures: 0,
            };
        }
        w.failures += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_limit_then_window_expiry() {
        let t = Throttle::default();
        for _ in 0..ACCOUNT_LIMIT {
            assert!(t.attempt("a@x.io", "1.1.1.1", 100));
        }
        assert!(!t.attempt("a@x.io", "1.1.1.1", 100));
        assert!(
            !t.attempt("a@x.io", "2.2.2.2", 100),
            "the account is locked from any IP"
        );
        assert!(
            t.attempt("b@x.io", "1.1.1.1", 100),
            "other accounts from the IP are not"
        );
        assert!(t.attempt("a@x.io", "1.1.1.1", 100 + WINDOW_SECS));
    }

    #[test]
    fn attempts_are_counted_before_the_check_of_the_next() {
        let t = Throttle::default();
        let passed = (0..3 * ACCOUNT_LIMIT)
            .filter(|_| t.attempt("a@x.io", "1.1.1.1", 100))
            .count();
        assert_eq!(passed as u32, ACCOUNT_LIMIT);
        t.succeeded("a@x.io");
        assert!(
            t.attempt("a@x.io", "1.1.1.1", 100),
            "a success clears the account"
        );
    }

    #[test]
    fn ip_limit_spans_accounts_and_success_clears_only_the_account() {
        let t = Throttle::default();
        for i in 0..IP_LIMIT {
            assert!(t.attempt(&format!("u{i}@x.io"), "9.9.9.9", 5));
        }
        assert!(!t.attempt("new@x.io", "9.9.9.9", 5));
        assert!(t.attempt("new@x.io", "8.8.8.8", 5));
        assert!(t.attempt("c@x.io", "7.7.7.7", 5));
        t.succeeded("u0@x.io");
        assert!(!t.attempt("u0@x.io", "9.9.9.9", 5));
    }
}
