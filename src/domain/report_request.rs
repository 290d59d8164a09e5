//! What a report asks for, validated: the one set of rules behind the API's `/reports` and the
//! dashboard's report pages (range, zone, grouping, filters).

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::report::{GroupBy, Range, TimeBuckets, today};
use super::time::{DAY_RANGE, DayError, first_day, parse_day, parse_timezone};

/// The longest range a report covers, in days.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub range: Range,
    pub group: GroupBy,
    pub offer_id: Option<i64>,
    pub partner_id: Option<i64>,
}

/// Why a report's parameters were refused: `Malformed` is unparseable text (the API's 400),
/// `Invalid` well-formed but against a rule (422). The message names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    Malformed(String),
    Invalid(String),
}

impl RequestError {
    pub fn message(&self) -> &str {
        match self {
            RequestError::Malformed(m) | RequestError::Invalid(m) => m,
        }
    }
}

/// The parameters as text, as a query string carries them; `None` takes the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportParams<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub group_by: Option<&'a str>,
    pub timezone: Option<&'a str>,
    /// The zone when `timezone` is not given (the brand's); `None`: `UTC`.
    pub default_timezone: Option<Tz>,
    pub offer_id: Option<i64>,
    pub partner_id: Option<i64>,
}

fn date(field: &str, v: &str) -> Result<NaiveDate, RequestError> {
    parse_day(v).map_err(|e| match e {
        DayError::Unparseable => {
            RequestError::Malformed(format!("{field} must be a date YYYY-MM-DD"))
        }
        DayError::OutOfRange => {
            RequestError::Invalid(format!("{field} must be within {DAY_RANGE}"))
        }
    })
}

impl ReportRequest {
    /// Defaults: `default_timezone` (else `UTC`), grouped by `day`, the 7 days up to today in
    /// the zone.
    pub fn parse(p: ReportParams<'_>) -> Result<ReportRequest, RequestError> {
        let tz = match p.timezone {
            Some(name) => parse_timezone(name).ok_or_else(|| {
                RequestError::Invalid(format!("timezone: unknown IANA zone {name:?}"))
            })?,
            None => p.default_timezone.unwrap_or(chrono_tz::UTC),
        };
        let group = GroupBy::parse(p.group_by.unwrap_or("day")).map_err(RequestError::Invalid)?;
        // `from` first, so a bad range names the field the query names first.
        let from = p.from.map(|f| date("from", f)).transpose()?;
        let to = match p.to {
            Some(t) => date("to", t)?,
            None => today(tz),
        };
        // Near the first day the default week is cut short rather than refused.
        let from = from.unwrap_or_else(|| (to - chrono::Duration::days(6)).max(first_day()));
        ReportRequest::new(from, to, tz, group, p.offer_id, p.partner_id)
    }

    /// From dates already parsed (the dashboard's presets).
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        tz: Tz,
        group: GroupBy,
        offer_id: Option<i64>,
        partner_id: Option<i64>,
    ) -> Result<ReportRequest, RequestError> {
        if to < from {
            return Err(RequestError::Invalid("to must not be before from".into()));
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(RequestError::Invalid(format!(
                "the range from..to must be at most {MAX_DAYS} days"
            )));
        }
        Ok(ReportRequest {
            from,
            to,
            range: Range::new(from, to, tz),
            group,
            offer_id,
            partner_id,
        })
    }

    /// The report's time buckets, when it is grouped by time.
    pub fn buckets(&self) -> Option<TimeBuckets> {
        self.group.time.map(|t| TimeBuckets::new(t, &self.range))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_their_field() {
        let r = ReportRequest::parse(ReportParams::default()).unwrap();
        assert_eq!((r.to - r.from).num_days(), 6);
        let bad = |p: ReportParams| ReportRequest::parse(p).unwrap_err();
        assert!(
            matches!(bad(ReportParams { from: Some("x"), to: Some("y"), ..Default::default() }),
            RequestError::Malformed(m) if m.starts_with("from"))
        );
        assert!(
            matches!(bad(ReportParams { from: Some("2026-01-02"), to: Some("2026-01-01"), ..Default::default() }),
            RequestError::Invalid(m) if m == "to must not be before from")
        );
        assert!(
            matches!(bad(ReportParams { from: Some("2025-01-01"), to: Some("2026-01-02"), ..Default::default() }),
            RequestError::Invalid(m) if m.contains("366"))
        );
        assert!(
            matches!(bad(ReportParams { timezone: Some("Mars/Base"), ..Default::default() }),
            RequestError::Invalid(m) if m.starts_with("timezone"))
        );
    }

    #[test]
    fn the_default_zone_applies_only_without_a_timezone() {
        let kolkata = parse_timezone("Asia/Kolkata").unwrap();
        let day = |p: ReportParams| {
            let r = ReportRequest::parse(ReportParams {
                from: Some("2026-11-01"),
                to: Some("2026-11-01"),
                ..p
            })
            .unwrap();
            (r.range.start, r.range.end)
        };
        // 2026-11-01 in Kolkata starts at 2026-10-31T18:30:00Z.
        let local = day(ReportParams {
            default_timezone: Some(kolkata),
            ..Default::default()
        });
        assert_eq!(local.0, 1_793_471_400);
        let utc = day(ReportParams::default());
        assert_eq!(utc.0, 1_793_491_200);
        let asked = day(ReportParams {
            timezone: Some("UTC"),
            default_timezone: Some(kolkata),
            ..Default::default()
        });
        assert_eq!(asked, utc, "a given timezone wins over the default");
        assert!(matches!(
            ReportRequest::parse(ReportParams {
                timezone: Some("Mars/Base"),
                default_timezone: Some(kolkata),
                ..Default::default()
            }),
            Err(RequestError::Invalid(m)) if m.starts_with("timezone")
        ));
    }
}
