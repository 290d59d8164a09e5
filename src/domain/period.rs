//! The dashboard's date ranges: presets resolved against "today" in the brand's zone, and the
//! previous period of the same length that changes are measured against.

use chrono::{Datelike, Duration, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Today,
    Yesterday,
    Last7,
    Last30,
    ThisMonth,
    LastMonth,
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 7] = [
        Preset::Today,
        Preset::Yesterday,
        Preset::Last7,
        Preset::Last30,
        Preset::ThisMonth,
        Preset::LastMonth,
        Preset::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Today => "today",
            Preset::Yesterday => "yesterday",
            Preset::Last7 => "7d",
            Preset::Last30 => "30d",
            Preset::ThisMonth => "this_month",
            Preset::LastMonth => "last_month",
            Preset::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Today => "Today",
            Preset::Yesterday => "Yesterday",
            Preset::Last7 => "Last 7 days",
            Preset::Last30 => "Last 30 days",
            Preset::ThisMonth => "This month",
            Preset::LastMonth => "Last month",
            Preset::Custom => "Custom",
        }
    }

    pub fn parse(text: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// A range of local dates, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The preset's dates as of `today`; `Custom` is the caller's dates and is not resolved here.
    pub fn of(preset: Preset, today: NaiveDate) -> Period {
        let month_start = today.with_day(1).unwrap_or(today);
        let (from, to) = match preset {
            Preset::Today | Preset::Custom => (today, today),
            Preset::Yesterday => (today - Duration::days(1), today - Duration::days(1)),
            Preset::Last7 => (today - Duration::days(6), today),
            Preset::Last30 => (today - Duration::days(29), today),
            Preset::ThisMonth => (month_start, today),
            Preset::LastMonth => {
                let last = month_start - Duration::days(1);
                (last.with_day(1).unwrap_or(last), last)
            }
        };
        Period { from, to }
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The same number of days, ending the day before this one starts.
    pub fn previous(&self) -> Period {
        let to = self.from - Duration::days(1);
        Period {
            from: to - Duration::days(self.days() - 1),
            to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn presets_and_their_previous_periods() {
        let today = d("2026-03-10");
        let p = |x| Period::of(x, today);
        assert_eq!(
            p(Preset::Today),
            Period {
                from: today,
                to: today
            }
        );
        assert_eq!(p(Preset::Yesterday).from, d("2026-03-09"));
        assert_eq!(
            p(Preset::Last7),
            Period {
                from: d("2026-03-04"),
                to: today
            }
        );
        assert_eq!(p(Preset::Last30).days(), 30);
        assert_eq!(
            p(Preset::ThisMonth),
            Period {
                from: d("2026-03-01"),
                to: today
            }
        );
        assert_eq!(
            p(Preset::LastMonth),
            Period {
                from: d("2026-02-01"),
                to: d("2026-02-28")
            }
        );
        assert_eq!(
            p(Preset::Last7).previous(),
            Period {
                from: d("2026-02-25"),
                to: d("2026-03-03")
            }
        );
        assert_eq!(
            p(Preset::ThisMonth).previous(),
            Period {
                from: d("2026-02-19"),
                to: d("2026-02-28")
            }
        );
        for x in Preset::ALL {
            assert_eq!(Preset::parse(x.as_str()), Some(x));
        }
    }
}
