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
    /// The reason given with the last status change, if any.
    pub reason: Option<String>,
    pub updated_at: i64,
}

/// One entry of a conversion's history: its creation (`from` is `None`) or a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: i64,
    pub from: Option<ConversionStatus>,
    pub to: ConversionStatus,
    pub reason: Option<String>,
    /// `key:<key name>`, `admin:<email>`, `system:…`.
    pub actor: String,
}

/// Who changes a conversion, as its history names them.
pub fn key_actor(key_name: &str) -> String {
    format!("key:{key_name}")
}

pub fn admin_actor(email: &str) -> String {
    format!("admin:{email}")
}

/// A status change the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conversion {id} can't go from {from} to {to}")]
pub struct InvalidTransition {
    pub id: i64,
    pub from: ConversionStatus,
    pub to: ConversionStatus,
}

/// The longest `reason` a status change takes, in characters.
pub const MAX_REASON_CHARS: usize = 200;

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
