//! Timestamps: unix seconds inside, RFC 3339 with `Z` outside.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

pub fn now() -> i64 {
    Utc::now().timestamp()
}

pub fn to_rfc3339(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Which end of a bare date a filter means.
#[derive(Clone, Copy)]
pub enum DateEdge {
    Start,
    End,
}

/// Parse a `from`/`to` filter: RFC 3339, or a date taken in `tz` (start or end of that day).
pub fn parse_instant(text: &str, edge: DateEdge, tz: Tz) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp());
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(match edge {
        DateEdge::Start => day_start(date, tz),
        DateEdge::End => day_start(date.succ_opt()?, tz) - 1,
    })
}

/// The first instant of a local date (the earliest valid time when midnight is skipped by DST).
pub fn day_start(date: NaiveDate, tz: Tz) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) => t.timestamp(),
        chrono::LocalResult::Ambiguous(a, _) => a.timestamp(),
        chrono::LocalResult::None => {
            // Midnight skipped by a DST jump: the day starts at the first instant that exists.
            let mut probe = midnight;
            loop {
                probe += chrono::Duration::minutes(15);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.timestamp();
                }
            }
        }
    }
}

pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}
