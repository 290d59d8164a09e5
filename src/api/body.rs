//! `JsonBody<T>`: a JSON request body documented with `T`'s schema, read with the 64 KiB
//! limit, and checked field by field so errors name the field at fault (poem-openapi's own
//! parse errors name the type, not the field).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde_json::Value;

use super::errors::ApiError;

pub const MAX_BODY: usize = 64 * 1024;

pub struct JsonBody<T>(pub T);

impl<'a, T: ParseFromJSON + Type + 'static> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json; charset=utf-8",
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        _request: &'a Request,
        body: &mut RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // Any Content-Type is read as JSON: clients that forget the header still work.
        let bytes = body
            .take()?
            .into_bytes_limit(MAX_BODY)
            .await
            .map_err(|e| match e {
                poem::error::ReadBodyError::PayloadTooLarge => ApiError::payload_too_large(),
                _ => ApiError::invalid_json("the request body could not be read"),
            })?;
        if bytes.is_empty() {
            return Err(
                ApiError::invalid_json("the request body is empty; send a JSON object").into(),
            );
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::invalid_json(format!("the body is not valid JSON: {e}")))?;
        check(&registry_of::<T>(), &T::schema_ref(), &value, "")?;
        T::parse_from_json(Some(value))
            .map(JsonBody)
            .map_err(|e| ApiError::validation(e.into_message()).into())
    }
}

/// The schemas `T` refers to, built once per type: registering them is not free, and every
/// postback would otherwise do it again.
fn registry_of<T: Type + 'static>() -> Arc<Registry> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<Registry>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(TypeId::of::<T>())
        .or_insert_with(|| {
            let mut registry = Registry::new();
            T::register(&mut registry);
            Arc::new(registry)
        })
        .clone()
}

fn resolve<'r>(registry: &'r Registry, schema: &'r MetaSchemaRef) -> Option<&'r MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(s) => Some(s),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

/// Check JSON types, enums, required fields and length/range bounds against the schema.
fn check(
    registry: &Registry,
    schema: &MetaSchemaRef,
    value: &Value,
    path: &str,
) -> Result<(), ApiError> {
    let Some(s) = resolve(registry, schema) else {
        return Ok(());
    };
    let name = if path.is_empty() { "body" } else { path };
    if value.is_null() {
        return Ok(());
    }
    // A described `$ref` field is `allOf: [$ref, {description}]`.
    for part in &s.all_of {
        check(registry, part, value, path)?;
    }
    let type_ok = match s.ty {
        "object" => value.is_object(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        _ => true,
    };
    if !type_ok {
        let article = if s.ty == "object" || s.ty == "array" || s.ty == "integer" {
            "an"
        } else {
            "a"
        };
        return Err(ApiError::validation(format!(
            "{name} must be {article} {}",
            s.ty
        )));
    }
    if !s.enum_items.is_empty() && !s.enum_items.contains(value) {
        let allowed: Vec<String> = s
            .enum_items
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect();
        return Err(ApiError::validation(format!(
            "{name} must be one of: {}",
            allowed.join(", ")
        )));
    }
    if let Value::String(text) = value {
        let chars = text.chars().count();
        if s.min_length.is_some_and(|m| chars < m) {
            return Err(ApiError::validation(format!("{name} must not be empty")));
        }
        if let Some(m) = s.max_length.filter(|m| chars > *m) {
            return Err(ApiError::validation(format!(
                "{name} must be at most {m} characters"
            )));
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = s.minimum.filter(|m| n < *m) {
            return Err(ApiError::validation(format!("{name} must be >= {min}")));
        }
        if let Some(max) = s.maximum.filter(|m| n > *m) {
            return Err(ApiError::validation(format!("{name} must be <= {max}")));
        }
    }
    if let Value::Object(map) = value {
        for field in &s.required {
            if map.get(*field).is_none_or(Value::is_null) {
                return Err(ApiError::validation(format!("{field} is required")));
            }
        }
        for (field, field_schema) in &s.properties {
            if let Some(v) = map.get(*field) {
                check(registry, field_schema, v, field)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::offers::CreateOffer;

    #[test]
    fn names_the_field() {
        let mut registry = Registry::new();
        <CreateOffer as Type>::register(&mut registry);
        let v = serde_json::json!({"name":"x","destination_url":"https://a.b","payout":1,"status":"zzz"});
        let e = check(&registry, &CreateOffer::schema_ref(), &v, "");
        let msg = format!("{e:?}");
        assert!(msg.contains("status must be one of"), "{msg}");
    }
}
