//! `/payout-rules` and `/offers/{id}/payout`: what a partner earns instead of an offer's payout.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::auth::BrandKey;
use super::body::JsonBody;
use super::errors::ApiError;
use super::offers::PayoutType;
use super::{ApiTags, pagination};
use crate::domain::money::Money;
use crate::domain::payout_rule::{self as domain, RuleInput};
use crate::domain::time::{now, to_rfc3339};
use crate::state::AppState;
use crate::store::{offers, partners, payout_rules as store};

/// What one partner earns on one offer, or on all of its offers, for a span of time.
#[derive(Object, Debug)]
#[oai(example)]
pub struct PayoutRule {
    pub id: i64,
    /// Null: every offer of the partner.
    #[oai(nullable)]
    pub offer_id: Option<i64>,
    pub partner_id: i64,
    pub payout_type: PayoutType,
    /// `cpa`: the amount per conversion; `revshare`: the percent of the sale amount. In the
    /// offer's currency.
    pub payout: f64,
    /// From when it applies (a conversion's `occurred_at`).
    pub starts_at: String,
    /// Until when, not included; null: open-ended.
    #[oai(nullable)]
    pub ends_at: Option<String>,
    pub created_at: String,
}

impl Example for PayoutRule {
    fn example() -> Self {
        PayoutRule {
            id: 3,
            offer_id: Some(1),
            partner_id: 7,
            payout_type: PayoutType::Cpa,
            payout: 15.0,
            starts_at: "2026-12-01T00:00:00Z".into(),
            ends_at: None,
            created_at: "2026-11-30T18:00:00Z".into(),
        }
    }
}

fn to_api(r: domain::PayoutRule) -> PayoutRule {
    PayoutRule {
        id: r.id,
        offer_id: r.offer_id,
        partner_id: r.partner_id,
        payout_type: r.payout_type.into(),
        payout: r.payout.to_json(),
        starts_at: to_rfc3339(r.starts_at),
        ends_at: r.ends_at.map(to_rfc3339),
        created_at: to_rfc3339(r.created_at),
    }
}

#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreatePayoutRule {
    /// Omit (or null) for every offer of the partner.
    pub offer_id: Option<i64>,
    pub partner_id: i64,
    /// Default `cpa`.
    pub payout_type: Option<PayoutType>,
    /// >= 0 and <= 1000000000, at most 2 decimals; <= 100 for `revshare`.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub payout: f64,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// RFC 3339, after `starts_at`; omit for open-ended.
    pub ends_at: Option<String>,
}

impl Example for CreatePayoutRule {
    fn example() -> Self {
        CreatePayoutRule {
            offer_id: Some(1),
            partner_id: 7,
            payout_type: Some(PayoutType::Cpa),
            payout: 15.0,
            starts_at: Some("2026-12-01T00:00:00Z".into()),
            ends_at: None,
        }
    }
}

