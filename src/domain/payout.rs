//! What a partner earns for one conversion.

use super::attribution::Refusal;
use super::money::Money;
use super::status::PayoutType;

/// The most a revshare offer may pay: 100 % (in hundredths of a percent, like `Money`).
pub const MAX_REVSHARE: Money = Money(10_000);

/// `cpa`: the offer's payout; `revshare`: amount × payout / 100, rounded half-even to the cent.
pub fn payout(kind: PayoutType, rate: Money, amount: Option<Money>) -> Result<Money, Refusal> {
    match kind {
        PayoutType::Cpa => Ok(rate),
        PayoutType::Revshare => amount
            .map(|a| a.percent(rate))
            .ok_or(Refusal::AmountRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpa_is_fixed_and_revshare_a_percent() {
        assert_eq!(payout(PayoutType::Cpa, Money(500), None), Ok(Money(500)));
        assert_eq!(
            payout(PayoutType::Revshare, Money(1_000), Some(Money(12_000))),
            Ok(Money(1_200))
        );
        assert_eq!(
            payout(PayoutType::Revshare, Money(1_000), None),
            Err(Refusal::AmountRequired)
        );
    }
}
