//! `/events`: what happened to the brand's conversions, oldest first, for polling.

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::BrandKey;
use super::errors::ApiError;
use super::{ApiTags, pagination};
use crate::domain::time::to_rfc3339;
use crate::state::AppState;
use crate::store::events as store;

/// One thing that happened, written in the same transaction as the change itself.
#[derive(Object, Debug)]
pub struct Event {
    /// Increasing: poll with `after` set to the last id seen.
    pub id: i64,
    /// `conversion.created`, `conversion.status_changed`, `statement.created` or
    /// `statement.paid`.
    #[oai(rename = "type")]
    pub kind: String,
    pub created_at: String,
    /// The resource as it was after the change: a `Conversion` for `conversion.*` events, a
    /// `Statement` for `statement.*` events.
    pub data: serde_json::Value,
}

#[derive(Object, Debug)]
pub struct EventList {
    /// Oldest first.
    pub data: Vec<Event>,
    /// More events follow the last of these: ask again with `after` = its id.
    pub has_more: bool,
}

pub struct EventsApi;

#[OpenApi(tag = "ApiTags::Events")]
impl EventsApi {
    /// List events
    ///
    /// Every conversion recorded (`conversion.created`), every status change
    /// (`conversion.status_changed`, the server's own hold approvals included), and every
    /// statement made (`statement.created`) and paid (`statement.paid`), oldest first, from after the id `after` (default 0: from
    /// the first). Poll with `after` set to the last id you saw to miss nothing and see
    /// nothing twice.
    #[oai(path = "/events", method = "get", operation_id = "listEvents")]
    async fn list(
        &self,
        auth: BrandKey,
        state: Data<&AppState>,
        /// Only events with a greater id; default 0.
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
        /// Page size, 1–100 (default 25).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<EventList>, ApiError> {
        let brand = auth.0.brand_id;
        let limit = pagination::limit(limit.0)?;
        let after = after.0.unwrap_or(0);
        let page = state
            .db(move |c| store::list(c, brand, after, limit))
            .await?;
        let data = page
            .rows
            .into_iter()
            .map(|e| {
                let data = serde_json::from_str(&e.data).map_err(|err| {
                    tracing::error!(error = %err, id = e.id, "an event's data is not JSON");
                    ApiError::internal()
                })?;
                Ok(Event {
                    id: e.id,
                    kind: e.kind,
                    created_at: to_rfc3339(e.created_at),
                    data,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Json(EventList {
            data,
            has_more: page.has_more,
        }))
    }
}