#[derive(Object)]
pub struct PayoutRuleList {
    pub data: Vec<PayoutRule>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// What a partner earns on an offer at a moment, and why.
#[derive(Object, Debug)]
#[oai(example)]
pub struct EffectivePayout {
    pub payout_type: PayoutType,
    pub payout: f64,
    pub currency: String,
    /// The rule that applies; null when the offer's own payout does.
    #[oai(nullable)]
    pub rule_id: Option<i64>,
}

impl Example for EffectivePayout {
    fn example() -> Self {
        EffectivePayout {
            payout_type: PayoutType::Cpa,
            payout: 15.0,
            currency: "USD".into(),
            rule_id: Some(3),
        }
    }
}

#[derive(ApiResponse)]
pub enum RuleCreated {
    /// The rule was created; it prices conversions recorded from now on.
    #[oai(status = 201)]
    Created(Json<PayoutRule>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum RuleDeleted {
    /// The rule no longer applies; conversions it priced keep their payout.
    #[oai(status = 204)]
    Deleted,
}

/// An RFC 3339 field, as unix seconds.
pub fn instant(field: &str, text: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|_| ApiError::validation(format!("{field} must be an RFC 3339 time")))
}

pub struct PayoutRulesApi;

#[OpenApi(tag = "ApiTags::PayoutRules")]
impl PayoutRulesApi {
    /// List payout rules
    ///
    /// Newest first; filter by `offer_id` or `partner_id`.
    #[oai(
        path = "/payout-rules",
        method = "get",
        operation_id = "listPayoutRules"
    )]
    async fn list(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        offer_id: Query<Option<i64>>,
        partner_id: Query<Option<i64>>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<PayoutRuleList>, ApiError> {
        let brand = auth.0.brand_id;
        let limit = pagination::limit(limit.0)?;
        let before = pagination::cursor(cursor.0.as_deref())?;
        let f = store::Filter {
            offer_id: offer_id.0,
            partner_id: partner_id.0,
        };
        let page = state
            .db(move |c| store::list(c, brand, f, before, limit))
            .await?;
        let next = pagination::next(page.has_more, page.rows.last().map(|r| r.id));
        Ok(Json(PayoutRuleList {
            data: page.rows.into_iter().map(to_api).collect(),
            has_more: page.has_more,
            next_cursor: next,
        }))
    }

    /// Create a payout rule
    ///
    /// What `partner_id` earns on `offer_id` (or on all its offers when `offer_id` is
    /// omitted) from `starts_at` until `ends_at`. For a conversion, a rule for its offer and
    /// partner wins over one for the partner's offers, which wins over the offer's own
    /// payout; among rules of the same kind the latest `starts_at`, then the highest id. The
    /// currency is always the offer's. A conversion's payout is fixed when it is recorded.
    #[oai(
        path = "/payout-rules",
        method = "post",
        operation_id = "createPayoutRule"
    )]
    async fn create(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        body: JsonBody<CreatePayoutRule>,
    ) -> Result<RuleCreated, ApiError> {
        let b = body.0;
        let starts_at = match &b.starts_at {
            Some(t) => instant("starts_at", t)?,
            None => now(),
        };
        let ends_at = b
            .ends_at
            .as_deref()
            .map(|t| instant("ends_at", t))
            .transpose()?;
        let input = RuleInput {
            offer_id: b.offer_id,
            partner_id: b.partner_id,
            payout_type: b.payout_type.unwrap_or(PayoutType::Cpa).into(),
            payout: Money::from_json(b.payout, "payout").map_err(ApiError::validation)?,
            starts_at,
            ends_at,
        }
        .check()
        .map_err(ApiError::validation)?;
        let brand = auth.0.brand_id;
        let rule = state.db(move |c| store::create(c, brand, &input)).await?;
        let location = format!("/api/v1/payout-rules/{}", rule.id);
        Ok(RuleCreated::Created(Json(to_api(rule)), location))
    }

    /// Get a payout rule
    ///
    /// 404 when the id is unknown, belongs to another brand, or the rule was deleted.
    #[oai(
        path = "/payout-rules/:id",
        method = "get",
        operation_id = "getPayoutRule"
    )]
    async fn get(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<PayoutRule>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        Ok(Json(to_api(
            state.db(move |c| store::get(c, brand, id)).await?,
        )))
    }

    /// Delete a payout rule
    ///
    /// The rule stops applying at once; conversions it priced keep their payout.
    #[oai(
        path = "/payout-rules/:id",
        method = "delete",
        operation_id = "deletePayoutRule"
    )]
    async fn delete(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<RuleDeleted, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        state.db(move |c| store::delete(c, brand, id)).await?;
        Ok(RuleDeleted::Deleted)
    }

    /// What a partner earns on an offer
    ///
    /// The payout a conversion of `partner_id` on this offer would get at `at` (default now),
    /// and the rule that gives it (`rule_id` null: the offer's own payout).
    #[oai(
        path = "/offers/:id/payout",
        method = "get",
        operation_id = "getEffectivePayout"
    )]
    async fn effective(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
        partner_id: Query<i64>,
        /// RFC 3339; default now.
        at: Query<Option<String>>,
    ) -> Result<Json<EffectivePayout>, ApiError> {
        let (brand, offer_id, partner_id) = (auth.0.brand_id, id.0, partner_id.0);
        let at = match &at.0 {
            Some(t) => instant("at", t)?,
            None => now(),
        };
        let (offer, rules) = state
            .db(move |c| {
                let offer = offers::get(c, brand, offer_id)?;
                partners::named(c, brand, partner_id)?;
                Ok((offer, store::in_force(c, brand, offer_id, partner_id, at)?))
            })
            .await?;
        let e = domain::earning(
            offer.payout_type,
            offer.payout,
            &rules,
            offer_id,
            partner_id,
            at,
        );
        Ok(Json(EffectivePayout {
            payout_type: e.payout_type.into(),
            payout: e.payout.to_json(),
            currency: offer.currency,
            rule_id: e.rule_id,
        }))
    }
}
