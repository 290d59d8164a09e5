//! `/offers`: list, create, get, patch.

use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::auth::BrandKey;
use super::body::JsonBody;
use super::errors::ApiError;
use super::{ApiTags, pagination, public_base};
use crate::domain::money::Money;
use crate::domain::offer::{OfferDraft, OfferInput};
use crate::domain::time::to_rfc3339;
use crate::state::AppState;
use crate::store::offers as store;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum PayoutType {
    /// A fixed payout per conversion.
    Cpa,
    /// A percent of the sale amount.
    Revshare,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum OfferStatus {
    Active,
    Paused,
    Archived,
}

super::mirror_enum!(PayoutType <=> crate::domain::status::PayoutType { Cpa, Revshare });
super::mirror_enum!(OfferStatus <=> crate::domain::status::OfferStatus { Active, Paused, Archived });

/// Something a brand pays partners for.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Offer {
    pub id: i64,
    pub name: String,
    /// Where a click is sent; `{click_id}`, `{offer_id}`, `{partner_id}`, `{sub1}`…`{sub5}` are filled in.
    pub destination_url: String,
    pub payout_type: PayoutType,
    /// `cpa`: the amount per conversion; `revshare`: the percent of the sale amount.
    pub payout: f64,
    /// ISO 4217 code.
    pub currency: String,
    pub status: OfferStatus,
    /// The link partners share; replace `{partner_id}` with the partner's id.
    pub tracking_url: String,
    /// Days a conversion that would be approved is held `pending` first (its `hold_until`);
    /// the server approves it when the hold passes. 0: not held.
    pub hold_days: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Example for Offer {
    fn example() -> Self {
        Offer {
            id: 1,
            name: "Summer sale".into(),
            destination_url: "https://shop.example.com/landing?cid={click_id}&s={sub1}".into(),
            payout_type: PayoutType::Cpa,
            payout: 12.5,
            currency: "USD".into(),
            status: OfferStatus::Active,
            tracking_url: "http://127.0.0.1:8080/c/1/{partner_id}".into(),
            hold_days: 30,
            created_at: "2026-11-24T19:09:24Z".into(),
            updated_at: "2026-11-24T19:09:24Z".into(),
        }
    }
}

fn to_api(o: store::Offer, base: &str) -> Offer {
    Offer {
        tracking_url: format!("{base}/c/{}/{{partner_id}}", o.id),
        id: o.id,
        name: o.name,
        destination_url: o.destination_url,
        payout_type: o.payout_type.into(),
        payout: o.payout.to_json(),
        currency: o.currency,
        status: o.status.into(),
        hold_days: o.hold_days,
        created_at: to_rfc3339(o.created_at),
        updated_at: to_rfc3339(o.updated_at),
    }
}

#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreateOffer {
    /// 1–200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// An absolute http or https URL, ASCII only; may contain macros in its path, query and
    /// fragment, never in its scheme, user, host or port. Stored and answered in the form
    /// browsers read it (`HTTPS:Shop.Example` is `https://shop.example/`).
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub destination_url: String,
    /// Default `cpa`.
    pub payout_type: Option<PayoutType>,
    /// >= 0 and <= 1000000000 (one billion), at most 2 decimals; <= 100 for `revshare`.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub payout: f64,
    /// ISO 4217 code of a currency (not `XXX`, `XTS`, metals or `XDR`), default `USD`;
    /// any case, answered upper case.
    #[oai(validator(pattern = "^[A-Za-z]{3}$"))]
    pub currency: Option<String>,
    /// Default `active`.
    pub status: Option<OfferStatus>,
    /// 0–365, default 0: days a conversion that would be approved is held `pending` first.
    #[oai(validator(minimum(value = "0"), maximum(value = "365")))]
    pub hold_days: Option<i64>,
}

impl Example for CreateOffer {
    fn example() -> Self {
        CreateOffer {
            name: "Summer sale".into(),
            destination_url: "https://shop.example.com/landing?cid={click_id}&s={sub1}".into(),
            payout_type: Some(PayoutType::Cpa),
            payout: 12.5,
            currency: Some("USD".into()),
            status: None,
            hold_days: None,
        }
    }
}

/// Only the fields given change.
#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct UpdateOffer {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub destination_url: Option<String>,
    pub payout_type: Option<PayoutType>,
    /// >= 0 and <= 1000000000 (one billion), at most 2 decimals; <= 100 for `revshare`.
    #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
    pub payout: Option<f64>,
    /// Must equal the current currency: reports would otherwise mix currencies in one offer.
    #[oai(validator(pattern = "^[A-Za-z]{3}$"))]
    pub currency: Option<String>,
    pub status: Option<OfferStatus>,
    /// 0–365; changes only conversions recorded from now on.
    #[oai(validator(minimum(value = "0"), maximum(value = "365")))]
    pub hold_days: Option<i64>,
}

