//! Caps: a limit on what an offer (or one partner on it) pays out per window, and the windows
//! in the brand's zone.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::money::Money;
use super::status::{CapMetric, CapWindow};
use super::time::day_start;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    pub id: i64,
    pub offer_id: i64,
    /// `None`: the whole offer, every partner together.
    pub partner_id: Option<i64>,
    pub metric: CapMetric,
    pub window: CapWindow,
    /// A count, or minor units of the offer's currency for `payout`.
    pub limit: i64,
    pub created_at: i64,
}

impl Cap {
    /// Whether a conversion of `partner_id` (on this cap's offer) counts toward it.
    pub fn covers(&self, partner_id: i64) -> bool {
        self.partner_id.is_none_or(|p| p == partner_id)
    }

    /// What one conversion with this payout adds to the cap's use.
    pub fn weight(&self, payout: Money) -> i64 {
        match self.metric {
            CapMetric::Conversions => 1,
            CapMetric::Payout => payout.0,
        }
    }
}

/// The first instant of the window holding `ts`, in `tz` (0 for `lifetime`): the key a cap's
/// use is kept under. Weeks start on Monday.
pub fn window_start(window: CapWindow, ts: i64, tz: Tz) -> i64 {
    let local: NaiveDate = match Utc.timestamp_opt(ts, 0).single() {
        Some(t) => t.with_timezone(&tz).date_naive(),
        None => return 0,
    };
    let first = match window {
        CapWindow::Lifetime => return 0,
        CapWindow::Day => local,
        CapWindow::Week => local - Duration::days(local.weekday().num_days_from_monday() as i64),
        CapWindow::Month => local.with_day(1).unwrap_or(local),
    };
    day_start(first, tz)
}

/// A requested limit in the cap's unit: a whole count of conversions, or money (at most 2
/// decimals) for `payout`; always > 0.
pub fn limit(metric: CapMetric, value: f64) -> Result<i64, String> {
    let n = match metric {
        CapMetric::Conversions => {
            if value.fract() != 0.0 || !value.is_finite() || value > 1e9 {
                return Err("limit must be a whole number of conversions up to 1000000000".into());
            }
            value as i64
        }
        CapMetric::Payout => Money::from_json(value, "limit")?.0,
    };
    if n <= 0 {
        return Err("limit must be > 0".into());
    }
    Ok(n)
}

/// `limit` or `used` in the cap's unit, as the API's number.
pub fn shown(metric: CapMetric, v: i64) -> f64 {
    match metric {
        CapMetric::Conversions => v as f64,
        CapMetric::Payout => Money(v).to_json(),
    }
}

/// Whether adding `weight` to `used` stays within `limit`.
pub fn fits(used: i64, weight: i64, limit: i64) -> bool {
    used.saturating_add(weight) <= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn windows_start_at_local_midnight_monday_and_the_first() {
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        // 2026-12-02 (a Wednesday) 20:00 UTC is 2026-12-03 01:30 in Kolkata.
        let ts = at("2026-12-02T20:00:00Z");
        assert_eq!(
            window_start(CapWindow::Day, ts, kolkata),
            at("2026-12-03T00:00:00+05:30")
        );
        assert_eq!(
            window_start(CapWindow::Week, ts, kolkata),
            at("2026-11-30T00:00:00+05:30")
        );
        assert_eq!(
            window_start(CapWindow::Month, ts, kolkata),
            at("2026-12-01T00:00:00+05:30")
        );
        assert_eq!(window_start(CapWindow::Lifetime, ts, kolkata), 0);
        assert_eq!(
            window_start(CapWindow::Day, ts, chrono_tz::UTC),
            at("2026-12-02T00:00:00Z")
        );
    }

    #[test]
    fn limits_are_inclusive() {
        assert!(fits(49, 1, 50));
        assert!(!fits(50, 1, 50));
        assert!(!fits(i64::MAX, 1, 50));
    }
}
