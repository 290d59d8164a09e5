//! Payout rules: what one partner earns, on one offer or on all of them, for a span of time,
//! instead of the offer's own payout; and which rule applies to a conversion.

use super::money::Money;
use super::payout::MAX_REVSHARE;
use super::status::PayoutType;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRule {
    pub id: i64,
    /// `None`: every offer of the partner.
    pub offer_id: Option<i64>,
    pub partner_id: i64,
    pub payout_type: PayoutType,
    pub payout: Money,
    pub starts_at: i64,
    /// `None`: open-ended. The rule applies up to, not at, this instant.
    pub ends_at: Option<i64>,
    pub created_at: i64,
}

impl PayoutRule {
    pub fn applies_at(&self, at: i64) -> bool {
        self.starts_at <= at && self.ends_at.is_none_or(|end| at < end)
    }
}

/// What a conversion earns: the payout type and rate in force, and the rule that set them
/// (`None`: the offer's own payout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earning {
    pub payout_type: PayoutType,
    pub payout: Money,
    pub rule_id: Option<i64>,
}

/// The rule that applies to a conversion of `partner_id` on `offer_id` at `at`: a rule for
/// this offer and partner, else one for this partner and all offers; among several of the
/// same kind, the latest `starts_at`, then the highest id. `None`: the offer's own payout.
pub fn applicable(
    rules: &[PayoutRule],
    offer_id: i64,
    partner_id: i64,
    at: i64,
) -> Option<&PayoutRule> {
    let best = |offer: Option<i64>| {
        rules
            .iter()
            .filter(|r| r.partner_id == partner_id && r.offer_id == offer && r.applies_at(at))
            .max_by_key(|r| (r.starts_at, r.id))
    };
    best(Some(offer_id)).or_else(|| best(None))
}

/// The earning `rules` give over the offer's own payout.
pub fn earning(
    offer_type: PayoutType,
    offer_payout: Money,
    rules: &[PayoutRule],
    offer_id: i64,
    partner_id: i64,
    at: i64,
) -> Earning {
    match applicable(rules, offer_id, partner_id, at) {
        Some(r) => Earning {
            payout_type: r.payout_type,
            payout: r.payout,
            rule_id: Some(r.id),
        },
        None => Earning {
            payout_type: offer_type,
            payout: offer_payout,
            rule_id: None,
        },
    }
}

/// A rule as requested, checked: the payout's bounds are an offer's, and it ends after it
/// starts.
#[derive(Debug, Clone)]
pub struct RuleInput {
    pub offer_id: Option<i64>,
    pub partner_id: i64,
    pub payout_type: PayoutType,
    pub payout: Money,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
}

impl RuleInput {
    pub fn check(self) -> Result<RuleInput, String> {
        if self.payout_type == PayoutType::Revshare && self.payout > MAX_REVSHARE {
            return Err("payout must be <= 100 for a revshare rule".into());
        }
        if self.ends_at.is_some_and(|end| end <= self.starts_at) {
            return Err("ends_at must be after starts_at".into());
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(id: i64, offer: Option<i64>, starts: i64, ends: Option<i64>) -> PayoutRule {
        PayoutRule {
            id,
            offer_id: offer,
            partner_id: 7,
            payout_type: PayoutType::Cpa,
            payout: Money(id * 100),
            starts_at: starts,
            ends_at: ends,
            created_at: 0,
        }
    }

    #[test]
    fn offer_rules_win_over_partner_rules_and_later_starts_win() {
        let rules = [
            rule(1, None, 0, None),
            rule(2, Some(3), 0, Some(100)),
            rule(3, Some(3), 50, Some(80)),
            rule(4, Some(4), 0, None),
        ];
        assert_eq!(applicable(&rules, 3, 7, 10).map(|r| r.id), Some(2));
        assert_eq!(applicable(&rules, 3, 7, 60).map(|r| r.id), Some(3));
        assert_eq!(
            applicable(&rules, 3, 7, 80).map(|r| r.id),
            Some(2),
            "3 ended"
        );
        assert_eq!(applicable(&rules, 3, 7, 100).map(|r| r.id), Some(1));
        assert_eq!(applicable(&rules, 5, 7, 100).map(|r| r.id), Some(1));
        assert_eq!(applicable(&rules, 3, 8, 10), None, "another partner's");
        assert_eq!(applicable(&rules, 3, 7, -1), None, "before any starts");
        let e = earning(PayoutType::Revshare, Money(500), &rules, 9, 8, 0);
        assert_eq!(e.rule_id, None);
        assert_eq!(e.payout, Money(500));
    }

    #[test]
    fn input_bounds() {
        let input = |t, p, s, e| RuleInput {
            offer_id: None,
            partner_id: 1,
            payout_type: t,
            payout: Money(p),
            starts_at: s,
            ends_at: e,
        };
        assert!(
            input(PayoutType::Revshare, 10_001, 0, None)
                .check()
                .is_err()
        );
        assert!(input(PayoutType::Cpa, 10_001, 0, None).check().is_ok());
        assert!(input(PayoutType::Cpa, 1, 10, Some(10)).check().is_err());
        assert!(input(PayoutType::Cpa, 1, 10, Some(11)).check().is_ok());
    }

    proptest! {
        /// Against an oracle that ranks every rule in force by (kind, starts_at, id).
        #[test]
        fn the_precedence_matches_a_ranking_of_every_rule_in_force(
            specs in prop::collection::vec((prop::option::of(0i64..3), 0i64..3, 0i64..20, prop::option::of(1i64..20)), 0..12),
            offer in 0i64..3,
            partner in 0i64..3,
            at in 0i64..25,
        ) {
            let rules: Vec<PayoutRule> = specs
                .iter()
                .enumerate()
                .map(|(i, (o, p, s, len))| PayoutRule {
                    partner_id: *p,
                    ..rule(i as i64 + 1, *o, *s, len.map(|l| s + l))
                })
                .collect();
            let mut ranked: Vec<(u8, i64, i64)> = rules
                .iter()
                .filter(|r| r.partner_id == partner && r.starts_at <= at)
                .filter(|r| r.ends_at.is_none_or(|e| at < e))
                .filter_map(|r| match r.offer_id {
                    Some(o) if o == offer => Some((2, r.starts_at, r.id)),
                    None => Some((1, r.starts_at, r.id)),
                    Some(_) => None,
                })
                .collect();
            ranked.sort();
            let want = ranked.last().map(|(_, _, id)| *id);
            prop_assert_eq!(applicable(&rules, offer, partner, at).map(|r| r.id), want);
        }
    }
}