impl Example for UpdateOffer {
    fn example() -> Self {
        UpdateOffer {
            name: None,
            destination_url: None,
            payout_type: None,
            payout: Some(15.0),
            currency: None,
            status: Some(OfferStatus::Paused),
            hold_days: None,
        }
    }
}

#[derive(Object)]
pub struct OfferList {
    pub data: Vec<Offer>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum OfferCreated {
    /// The offer was created.
    #[oai(status = 201)]
    Created(Json<Offer>, #[oai(header = "Location")] String),
}

pub struct OffersApi;

#[OpenApi(tag = "ApiTags::Offers")]
impl OffersApi {
    /// List offers
    ///
    /// The current brand's offers, newest first. Filter by `status`; page with `limit` and
    /// the `next_cursor` of the previous page.
    #[oai(path = "/offers", method = "get", operation_id = "listOffers")]
    async fn list(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        req: &Request,
        /// Only offers with this status.
        status: Query<Option<OfferStatus>>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<OfferList>, ApiError> {
        let brand = auth.0.brand_id;
        let limit = pagination::limit(limit.0)?;
        let before = pagination::cursor(cursor.0.as_deref())?;
        let status = status.0.map(Into::into);
        let page = state
            .db(move |c| store::list(c, brand, status, before, limit))
            .await?;
        let base = public_base(req);
        let next = pagination::next(page.has_more, page.rows.last().map(|o| o.id));
        Ok(Json(OfferList {
            data: page.rows.into_iter().map(|o| to_api(o, &base)).collect(),
            has_more: page.has_more,
            next_cursor: next,
        }))
    }

    /// Create an offer
    ///
    /// Answers 201 with the offer and its `Location`. `payout` has at most 2 decimals; for
    /// `revshare` it is a percent (0–100) of each conversion's `amount`.
    #[oai(path = "/offers", method = "post", operation_id = "createOffer")]
    async fn create(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        req: &Request,
        body: JsonBody<CreateOffer>,
    ) -> Result<OfferCreated, ApiError> {
        let b = body.0;
        let draft = OfferDraft {
            name: b.name,
            destination_url: b.destination_url,
            payout_type: b.payout_type.unwrap_or(PayoutType::Cpa).into(),
            payout: Money::from_json(b.payout, "payout").map_err(ApiError::validation)?,
            currency: b.currency.unwrap_or_else(|| "USD".into()),
            status: b.status.unwrap_or(OfferStatus::Active).into(),
            hold_days: b.hold_days.unwrap_or(0),
        };
        let fields = OfferInput::try_from(draft).map_err(ApiError::validation)?;
        let brand = auth.0.brand_id;
        let offer = state.db(move |c| store::create(c, brand, &fields)).await?;
        state.catalog.put_offer(&offer);
        let location = format!("/api/v1/offers/{}", offer.id);
        Ok(OfferCreated::Created(
            Json(to_api(offer, &public_base(req))),
            location,
        ))
    }

    /// Get an offer
    ///
    /// 404 when the id is unknown or belongs to another brand.
    #[oai(path = "/offers/:id", method = "get", operation_id = "getOffer")]
    async fn get(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        req: &Request,
        id: Path<i64>,
    ) -> Result<Json<Offer>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        let offer = state.db(move |c| store::get(c, brand, id)).await?;
        Ok(Json(to_api(offer, &public_base(req))))
    }

    /// Update an offer
    ///
    /// Partial update: only the fields given change, under the same rules as create. Pausing
    /// or archiving an offer stops its tracking links at once. Answers with the whole offer.
    #[oai(path = "/offers/:id", method = "patch", operation_id = "updateOffer")]
    async fn update(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        req: &Request,
        id: Path<i64>,
        body: JsonBody<UpdateOffer>,
    ) -> Result<Json<Offer>, ApiError> {
        let (brand, id, b) = (auth.0.brand_id, id.0, body.0);
        let payout = b
            .payout
            .map(|p| Money::from_json(p, "payout"))
            .transpose()
            .map_err(ApiError::validation)?;
        let catalog = state.catalog.clone();
        let merge = move |cur: store::Offer| {
            if b.currency
                .as_ref()
                .is_some_and(|c| !c.eq_ignore_ascii_case(&cur.currency))
            {
                return Err(
                    "currency can't be changed once an offer exists; create a new offer instead"
                        .to_string(),
                );
            }
            OfferInput::try_from(OfferDraft {
                name: b.name.unwrap_or(cur.name),
                destination_url: b.destination_url.unwrap_or(cur.destination_url),
                payout_type: b.payout_type.map_or(cur.payout_type, Into::into),
                payout: payout.unwrap_or(cur.payout),
                currency: cur.currency,
                status: b.status.map_or(cur.status, Into::into),
                hold_days: b.hold_days.unwrap_or(cur.hold_days),
            })
        };
        let offer = state
            .db(move |c| store::modify(c, brand, id, merge, |o| catalog.put_offer(o)))
            .await?;
        Ok(Json(to_api(offer, &public_base(req))))
    }
}
