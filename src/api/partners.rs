//! `/partners`: list, create, get, patch.

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::auth::BrandKey;
use super::body::JsonBody;
use super::errors::ApiError;
use super::{ApiTags, pagination};
use crate::domain::partner::{PartnerDraft, PartnerInput};
use crate::domain::time::to_rfc3339;
use crate::state::AppState;
use crate::store::partners as store;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum PartnerStatus {
    Active,
    Pending,
    /// A blocked partner's tracking links answer 404 and record nothing.
    Blocked,
}

super::mirror_enum!(PartnerStatus <=> crate::domain::status::PartnerStatus { Active, Pending, Blocked });

/// An affiliate who sends traffic to the brand's offers.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Partner {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub status: PartnerStatus,
    pub created_at: String,
    pub updated_at: String,
}

impl Example for Partner {
    fn example() -> Self {
        Partner {
            id: 7,
            name: "Deal Hunters".into(),
            email: "team@dealhunters.example".into(),
            status: PartnerStatus::Active,
            created_at: "2026-11-24T19:09:24Z".into(),
            updated_at: "2026-11-24T19:09:24Z".into(),
        }
    }
}

fn to_api(p: store::Partner) -> Partner {
    Partner {
        id: p.id,
        name: p.name,
        email: p.email,
        status: p.status.into(),
        created_at: to_rfc3339(p.created_at),
        updated_at: to_rfc3339(p.updated_at),
    }
}

#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct CreatePartner {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// Unique within the brand.
    #[oai(validator(min_length = 3, max_length = 254))]
    pub email: String,
    /// Default `active`.
    pub status: Option<PartnerStatus>,
}

impl Example for CreatePartner {
    fn example() -> Self {
        CreatePartner {
            name: "Deal Hunters".into(),
            email: "team@dealhunters.example".into(),
            status: None,
        }
    }
}

#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct UpdatePartner {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    #[oai(validator(min_length = 3, max_length = 254))]
    pub email: Option<String>,
    pub status: Option<PartnerStatus>,
}

impl Example for UpdatePartner {
    fn example() -> Self {
        UpdatePartner {
            name: None,
            email: None,
            status: Some(PartnerStatus::Blocked),
        }
    }
}

#[derive(Object)]
pub struct PartnerList {
    pub data: Vec<Partner>,
    pub has_more: bool,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum PartnerCreated {
    /// The partner was created.
    #[oai(status = 201)]
    Created(Json<Partner>, #[oai(header = "Location")] String),
}

pub struct PartnersApi;

#[OpenApi(tag = "ApiTags::Partners")]
impl PartnersApi {
    /// List partners
    ///
    /// The current brand's partners, newest first. Filter by `status`; page with `limit`
    /// and `cursor`.
    #[oai(path = "/partners", method = "get", operation_id = "listPartners")]
    async fn list(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        /// Only partners with this status.
        status: Query<Option<PartnerStatus>>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<PartnerList>, ApiError> {
        let brand = auth.0.brand_id;
        let limit = pagination::limit(limit.0)?;
        let before = pagination::cursor(cursor.0.as_deref())?;
        let status = status.0.map(Into::into);
        let page = state
            .db(move |c| store::list(c, brand, status, before, limit))
            .await?;
        let next = pagination::next(page.has_more, page.rows.last().map(|p| p.id));
        Ok(Json(PartnerList {
            data: page.rows.into_iter().map(to_api).collect(),
            has_more: page.has_more,
            next_cursor: next,
        }))
    }

    /// Create a partner
    ///
    /// The email is unique within the brand (422 `duplicate_email`). Answers 201 with the
    /// partner and its `Location`.
    #[oai(path = "/partners", method = "post", operation_id = "createPartner")]
    async fn create(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        body: JsonBody<CreatePartner>,
    ) -> Result<PartnerCreated, ApiError> {
        let b = body.0;
        let draft = PartnerDraft {
            name: b.name,
            email: b.email,
            status: b.status.unwrap_or(PartnerStatus::Active).into(),
        };
        let fields = PartnerInput::try_from(draft).map_err(ApiError::validation)?;
        let brand = auth.0.brand_id;
        let partner = state.db(move |c| store::create(c, brand, &fields)).await?;
        state.catalog.put_partner(&partner);
        let location = format!("/api/v1/partners/{}", partner.id);
        Ok(PartnerCreated::Created(Json(to_api(partner)), location))
    }

    /// Get a partner
    ///
    /// 404 when the id is unknown or belongs to another brand.
    #[oai(path = "/partners/:id", method = "get", operation_id = "getPartner")]
    async fn get(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
    ) -> Result<Json<Partner>, ApiError> {
        let (brand, id) = (auth.0.brand_id, id.0);
        Ok(Json(to_api(
            state.db(move |c| store::get(c, brand, id)).await?,
        )))
    }

    /// Update a partner
    ///
    /// Partial update under the same rules as create. Blocking a partner stops their
    /// tracking links at once. Answers with the whole partner.
    #[oai(
        path = "/partners/:id",
        method = "patch",
        operation_id = "updatePartner"
    )]
    async fn update(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        id: Path<i64>,
        body: JsonBody<UpdatePartner>,
    ) -> Result<Json<Partner>, ApiError> {
        let (brand, id, b) = (auth.0.brand_id, id.0, body.0);
        let catalog = state.catalog.clone();
        let merge = move |cur: store::Partner| {
            PartnerInput::try_from(PartnerDraft {
                name: b.name.unwrap_or(cur.name),
                email: b.email.unwrap_or(cur.email),
                status: b.status.map_or(cur.status, Into::into),
            })
        };
        let partner = state
            .db(move |c| store::modify(c, brand, id, merge, |p| catalog.put_partner(p)))
            .await?;
        Ok(Json(to_api(partner)))
    }
}
