//! `/brand`: the key's own brand, its name and time zone.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::auth::BrandKey;
use super::body::JsonBody;
use super::errors::ApiError;
use crate::domain::name::{Name, api_message};
use crate::domain::time::{parse_timezone, to_rfc3339};
use crate::state::AppState;
use crate::store::brands::{self as store, BrandChange};

/// The brand the API key belongs to: every request with the key sees this brand's data only.
#[derive(Object, Debug)]
#[oai(example)]
pub struct Brand {
    pub id: i64,
    pub name: String,
    /// IANA zone name (default `UTC`): the `timezone` of `/reports` when none is given.
    pub timezone: String,
    pub created_at: String,
}

impl Example for Brand {
    fn example() -> Self {
        Brand {
            id: 1,
            name: "Acme".into(),
            timezone: "Europe/Berlin".into(),
            created_at: "2026-11-24T19:09:24Z".into(),
        }
    }
}

fn to_api(b: store::Brand) -> Brand {
    Brand {
        id: b.id.get(),
        name: b.name,
        timezone: b.timezone.name().to_string(),
        created_at: to_rfc3339(b.created_at),
    }
}

/// Only the fields given change.
#[derive(Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct UpdateBrand {
    /// 1–200 characters, trimmed; no other brand on this server may have it
    /// (`duplicate_name`).
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    /// An IANA zone name, exactly as the tz database spells it (`Asia/Kolkata`, `UTC`).
    #[oai(validator(min_length = 1, max_length = 64))]
    pub timezone: Option<String>,
}

impl Example for UpdateBrand {
    fn example() -> Self {
        UpdateBrand {
            name: None,
            timezone: Some("Europe/Berlin".into()),
        }
    }
}

pub struct BrandApi;

#[OpenApi(tag = "ApiTags::Brand")]
impl BrandApi {
    /// Get the brand
    ///
    /// The brand this key belongs to: its name, its time zone and when it was created.
    #[oai(path = "/brand", method = "get", operation_id = "getBrand")]
    async fn get(&self, auth: BrandKey, state: Data<&AppState>) -> Result<Json<Brand>, ApiError> {
        let brand = auth.0.brand_id;
        Ok(Json(to_api(state.db(move |c| store::get(c, brand)).await?)))
    }

    /// Update the brand
    ///
    /// Change the brand's `timezone` (the default zone of `/reports`, whose days and hours
    /// follow it) and/or its `name`. Only the fields given change; answers with the whole
    /// brand. An unknown zone or an empty name answers 422 naming the field.
    #[oai(path = "/brand", method = "patch", operation_id = "updateBrand")]
    async fn update(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        body: JsonBody<UpdateBrand>,
    ) -> Result<Json<Brand>, ApiError> {
        let b = body.0;
        let change = BrandChange {
            name: b
                .name
                .map(|n| Name::parse(&n).map_err(|e| ApiError::validation(api_message(e))))
                .transpose()?,
            timezone: b
                .timezone
                .map(|z| {
                    parse_timezone(&z).ok_or_else(|| {
                        ApiError::validation(format!("timezone: unknown IANA zone {z:?}"))
                    })
                })
                .transpose()?,
        };
        let brand = auth.0.brand_id;
        let updated = state.db(move |c| store::update(c, brand, &change)).await?;
        Ok(Json(to_api(updated)))
    }
}
