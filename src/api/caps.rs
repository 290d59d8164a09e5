//! `/offers/{id}/caps` and `/caps/{id}`: limits on what an offer pays out per window.

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use super::auth::BrandKey;
use super::body::JsonBody;
use super::errors::ApiError;
use crate::domain::cap::{Cap as DomainCap, limit as parse_limit, shown};
use crate::domain::time::{now, to_rfc3339};
use crate::state::AppState;
use crate::store::{brands, caps as store};

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum CapMetric {
    /// How many conversions.
    Conversions,
    /// How much payout, in the offer's currency.
    Payout,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum CapWindow {
    Day,
    /// Monday to Sunday.
    Week,
    Month,
    /// Never resets.
    Lifetime,
}

super::mirror_enum!(CapMetric <=> crate::domain::status::CapMetric { Conversions, Payout });
super::mirror_enum!(CapWindow <=> crate::domain::status::CapWindow { Day, Week, Month, Lifetime });

/// A limit on an offer's conversions or payout per window (in the brand's zone), for the whole
/// offer or one partner on it. Conversions `approved` or `pending` count; one that would take a
/// cap past its limit is recorded `rejected` with reason `cap_reached`.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Cap {
    pub id: i64,
    pub offer_id: i64,
    /// Null: every partner on the offer together.
    #[oai(nullable)]
    pub partner_id: Option<i64>,
    pub metric: CapMetric,
    pub window: CapWindow,
    /// A count for `conversions`; money (at most 2 decimals) for `payout`.
    pub limit: f64,
    /// What the current window has used, in the unit of `limit`.
    pub used: f64,
    pub created_at: String,
}

impl Example for Cap {
    fn example() -> Self {
        Cap {
            id: 2,
            offer_id: 1,
            partner_id: None,
            metric: CapMetric::Conversions,
            window: CapWindow::Day,
            limit: 50.0,
            used: 12.0,
            created_at: "2026-11-30T18:00:00Z".into(),
        }
    }
}

fn to_api(c: DomainCap, used: i64) -> Cap {
    Cap {
        id: c.id,
        offer_id: c.offer_id,
        partner_id: c.partner_id,
        metric: c.metric.into(),
        window: c.window.into(),
        limit: shown(c.metric, c.limit),
        used: shown(c.metric, used),
        created_at: to_rfc3339(c.created_at),
    }
}

#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreateCap {
    /// Omit (or null) to cap the whole offer.
    pub partner_id: Option<i64>,
    pub metric: CapMetric,
    pub window: CapWindow,
    /// > 0: a whole number for `conversions`, money with at most 2 decimals for `payout`.
    #[oai(validator(maximum(value = "1000000000")))]
    pub limit: f64,
}

impl Example for CreateCap {
    fn example() -> Self {
        CreateCap {
            partner_id: None,
            metric: CapMetric::Conversions,
            window: CapWindow::Day,
            limit: 50.0,
        }
    }
}

#[derive(Object)]
pub struct CapList {
    /// Oldest first.
    pub data: Vec<Cap>,
}

#[derive(ApiResponse)]
pub enum CapCreated {
    /// The cap was created; `used` counts the conversions already recorded in its window.
    #[oai(status = 201)]
    Created(Json<Cap>),
}

#[derive(ApiResponse)]
pub enum CapDeleted {
    /// The cap no longer applies.
    #[oai(status = 204)]
    Deleted,
}

pub struct CapsApi;

#[OpenApi(tag = "ApiTags::Caps")]
impl CapsApi {
    /// List an offer's caps
    ///
    /// Every cap of the offer with `used` in its current window.
    #[oai(path = "/offers/:id/caps", method = "get", operation_id = "listCaps")]
    async fn list(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<CapList>, ApiError> {
        let (brand, offer) = (auth.0.brand_id, id.0);
        let data = state
            .db(move |c| {
                crate::store::offers::get(c, brand, offer)?;
                let tz = brands::timezone(c, brand)?;
                store::of_offer_with_use(c, brand, offer, now(), tz)
            })
            .await?;
        Ok(Json(CapList {
            data: data
                .into_iter()
                .map(|(cap, used)| to_api(cap, used))
                .collect(),
        }))
    }

    /// Create a cap
    ///
    /// Limits the offer's (or one partner's on it) `conversions` or `payout` per `day`,
    /// `week` (from Monday) or `month` in the brand's time zone, or over its `lifetime`.
    /// Counted: conversions `approved` or `pending`, by when they occurred. Exact under any
    /// number of parallel postbacks.
    #[oai(path = "/offers/:id/caps", method = "post", operation_id = "createCap")]
    async fn create(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
        body: JsonBody<CreateCap>,
    ) -> Result<CapCreated, ApiError> {
        let (brand, offer, b) = (auth.0.brand_id, id.0, body.0);
        let metric: crate::domain::status::CapMetric = b.metric.into();
        let limit = parse_limit(metric, b.limit).map_err(ApiError::validation)?;
        let new = store::NewCap {
            partner_id: b.partner_id,
            metric,
            window: b.window.into(),
            limit,
        };
        // Through the writer: the use counted so far and the postbacks after it are in order.
        let cap = state
            .writer
            .run(move |c, _| {
                let tz = brands::timezone(c, brand)?;
                let cap = store::create(c, brand, offer, &new, tz)?;
                let used = store::used(c, &cap, now(), tz)?;
                Ok(to_api(cap, used))
            })
            .await?;
        Ok(CapCreated::Created(Json(cap)))
    }

    /// Delete a cap
    ///
    /// The cap stops limiting at once; conversions it rejected stay rejected.
    #[oai(path = "/caps/:id", method = "delete", operation_id = "deleteCap")]
    async fn delete(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<CapDeleted, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        state
            .writer
            .run(move |c, _| store::delete(c, brand, id))
            .await?;
        Ok(CapDeleted::Deleted)
    }
}
