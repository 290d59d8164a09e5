//! Click ids: ULIDs that sort as strings in creation order and can't be guessed from a
//! neighbour.
//!
//! `ulid::Generator` adds 1 to the random part for each id of the same millisecond, so one
//! visitor's id would name the next ones. Here the first id of a millisecond gets 80 fresh
//! random bits and each later one adds a random 64-bit step: still increasing, and a
//! neighbour is 2^64 guesses away.

use std::sync::Mutex;

const RANDOM_BITS: u32 = 80;
const RANDOM_MAX: u128 = (1 << RANDOM_BITS) - 1;

pub struct ClickIds {
    last: Mutex<(u64, u128)>,
}

fn random_u128() -> u128 {
    super::random::per_thread_u128()
}

impl ClickIds {
    pub const fn new() -> Self {
        ClickIds {
            last: Mutex::new((0, 0)),
        }
    }

    /// The next id for a click at `now_ms` (milliseconds since the epoch).
    pub fn next(&self, now_ms: u64) -> ulid::Ulid {
        let r = random_u128();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let (mut ms, prev) = *last;
        let mut random = if now_ms > ms {
            ms = now_ms;
            r & RANDOM_MAX
        } else {
            // Same millisecond (or the clock stepped back): step up from the last id.
            let step = u128::from(r as u64 | 1);
            prev + step
        };
        if random > RANDOM_MAX {
            // This millisecond is used up: borrow the next one, so order still holds.
            ms += 1;
            random = (r >> 64) & RANDOM_MAX;
        }
        *last = (ms, random);
        ulid::Ulid::from_parts(ms, random)
    }
}

impl Default for ClickIds {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increasing_and_far_apart_within_a_millisecond() {
        let ids = ClickIds::new();
        let made: Vec<ulid::Ulid> = (0..10_000).map(|_| ids.next(1_800_000_000_000)).collect();
        for w in made.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].to_string() < w[1].to_string(), "sorts as text");
            // A millisecond that runs out borrows the next one and starts afresh.
            if w[0].timestamp_ms() == w[1].timestamp_ms() {
                assert!(
                    w[1].random() - w[0].random() > 1 << 20,
                    "a neighbour is not +1"
                );
            }
        }
    }

    #[test]
    fn a_full_millisecond_borrows_the_next() {
        let ids = ClickIds::new();
        *ids.last.lock().unwrap() = (1_800_000_000_000, RANDOM_MAX - 1);
        let a = ulid::Ulid::from_parts(1_800_000_000_000, RANDOM_MAX - 1);
        let b = ids.next(1_800_000_000_000);
        assert!(a < b);
        assert_eq!(b.timestamp_ms(), 1_800_000_000_001);
    }

    #[test]
    fn a_new_millisecond_starts_fresh() {
        let ids = ClickIds::new();
        let a = ids.next(1_800_000_000_000);
        let b = ids.next(1_800_000_000_001);
        assert!(a < b);
        assert_eq!(b.timestamp_ms(), 1_800_000_000_001);
    }
}
