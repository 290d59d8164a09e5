//! A conversion as recorded, and a postback validated into what the store records.

use super::attribution::Attribution;
use super::ids::BrandId;
use super::money::Money;
use super::status::ConversionStatus;

#[derive(Debug, Clone)]
pub struct Conversion {
    pub id: i64,
    pub brand_id: BrandId,
    pub click_id: Option<String>,
    pub offer_id: i64,
    pub partner_id: i64,
    pub event: String,
    pub amount: Option<Money>,
    pub payout: Money,
    pub currency: String,
    pub status: ConversionStatus,
    pub transaction_id: Option<String>,
    pub subs: [Option<String>; 5],
    pub occurred_at: i64,
    pub created_at: i64,
}

/// A validated postback.
#[derive(Debug, Clone)]
pub struct NewConversion {
    pub attribution: Attribution,
    pub amount: Option<Money>,
    pub event: String,
    pub transaction_id: Option<String>,
    pub status: ConversionStatus,
    pub occurred_at: Option<i64>,
}
