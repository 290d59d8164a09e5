//! The date range control of the dashboard's pages: `?range=7d`, or `?range=custom&from=&to=`,
//! in the brand's zone.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::period::{Period, Preset};
use crate::domain::report::{GroupBy, TimeGrain, today};
use crate::domain::report_request::{MAX_DAYS, ReportRequest};
use crate::domain::time::parse_day;

#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
pub struct RangeQuery {
    pub range: String,
    pub from: String,
    pub to: String,
}

/// The range a page shows, with what its form needs to show it again.
pub struct Chosen {
    pub preset: Preset,
    pub period: Period,
    /// Why a custom range was not taken (the page falls back to `fallback`).
    pub error: Option<String>,
    /// Query string that selects this range again (`range=..&from=..&to=..`).
    pub query: String,
}

pub struct PresetOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

impl Chosen {
    pub fn options(&self) -> Vec<PresetOption> {
        Preset::ALL
            .into_iter()
            .map(|p| PresetOption {
                value: p.as_str(),
                label: p.label(),
                selected: p == self.preset,
            })
            .collect()
    }

    pub fn first_day(&self) -> String {
        self.period.from.to_string()
    }

    pub fn last_day(&self) -> String {
        self.period.to.to_string()
    }

    /// "2026-11-01 – 2026-11-30" (or one day).
    pub fn label(&self) -> String {
        if self.period.from == self.period.to {
            self.period.from.to_string()
        } else {
            format!("{} – {}", self.period.from, self.period.to)
        }
    }

    /// Hourly up to two days, daily beyond.
    pub fn grain(&self) -> TimeGrain {
        if self.period.days() <= 2 {
            TimeGrain::Hour
        } else {
            TimeGrain::Day
        }
    }
}

/// The range `q` asks for, or `fallback` (with an error for a bad custom range).
pub fn choose(q: &RangeQuery, tz: Tz, fallback: Preset) -> Chosen {
    let today = today(tz);
    let preset = Preset::parse(&q.range).unwrap_or(fallback);
    let mut error = None;
    let period = if preset == Preset::Custom {
        match custom(&q.from, &q.to) {
            Ok(p) => p,
            Err(e) => {
                error = Some(e);
                Period::of(fallback, today)
            }
        }
    } else {
        Period::of(preset, today)
    };
    let preset = if error.is_some() { fallback } else { preset };
    let query = if preset == Preset::Custom {
        format!("range=custom&from={}&to={}", period.from, period.to)
    } else {
        format!("range={}", preset.as_str())
    };
    Chosen {
        preset,
        period,
        error,
        query,
    }
}

fn custom(from: &str, to: &str) -> Result<Period, String> {
    let day = |s: &str, what: &str| {
        parse_day(s.trim()).map_err(|_| format!("Enter the {what} date as YYYY-MM-DD."))
    };
    let (from, to): (NaiveDate, NaiveDate) = (day(from, "first")?, day(to, "last")?);
    if to < from {
        return Err("The last date must not be before the first.".into());
    }
    if (to - from).num_days() + 1 > MAX_DAYS {
        return Err(format!("Choose at most {MAX_DAYS} days."));
    }
    Ok(Period { from, to })
}

/// A report request over `period`, validated by the API's own rules.
pub fn request(
    period: Period,
    tz: Tz,
    group: GroupBy,
    offer_id: Option<i64>,
    partner_id: Option<i64>,
) -> poem::Result<ReportRequest> {
    ReportRequest::new(period.from, period.to, tz, group, offer_id, partner_id)
        .map_err(|e| crate::web::page::internal(e.message().to_string()))
}
