//! `limit`, `cursor` and the `from`/`to` filters of list endpoints.

use super::errors::ApiError;
use crate::domain::ids::{ClickCursor, decode_cursor, encode_cursor};
use crate::domain::time::{DAY_RANGE, DateEdge, DayError, parse_instant};

pub const DEFAULT_LIMIT: u32 = 25;

pub fn limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=100) => Ok(n),
        Some(_) => Err(ApiError::validation("limit must be between 1 and 100")),
    }
}

pub fn cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    match cursor {
        None | Some("") => Ok(None),
        Some(c) => decode_cursor(c)
            .map(Some)
            .ok_or_else(|| ApiError::invalid_request("cursor is not one this API returned")),
    }
}

/// The cursor of the clicks list, whose rows have text ids.
pub fn click_cursor(cursor: Option<&str>) -> Result<Option<ClickCursor>, ApiError> {
    match cursor {
        None | Some("") => Ok(None),
        Some(c) => ClickCursor::decode(c)
            .map(Some)
            .ok_or_else(|| ApiError::invalid_request("cursor is not one this API returned")),
    }
}

/// `from` and `to` of a list: RFC 3339 times, or `YYYY-MM-DD` dates (UTC, whole days), both
/// inclusive; `to` before `from` is refused.
pub fn time_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let from = parse_time("from", from, DateEdge::Start)?;
    let to = parse_time("to", to, DateEdge::End)?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(ApiError::validation("to must not be before from"));
    }
    Ok((from, to))
}

fn parse_time(field: &str, v: Option<&str>, edge: DateEdge) -> Result<Option<i64>, ApiError> {
    v.map(|t| {
        parse_instant(t, edge, chrono_tz::UTC).map_err(|e| match e {
            DayError::Unparseable => ApiError::invalid_request(format!(
                "{field} must be an RFC 3339 time or a YYYY-MM-DD date"
            )),
            DayError::OutOfRange => {
                ApiError::validation(format!("{field} must be within {DAY_RANGE}"))
            }
        })
    })
    .transpose()
}

/// The cursor for the page after one that ended with `last_id`.
pub fn next(has_more: bool, last_id: Option<i64>) -> Option<String> {
    if has_more {
        last_id.map(encode_cursor)
    } else {
        None
    }
}
