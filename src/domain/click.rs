//! A click as it is recorded: who sent the visitor (offer, partner, sub ids) and who the
//! visitor was (IP, user agent, referer), with the unique-click decision already taken.

use std::sync::Arc;

use super::ids::BrandId;

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
