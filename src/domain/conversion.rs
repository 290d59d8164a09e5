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
    /// When a held conversion is approved by the server (set when it was held).
    pub hold_until: Option<i64>,
    /// The payout rule that set `payout` when it was recorded (`None`: the offer's own).
    pub payout_rule_id: Option<i64>,
    /// The statement whose payout line pays it.
    pub statement_id: Option<i64>,
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

/// The server approving a conversion whose hold has passed.
pub const HOLD_ACTOR: &str = "system:hold";
/// The server rejecting a conversion that would take a cap past its limit.
pub const CAP_ACTOR: &str = "system:cap";
/// The reason a capped conversion is rejected with.
pub const CAP_REACHED: &str = "cap_reached";

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

/// A conversion as the API shows it (the `Conversion` schema's fields, in order, with the
/// same money and time formats): what an event's `data` holds. The store serialises it, so
/// events need nothing of the HTTP layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConversionJson<'a> {
    pub id: i64,
    pub click_id: Option<&'a str>,
    pub offer_id: i64,
    pub partner_id: i64,
    pub event: &'a str,
    pub amount: Option<f64>,
    pub payout: f64,
    pub currency: &'a str,
    pub status: &'static str,
    pub transaction_id: Option<&'a str>,
    pub sub1: Option<&'a str>,
    pub sub2: Option<&'a str>,
    pub sub3: Option<&'a str>,
    pub sub4: Option<&'a str>,
    pub sub5: Option<&'a str>,
    pub occurred_at: String,
    pub created_at: String,
    pub reason: Option<&'a str>,
    pub updated_at: String,
    pub hold_until: Option<String>,
    pub payout_rule_id: Option<i64>,
    pub statement_id: Option<i64>,
}

impl<'a> From<&'a Conversion> for ConversionJson<'a> {
    fn from(c: &'a Conversion) -> Self {
        use super::time::to_rfc3339;
        let sub = |i: usize| c.subs[i].as_deref();
        ConversionJson {
            id: c.id,
            click_id: c.click_id.as_deref(),
            offer_id: c.offer_id,
            partner_id: c.partner_id,
            event: &c.event,
            amount: c.amount.map(Money::to_json),
            payout: c.payout.to_json(),
            currency: &c.currency,
            status: c.status.as_str(),
            transaction_id: c.transaction_id.as_deref(),
            sub1: sub(0),
            sub2: sub(1),
            sub3: sub(2),
            sub4: sub(3),
            sub5: sub(4),
            occurred_at: to_rfc3339(c.occurred_at),
            created_at: to_rfc3339(c.created_at),
            reason: c.reason.as_deref(),
            updated_at: to_rfc3339(c.updated_at),
            hold_until: c.hold_until.map(to_rfc3339),
            payout_rule_id: c.payout_rule_id,
            statement_id: c.statement_id,
        }
    }
}
