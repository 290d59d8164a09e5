//! The one way an API call fails: `{"error":{"code","message"}}` with the contract's codes.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::{ApiResponse, Object, payload::Json, types::Example};

use crate::domain::attribution::Refusal;
use crate::store::StoreError;
use crate::tracking::writer::WriteError;

#[derive(Object, Debug, Clone)]
#[oai(rename = "Error", example)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Object, Debug, Clone)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid_json`, `invalid_request`, `unauthorized`, `not_found`,
    /// `method_not_allowed`, `payload_too_large`, `validation_error`, `unknown_click`,
    /// `duplicate_email`, `duplicate_name`, `invalid_transition`, `rate_limit_exceeded`, `internal_error`, `service_unavailable`.
    pub code: String,
    /// For people; names the field at fault.
    pub message: String,
}

impl Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: "validation_error".into(),
                message: "payout must be >= 0".into(),
            },
        }
    }
}

#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The body is not JSON (`invalid_json`) or a query parameter can't be parsed (`invalid_request`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, malformed, unknown or revoked API key.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// No such resource for this brand, or no such route.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The route exists but not with this method.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// The body is over 64 KiB.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Well-formed but invalid; the message names the field.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Over the per-key rate limit.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        /// Whole seconds until a request is allowed again.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// A bug on our side; nothing internal is revealed.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The server can't store anything right now (its database is unwritable); nothing was
    /// recorded, so the same request may be sent again later.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Whole seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

fn body(code: &str, message: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message: message.into(),
        },
    })
}

impl ApiError {
    pub fn invalid_json(message: impl Into<String>) -> Self {
        ApiError::BadRequest(body("invalid_json", message))
    }
    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(body("invalid_request", message))
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::Unauthorized(body("unauthorized", message), "Bearer".into())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(body("not_found", message))
    }
    pub fn method_not_allowed() -> Self {
        ApiError::MethodNotAllowed(body(
            "method_not_allowed",
            "this route does not accept this method",
        ))
    }
    pub fn payload_too_large() -> Self {
        ApiError::PayloadTooLarge(body("payload_too_large", "the request body is over 64 KiB"))
    }
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::Unprocessable(body("validation_error", message))
    }
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable(body(code, message))
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError::TooManyRequests(
            body(
                "rate_limit_exceeded",
                format!("You have exceeded the rate limit. Try again in {retry_after} seconds."),
            ),
            retry_after,
        )
    }
    /// The key already has its share of reports being built.
    pub fn too_many_reports(per_key: usize) -> Self {
        ApiError::TooManyRequests(
            body(
                "too_many_reports",
                format!(
                    "this key already has {per_key} reports being built; wait for one to finish and try again"
                ),
            ),
            1,
        )
    }
    /// Every report thread is busy and the queue is full.
    pub fn reports_busy() -> Self {
        ApiError::Unavailable(
            body(
                "server_busy",
                "the server is building as many reports as it can right now; try again in a few seconds",
            ),
            5,
        )
    }
    pub fn unavailable() -> Self {
        ApiError::Unavailable(
            body(
                "service_unavailable",
                "the server can't store anything right now; nothing was recorded, try again later",
            ),
            30,
        )
    }
    pub fn internal() -> Self {
        ApiError::Internal(body(
            "internal_error",
            "something went wrong on our side; it has been logged",
        ))
    }
}

/// A postback the store could not credit: `unknown_click` for a click id the brand never
/// saw, `validation_error` for the rest.
fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::UnknownClick(id) => ApiError::unprocessable(
            "unknown_click",
            format!("click_id {id} matches no click of this brand"),
        ),
        Refusal::OfferMismatch => ApiError::validation("offer_id does not match the click's offer"),
        Refusal::PartnerMismatch => {
            ApiError::validation("partner_id does not match the click's partner")
        }
        Refusal::UnknownOffer(id) => {
            ApiError::validation(format!("offer_id {id} matches no offer of this brand"))
        }
        Refusal::UnknownPartner(id) => {
            ApiError::validation(format!("partner_id {id} matches no partner of this brand"))
        }
        Refusal::AmountRequired => ApiError::validation("amount is required for a revshare offer"),
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("no such resource"),
            StoreError::Duplicate { field, value } => {
                // Partners' emails are unique within a brand, brands' names on the server.
                let owner = match field {
                    "name" => "another brand",
                    _ => "another partner of this brand",
                };
                ApiError::unprocessable(
                    &format!("duplicate_{field}"),
                    format!("{field} {value} is already used by {owner}"),
                )
            }
            StoreError::Invalid(message) => ApiError::validation(message),
            StoreError::Refused(r) => refused(r),
            StoreError::UnknownConversion(id) => {
                ApiError::not_found(format!("conversion {id} not found"))
            }
            StoreError::Transition(t) => {
                ApiError::unprocessable("invalid_transition", t.to_string())
            }
            other if other.is_unavailable() => {
                tracing::error!(error = %other, "store unavailable");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Unavailable => ApiError::unavailable(),
            WriteError::Store(e) => e.into(),
        }
    }
}

/// A query parameter poem-openapi refused: unparseable (`limit=abc`) is 400, well-formed but
/// out of bounds or not one of an enum's values is 422.
fn param_error(name: &str, reason: &str) -> ApiError {
    if reason.contains("verification failed") {
        if name == "limit" {
            return ApiError::validation("limit must be between 1 and 100");
        }
        return ApiError::validation(format!("{name} is out of range"));
    }
    // poem-openapi's enums say this when a value is not one of theirs.
    if reason.contains("Expect a valid enumeration value") {
        return ApiError::validation(format!(
            "{name} is not one of the allowed values (see /docs)"
        ));
    }
    ApiError::invalid_request(format!("query parameter {name} can't be parsed"))
}

/// Turn whatever poem or poem-openapi rejected on their own into the contract's shape.
/// Our own `ApiError`s arrive as responses already and pass through untouched.
pub async fn map_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    let api = if err.is::<poem_openapi::error::AuthorizationError>() {
        ApiError::unauthorized("missing or malformed Authorization header; use `Bearer <key>`")
    } else if err.is::<poem_openapi::error::ParseRequestPayloadError>()
        || err.is::<poem_openapi::error::ContentTypeError>()
        || err.is::<poem::error::ParseJsonError>()
    {
        ApiError::invalid_json(format!("the body is not valid JSON: {err}"))
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        param_error(e.name, &e.reason)
    } else if err.is::<poem_openapi::error::ParsePathError>() {
        ApiError::not_found("no such resource")
    } else {
        match err.status() {
            StatusCode::NOT_FOUND => ApiError::not_found("no such route"),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
            s if s.is_client_error() => ApiError::invalid_request(format!("{err}")),
            _ => {
                tracing::error!(error = %err, "unhandled error");
                ApiError::internal()
            }
        }
    };
    api.into_response()
}
