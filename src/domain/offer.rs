//! An offer's fields as a request gives them, and the checked input the store writes.

use super::currency::CurrencyCode;
use super::macros::Destination;
use super::money::Money;
use super::name::{self, Name};
use super::payout::MAX_REVSHARE;
use super::status::{OfferStatus, PayoutType};

/// An offer as sent (a create, or a patch merged with the current row), not yet checked.
#[derive(Debug, Clone)]
pub struct OfferDraft {
    pub name: String,
    pub destination_url: String,
    pub payout_type: PayoutType,
    pub payout: Money,
    pub currency: String,
    pub status: OfferStatus,
    /// Days an approved conversion is held pending first, 0–`MAX_HOLD_DAYS`.
    pub hold_days: i64,
}

/// The longest hold period, in days.
pub const MAX_HOLD_DAYS: i64 = 365;

/// An offer that keeps every rule; only `try_from` a draft makes one.
#[derive(Debug, Clone)]
pub struct OfferInput {
    name: Name,
    destination: Destination,
    payout_type: PayoutType,
    payout: Money,
    currency: CurrencyCode,
    status: OfferStatus,
    hold_days: i64,
}

impl TryFrom<OfferDraft> for OfferInput {
    /// A message for people that names the field at fault.
    type Error = String;

    /// Checked in this order, so the first fault named is always the same one.
    fn try_from(d: OfferDraft) -> Result<OfferInput, String> {
        let name = Name::parse(&d.name).map_err(name::api_message)?;
        let destination = Destination::parse(&d.destination_url)?;
        if d.payout_type == PayoutType::Revshare && d.payout > MAX_REVSHARE {
            return Err("payout must be <= 100 for a revshare offer".into());
        }
        let currency = CurrencyCode::parse(&d.currency)?;
        if !(0..=MAX_HOLD_DAYS).contains(&d.hold_days) {
            return Err(format!("hold_days must be between 0 and {MAX_HOLD_DAYS}"));
        }
        Ok(OfferInput {
            hold_days: d.hold_days,
            name,
            destination,
            payout_type: d.payout_type,
            payout: d.payout,
            currency,
            status: d.status,
        })
    }
}

impl OfferInput {
    pub fn name(&self) -> &str {
        self.name.as_str()
    }
    pub fn destination_url(&self) -> &str {
        self.destination.as_str()
    }
    pub fn payout_type(&self) -> PayoutType {
        self.payout_type
    }
    pub fn payout(&self) -> Money {
        self.payout
    }
    pub fn currency(&self) -> &'static str {
        self.currency.as_str()
    }
    pub fn status(&self) -> OfferStatus {
        self.status
    }
    pub fn hold_days(&self) -> i64 {
        self.hold_days
    }
}
