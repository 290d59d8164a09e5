//! Per-key rate limit as a sliding log: a key never gets more than `limit` requests in any
//! 60-second window, which a fixed window or a token bucket with a full burst can't promise.
//! (governor's GCRA allows up to twice the quota within one minute after an idle period.)

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

pub struct RateLimiter {
    limit: u32,
    log: Mutex<HashMap<i64, VecDeque<Instant>>>,
}

/// What the `X-RateLimit-*` headers report.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the whole budget is available again.
    pub reset: u64,
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

impl RateLimiter {
    pub fn new(limit: u32) -> Self {
        RateLimiter {
            limit: limit.max(1),
            log: Mutex::new(HashMap::new()),
        }
    }

    /// Charge one request to `key`. `Err` carries the quota and the seconds to wait.
    pub fn check(&self, key: i64) -> Result<Quota, (Quota, u64)> {
        let now = Instant::now();
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() > 10_000 {
            log.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let q = log.entry(key).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        let used = q.len() as u32;
        if used >= self.limit {
            let oldest = *q.front().expect("a full log is not empty");
            let newest = *q.back().expect("a full log is not empty");
            let quota = Quota {
                limit: self.limit,
                remaining: 0,
                reset: ceil_secs((newest + WINDOW).duration_since(now)),
            };
            return Err((quota, ceil_secs((oldest + WINDOW).duration_since(now))));
        }
        q.push_back(now);
        Ok(Quota {
            limit: self.limit,
            remaining: self.limit - used - 1,
            reset: ceil_secs(WINDOW),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_exactly_the_limit() {
        let rl = RateLimiter::new(3);
        assert_eq!(rl.check(1).unwrap().remaining, 2);
        assert_eq!(rl.check(1).unwrap().remaining, 1);
        assert_eq!(rl.check(1).unwrap().remaining, 0);
        let (q, retry) = rl.check(1).unwrap_err();
        assert_eq!(q.remaining, 0);
        assert!((1..=60).contains(&retry));
        // Another key has its own budget.
        assert!(rl.check(2).is_ok());
    }
}
