//! `JsonBytes<T>`: a JSON response documented with `T`'s schema but written straight to bytes
//! by serde, by whoever built it (a report thread), so neither the serialisation nor
//! poem-openapi's `serde_json::Value` tree (ten times the answer's size in short-lived
//! allocations for a 15,000-row report) lands on the async workers.

use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A JSON body already written (off the async workers, by whoever built it), documented with
/// `T`'s schema like `SerdeJson<T>`.
pub struct JsonBytes<T> {
    body: Vec<u8>,
    schema: std::marker::PhantomData<fn() -> T>,
}

impl<T: Serialize> JsonBytes<T> {
    pub fn of(value: &T) -> serde_json::Result<JsonBytes<T>> {
        Ok(JsonBytes {
            body: serde_json::to_vec(value)?,
            schema: std::marker::PhantomData,
        })
    }
}

impl<T: Type> Payload for JsonBytes<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for JsonBytes<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(CONTENT_TYPE)
            .body(self.body)
    }
}
