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
use crate::domain::money::Money;
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
    /// Cap use counted here and written by `finish` (`caps::Usage`); `None`: written by each
    /// postback (the guarded rewrite, where a postback's savepoint must undo its charges).
    usage: Option<caps::Usage>,
}

impl Lookups {
    /// A memo that also counts cap use until `finish`: for postbacks written without a
    /// savepoint each, whose batch is rolled back whole if one fails after writing.
    pub fn deferring_cap_use() -> Lookups {
        Lookups {
            usage: Some(caps::Usage::default()),
            ..Lookups::default()
        }
    }

    /// The postbacks are done: write the cap use counted, and forget everything (what follows
    /// may change it).
    pub fn finish(&mut self, conn: &Connection) -> StoreResult<()> {
        if let Some(usage) = &mut self.usage {
            usage.flush(conn)?;
        }
        self.offers.clear();
        self.partners.clear();
        self.rules.clear();
        self.caps.clear();
        self.zones.clear();
        Ok(())
    }

    /// `caps::admit` for a conversion of the partner on the offer, over the caps it counts
    /// toward: true when all have room (and the use is charged, or staged until `kept`).
    pub fn admit(
        &mut self,
        conn: &Connection,
        brand_id: BrandId,
        offer_id: i64,
        partner_id: i64,
        occurred_at: i64,
        payout: Money,
    ) -> StoreResult<bool> {
        let key = (brand_id, offer_id, partner_id);
        if let Entry::Vacant(e) = self.caps.entry(key) {
            e.insert(caps::covering(conn, brand_id, offer_id, partner_id)?);
        }
        // Most offers have no caps: then the zone is not even asked.
        if self.caps[&key].is_empty() {
            return Ok(true);
        }
        let tz = self.zone(conn, brand_id)?;
        let covering = &self.caps[&key];
        match &mut self.usage {
            Some(usage) => caps::admit_deferred(conn, usage, covering, occurred_at, payout, tz),
            None => caps::admit(conn, covering, occurred_at, payout, tz),
        }
    }

    /// A postback starts: drop charges staged by one that failed before it was kept.
    pub fn begin(&mut self) {
        if let Some(usage) = &mut self.usage {
            usage.unstage();
        }
    }

    /// The postback `admit` let in is written: count its staged charges.
    pub fn kept(&mut self) {
        if let Some(usage) = &mut self.usage {
            usage.keep();
        }
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

    fn zone(&mut self, conn: &Connection, brand_id: BrandId) -> StoreResult<Tz> {
        if let Some(tz) = self.zones.get(&brand_id) {
            return Ok(*tz);
        }
        let tz = brands::timezone(conn, brand_id)?;
        self.zones.insert(brand_id, tz);
        Ok(tz)
    }
}
