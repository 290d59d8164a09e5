//! `limit` and `cursor` of list endpoints.

use super::errors::ApiError;
use crate::domain::ids::{decode_cursor, encode_cursor};

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

/// The cursor for the page after one that ended with `last_id`.
pub fn next(has_more: bool, last_id: Option<i64>) -> Option<String> {
    if has_more {
        last_id.map(encode_cursor)
    } else {
        None
    }
}
