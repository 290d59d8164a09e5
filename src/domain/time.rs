//! Timestamps: unix seconds inside, RFC 3339 with `Z` outside.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

pub fn now() -> i64 {
    Utc::now().timestamp()
}

pub fn to_rfc3339(ts: i64) -> String {
    // `2026-12-01T18:00:00Z`: whole seconds, `Z`. Not `format(…)`, which parses its pattern
    // on every call (a few percent of a postback, whose answer and event carry four times).
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Which end of a bare date a filter means.
#[derive(Clone, Copy)]
pub enum DateEdge {
    Start,
    End,
}

/// Why a date or time filter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayError {
    /// Not `YYYY-MM-DD` (or RFC 3339 where a time is allowed): 400.
    Unparseable,
    /// Well-formed but outside `FIRST_DAY..=LAST_DAY`: 422.
    OutOfRange,
}

/// The earliest date a filter takes: nothing is tracked before the unix epoch.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

/// The latest: the last four-digit year, as RFC 3339 allows. Together they keep every local
/// midnight of every zone (offsets are under a day) far inside what chrono can represent;
/// chrono's own limits (year ±262143) panicked once a zone's offset pushed past them.
pub fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date")
}

/// The range of dates, for messages.
pub const DAY_RANGE: &str = "1970-01-01..9999-12-31";

/// A `YYYY-MM-DD` date within `first_day()..=last_day()`.
pub fn parse_day(text: &str) -> Result<NaiveDate, DayError> {
    let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
        // A date shape with a sign or a year past chrono's (`262143-01-01`) is a date out of
        // range, not garbage.
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let parts: Vec<&str> = unsigned.split('-').collect();
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        let shaped = parts.len() == 3
            && parts[0].len() >= 4
            && digits(parts[0], parts[0].len())
            && digits(parts[1], 2)
            && digits(parts[2], 2);
        return Err(
            if shaped && (unsigned.len() != text.len() || parts[0].len() > 4) {
                DayError::OutOfRange
            } else {
                DayError::Unparseable
            },
        );
    };
    if (first_day()..=last_day()).contains(&date) {
        Ok(date)
    } else {
        Err(DayError::OutOfRange)
    }
}

/// Parse a `from`/`to` filter: RFC 3339, or a date taken in `tz` (start or end of that day).
/// Both within the dates of `parse_day`.
pub fn parse_instant(text: &str, edge: DateEdge, tz: Tz) -> Result<i64, DayError> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        let day = dt.with_timezone(&Utc).date_naive();
        if !(first_day()..=last_day()).contains(&day) {
            return Err(DayError::OutOfRange);
        }
        return Ok(dt.timestamp());
    }
    let date = parse_day(text)?;
    Ok(match edge {
        DateEdge::Start => day_start(date, tz),
        DateEdge::End => day_start(date.succ_opt().ok_or(DayError::OutOfRange)?, tz) - 1,
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

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_whole_seconds_in_utc_with_a_z() {
        assert_eq!(super::to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::to_rfc3339(1_764_612_345), "2025-12-01T18:05:45Z");
        assert_eq!(super::to_rfc3339(946_684_799), "1999-12-31T23:59:59Z");
    }

    use super::*;

    #[test]
    fn days_are_bounded() {
        assert_eq!(parse_day("1970-01-01"), Ok(first_day()));
        assert_eq!(parse_day("9999-12-31"), Ok(last_day()));
        for out in [
            "1969-12-31",
            "10000-01-01",
            "-262143-01-01",
            "+262142-12-31",
            "0000-01-01",
        ] {
            assert_eq!(parse_day(out), Err(DayError::OutOfRange), "{out}");
        }
        for bad in ["2026-02-30", "x", "", "2026-1-1x", "99999-1-01", "-x-01-01"] {
            assert_eq!(parse_day(bad), Err(DayError::Unparseable), "{bad}");
        }
    }

    #[test]
    fn extreme_days_in_extreme_zones_never_panic() {
        for zone in [
            "Pacific/Kiritimati",
            "Etc/GMT+12",
            "Etc/GMT-14",
            "America/St_Johns",
            "Pacific/Apia",
            "UTC",
        ] {
            let tz = parse_timezone(zone).unwrap();
            for d in [first_day(), last_day()] {
                let start = day_start(d, tz);
                assert!((start - day_start(d, chrono_tz::UTC)).abs() < 2 * 86_400);
            }
            assert!(parse_instant("9999-12-31", DateEdge::End, tz).is_ok());
            assert!(parse_instant("1970-01-01", DateEdge::Start, tz).is_ok());
            assert_eq!(
                parse_instant("-262143-01-01", DateEdge::Start, tz),
                Err(DayError::OutOfRange)
            );
        }
        assert_eq!(
            parse_instant("0001-01-01T00:00:00Z", DateEdge::Start, chrono_tz::UTC),
            Err(DayError::OutOfRange)
        );
    }
}
