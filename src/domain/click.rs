//! A click as it is recorded: who sent the visitor (offer, partner, sub ids) and who the
//! visitor was (IP, user agent, referer), with the unique-click decision already taken.

use std::sync::Arc;

use super::ids::{BrandId, ClickCursor};

#[derive(Debug, Clone)]
pub struct ClickRow {
    pub id: String,
    pub brand_id: BrandId,
    pub offer_id: i64,
    pub partner_id: i64,
    /// The offer's currency (fixed for an offer's life), for the rollups.
    pub currency: Arc<str>,
    pub created_at: i64,
    pub subs: [Option<String>; 5],
    pub ip: String,
    pub user_agent: String,
    pub referer: Option<String>,
    pub is_unique: bool,
}

/// A click as read back: what the API's `Click` and the clicks CSV show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub id: String,
    pub offer_id: i64,
    pub partner_id: i64,
    pub created_at: i64,
    pub subs: [Option<String>; 5],
    pub ip: String,
    pub user_agent: String,
    pub referer: Option<String>,
    pub is_unique: bool,
}

impl Click {
    /// Where a page that ends with this click ends.
    pub fn cursor(&self) -> ClickCursor {
        ClickCursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}
