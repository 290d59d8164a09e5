//! Who a conversion is credited to: the click it came from, or an offer and a partner named
//! directly (coupon and offline sales).

/// A postback's attribution, checked to be one of the two forms the contract allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// Offer and partner come from the click; ids sent with it must match the click's.
    Click {
        click_id: String,
        offer_id: Option<i64>,
        partner_id: Option<i64>,
    },
    /// No click: both ids are given.
    Direct { offer_id: i64, partner_id: i64 },
}

impl Attribution {
    /// `click_id`, or both `offer_id` and `partner_id`.
    pub fn new(
        click_id: Option<String>,
        offer_id: Option<i64>,
        partner_id: Option<i64>,
    ) -> Result<Attribution, &'static str> {
        match (click_id, offer_id, partner_id) {
            (Some(click_id), offer_id, partner_id) => Ok(Attribution::Click {
                click_id,
                offer_id,
                partner_id,
            }),
            (None, Some(offer_id), Some(partner_id)) => Ok(Attribution::Direct {
                offer_id,
                partner_id,
            }),
            _ => Err("click_id, or both offer_id and partner_id, must be given"),
        }
    }

    pub fn click_id(&self) -> Option<&str> {
        match self {
            Attribution::Click { click_id, .. } => Some(click_id),
            Attribution::Direct { .. } => None,
        }
    }
}

/// Why a well-formed postback can't be recorded for this brand. The API chooses the codes and
/// messages these are answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("click {0} is not one of this brand's")]
    UnknownClick(String),
    #[error("offer_id does not match the click's offer")]
    OfferMismatch,
    #[error("partner_id does not match the click's partner")]
    PartnerMismatch,
    #[error("offer {0} is not one of this brand's")]
    UnknownOffer(i64),
    #[error("partner {0} is not one of this brand's")]
    UnknownPartner(i64),
    /// A revshare payout is a percent of the amount, so there must be one.
    #[error("a revshare offer needs an amount")]
    AmountRequired,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_or_both_ids() {
        assert!(Attribution::new(Some("c".into()), None, None).is_ok());
        assert_eq!(
            Attribution::new(None, Some(1), Some(2)),
            Ok(Attribution::Direct {
                offer_id: 1,
                partner_id: 2
            })
        );
        assert!(Attribution::new(None, Some(1), None).is_err());
        assert!(Attribution::new(None, None, Some(2)).is_err());
    }
}
