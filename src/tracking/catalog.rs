//! What a click needs to know about offers and partners, held in memory so that a redirect
//! reads no SQL. Every write to offers or partners (all go through the API) updates it.

use crate::domain::ids::BrandId;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::store::{offers::Offer, partners::Partner};

#[derive(Debug, Clone)]
pub struct OfferEntry {
    pub brand_id: BrandId,
    pub destination: Arc<str>,
    /// Fixed for an offer's life; clicks carry it into the rollups.
    pub currency: Arc<str>,
    pub active: bool,
}

#[derive(Default)]
pub struct Catalog {
    offers: RwLock<HashMap<i64, OfferEntry>>,
    /// Partner id → (brand, may send traffic).
    partners: RwLock<HashMap<i64, (BrandId, bool)>>,
}

impl Catalog {
    pub fn load(offers: Vec<Offer>, partners: Vec<Partner>) -> Catalog {
        let c = Catalog::default();
        for o in &offers {
            c.put_offer(o);
        }
        for p in &partners {
            c.put_partner(p);
        }
        c
    }

    pub fn put_offer(&self, o: &Offer) {
        let entry = OfferEntry {
            brand_id: o.brand_id,
            destination: Arc::from(o.destination_url.as_str()),
            currency: Arc::from(o.currency.as_str()),
            active: o.status.takes_clicks(),
        };
        self.offers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(o.id, entry);
    }

    pub fn put_partner(&self, p: &Partner) {
        self.partners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p.id, (p.brand_id, p.status.may_send_traffic()));
    }

    /// The offer to redirect to, if this offer and partner of one brand may take a click now.
    pub fn route(&self, offer_id: i64, partner_id: i64) -> Option<OfferEntry> {
        let offer = self
            .offers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&offer_id)
            .cloned()?;
        let (brand, ok) = *self
            .partners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&partner_id)?;
        (offer.active && ok && brand == offer.brand_id).then_some(offer)
    }
}
