//! A partner's payout rules on its page: the rules, what the partner earns on each active
//! offer now (the API's `GET /offers/{id}/payout`, worked out by the same domain function),
//! adding a rule and removing one.

use chrono_tz::Tz;
use poem::web::{Form, Path};
use poem::{Request, Response, handler};
use serde::Deserialize;

use crate::domain::ids::BrandId;
use crate::domain::money::Money;
use crate::domain::payout_rule::{PayoutRule, RuleInput, earning};
use crate::domain::status::PayoutType;
use crate::domain::time::{day_start, now, parse_day};
use crate::store::offers::Offer;
use crate::store::{StoreError, payout_rules};
use crate::web::format;
use crate::web::page::{change_refused, not_found, redirect_with_flash, refused};
use crate::web::session::{self, Admin, CsrfOnly};

/// A rule as the partner page lists it.
pub struct RuleRow {
    pub id: i64,
    pub offer: String,
    pub pays: String,
    pub from: String,
    pub until: String,
    pub active: bool,
}

/// What the partner earns on one offer right now, and why.
pub struct EarnRow {
    pub offer_id: i64,
    pub offer: String,
    pub pays: String,
    pub source: String,
}

fn pays(kind: PayoutType, rate: Money, currency: &str) -> String {
    match kind {
        // A rule for all offers pays in each offer's currency.
        PayoutType::Cpa if currency.is_empty() => {
            format!("{rate} per conversion, in each offer's currency")
        }
        PayoutType::Cpa => format!("{} per conversion", format::money(rate.0, currency)),
        PayoutType::Revshare => format!("{rate}% of the sale"),
    }
}

/// The partner's rules (newest first) and its earning on each of `offers`.
pub fn rows(
    rules: &[PayoutRule],
    offers: &[Offer],
    partner_id: i64,
    tz: Tz,
) -> (Vec<RuleRow>, Vec<EarnRow>) {
    let at = now();
    let name = |id: i64| {
        offers
            .iter()
            .find(|o| o.id == id)
            .map_or_else(|| format!("Offer #{id}"), |o| o.name.clone())
    };
    let currency = |id: Option<i64>| {
        id.and_then(|id| offers.iter().find(|o| o.id == id))
            .map_or("", |o| o.currency.as_str())
    };
    let rule_rows = rules
        .iter()
        .map(|r| RuleRow {
            id: r.id,
            offer: r.offer_id.map_or_else(|| "All offers".to_string(), name),
            pays: pays(r.payout_type, r.payout, currency(r.offer_id)),
            from: format::datetime(r.starts_at, tz),
            until: r
                .ends_at
                .map_or_else(|| "open-ended".into(), |e| format::datetime(e, tz)),
            active: r.applies_at(at),
        })
        .collect();
    let earn = offers
        .iter()
        .map(|o| {
            let e = earning(o.payout_type, o.payout, rules, o.id, partner_id, at);
            EarnRow {
                offer_id: o.id,
                offer: o.name.clone(),
                pays: pays(e.payout_type, e.payout, &o.currency),
                source: e
                    .rule_id
                    .map_or_else(|| "the offer's own payout".into(), |r| format!("rule #{r}")),
            }
        })
        .collect();
    (rule_rows, earn)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RuleForm {
    csrf: String,
    offer_id: String,
    payout_type: String,
    payout: String,
    starts: String,
    ends: String,
}

/// A date field as the first instant of that day in `tz` (empty: `None`).
fn day_field(text: &str, field: &str, tz: Tz) -> poem::Result<Option<i64>> {
    match text.trim() {
        "" => Ok(None),
        t => parse_day(t)
            .map(|d| Some(day_start(d, tz)))
            .map_err(|_| refused(&format!("{field} must be a date such as 2026-12-01"))),
    }
}

/// `POST /b/{brand}/partners/{id}/rules`: a new rule for this partner, on one offer or all,
/// from a day (default now) until a day (default open-ended), in the brand's zone.
#[handler]
pub async fn add(
    req: &Request,
    admin: Admin,
    Path((brand_id, partner_id)): Path<(i64, i64)>,
    Form(f): Form<RuleForm>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let brand = BrandId::new(brand_id);
    let state = session::state(req);
    let tz = state
        .db(move |c| crate::store::brands::timezone(c, brand))
        .await
        .map_err(change_refused)?;
    let payout = f
        .payout
        .trim()
        .parse::<f64>()
        .map_err(|_| "payout must be a number such as 12.50".to_string())
        .and_then(|v| Money::from_json(v, "payout"))
        .map_err(|m| refused(&m))?;
    let offer_id = match f.offer_id.trim() {
        "" => None,
        o => Some(o.parse::<i64>().map_err(|_| not_found())?),
    };
    let input = RuleInput {
        offer_id,
        partner_id,
        payout_type: f.payout_type.parse().unwrap_or(PayoutType::Cpa),
        payout,
        starts_at: day_field(&f.starts, "starts", tz)?.unwrap_or_else(now),
        ends_at: day_field(&f.ends, "ends", tz)?,
    }
    .check()
    .map_err(|m| refused(&m))?;
    state
        .db(move |c| payout_rules::create(c, brand, &input))
        .await
        .map_err(change_refused)?;
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/partners/{partner_id}#rules"),
        "rule_added",
    ))
}

/// `POST /b/{brand}/partners/{id}/rules/{rule}/delete`.
#[handler]
pub async fn remove(
    req: &Request,
    admin: Admin,
    Path((brand_id, partner_id, rule_id)): Path<(i64, i64, i64)>,
    Form(f): Form<CsrfOnly>,
) -> poem::Result<Response> {
    admin.check_csrf(&f.csrf)?;
    let brand = BrandId::new(brand_id);
    session::state(req)
        .db(move |c| {
            if payout_rules::get(c, brand, rule_id)?.partner_id != partner_id {
                return Err(StoreError::NotFound);
            }
            payout_rules::delete(c, brand, rule_id)
        })
        .await
        .map_err(change_refused)?;
    Ok(redirect_with_flash(
        req,
        &format!("/b/{brand_id}/partners/{partner_id}#rules"),
        "rule_removed",
    ))
}
