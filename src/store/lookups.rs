//! What a batch of postbacks reads again and again: the credited offer and partner, the
//! partner's payout rules on the offer, the caps a conversion counts toward and the brand's
//! zone. Under load a batch holds dozens of postbacks, mostly for a few offers and partners,
//! and reading these for each was a fifth of the writer's time per postback.
//!
//! Valid only while nothing it holds can change. Offers, partners, rules and the zone are
//! written on pool connections, which can't commit while the writer's IMMEDIATE transaction
//! is open; caps are written by `Writer::run` closures, in the writer's own transaction. What
//! keeps a closure from changing a cap under the memo is the order of a batch: postbacks run
//! first (`commit_batch` sorts them so, and `write_batch` checks it), and each batch starts a
//! new memo. The writer also clears it before every other op, a guard should that order ever
//! change. Clicks and postbacks change none of it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use rusqlite::Connection;

use super::offers::Offer;
use super::{StoreResult, brands, caps, offers, partners, payout_rules};
use crate::domain::cap::Cap;
use crate::domain::ids::BrandId;
use crate::domain::payout_rule::PayoutRule;

/// (brand, offer, partner).
type Pair = (BrandId, i64, i64);

#[derive(Default)]
pub struct Lookups {
    offers: HashMap<(BrandId, i64), Offer>,
    partners: HashSet<(BrandId, i64)>,
    rules: HashMap<Pair, Vec<PayoutRule>>,
    caps: HashMap<Pair, Vec<Cap>>,
    zones: HashMap<BrandId, Tz>,
}

impl Lookups {
    /// Forget everything: what follows may change it.
    pub fn clear(&mut self) {
        self.offers.clear();
        self.partners.clear();
        self.rules.clear();
        self.caps.clear();
        self.zones.clear();
    }

    /// The brand's offer (`NotFound` is not remembered: it is the rare case).
    pub fn offer(&mut self, conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<&Offer> {
        Ok(match self.offers.entry((brand_id, id)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(offers::get(conn, brand_id, id)?),
        })
    }

    /// Ok when the partner is the brand's, else `NotFound`.
    pub fn partner(&mut self, conn: &Connection, brand_id: BrandId, id: i64) -> StoreResult<()> {
        if !self.partners.contains(&(brand_id, id)) {
            partners::get(conn, brand_id, id)?;
            self.partners.insert((brand_id, id));
        }
        Ok(())
    }

    /// Every payout rule of the partner that could apply on the offer, at any time
    /// (`domain::payout_rule::applicable` picks the one in force).
    pub fn rules(
        &mut self,
        conn: &Connection,
        brand_id: BrandId,
        offer_id: i64,
        partner_id: i64,
    ) -> StoreResult<&[PayoutRule]> {
        Ok(match self.rules.entry((brand_id, offer_id, partner_id)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                e.insert(payout_rules::of_pair(conn, brand_id, offer_id, partner_id)?)
            }
        })
    }

    /// The caps a conversion of the partner on the offer counts toward, and the brand's zone
    /// when there are any (it places their windows).
    pub fn caps(
        &mut self,
        conn: &Connection,
        brand_id: BrandId,
        offer_id: i64,
        partner_id: i64,
    ) -> StoreResult<(&[Cap], Option<Tz>)> {
        let key = (brand_id, offer_id, partner_id);
        if let Entry::Vacant(e) = self.caps.entry(key) {
            e.insert(caps::covering(conn, brand_id, offer_id, partner_id)?);
        }
        let tz = match self.caps[&key].is_empty() {
            true => None,
            false => Some(self.zone(conn, brand_id)?),
        };
        Ok((&self.caps[&key], tz))
    }

    fn zone(&mut self, conn: &Connection, brand_id: BrandId) -> StoreResult<Tz> {
        if let Some(tz) = self.zones.get(&brand_id) {
            return Ok(*tz);
        }
        let tz = brands::timezone(conn, brand_id)?;
        self.zones.insert(brand_id, tz);
        Ok(tz)
    }
}
