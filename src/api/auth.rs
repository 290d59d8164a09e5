//! Bearer keys → the current brand, the rate limit, and the `X-RateLimit-*` headers.
//!
//! A middleware does the work once per request, so that it also covers unknown routes and
//! wrong methods; the security scheme then only reads what the middleware established and
//! puts the scheme into the spec.

use std::sync::Arc;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::body::MAX_BODY;
use super::errors::ApiError;
use super::rate_limit::{Quota, RateLimiter};
use crate::domain::ids::{hash_secret, looks_like_key};
use crate::state::AppState;
use crate::store::keys::KeyOwner;

/// Your API key, `trk_…` (Settings → API Keys, or `trcker keys create`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "trk_…", checker = "established")]
pub struct BrandKey(pub KeyOwner);

async fn established(req: &Request, _bearer: Bearer) -> Option<KeyOwner> {
    req.extensions().get::<KeyOwner>().cloned()
}

pub struct ApiGate {
    /// Requests per minute per key; the API's own state, not the app's.
    limiter: Arc<RateLimiter>,
}

impl ApiGate {
    pub fn new(per_minute: u32) -> ApiGate {
        ApiGate {
            limiter: Arc::new(RateLimiter::new(per_minute)),
        }
    }
}

impl<E: Endpoint> Middleware<E> for ApiGate {
    type Output = ApiGateEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        ApiGateEndpoint {
            inner: Arc::new(ep),
            limiter: self.limiter.clone(),
        }
    }
}

pub struct ApiGateEndpoint<E> {
    inner: Arc<E>,
    limiter: Arc<RateLimiter>,
}

fn set_quota_headers(resp: &mut Response, q: &Quota) {
    let h = resp.headers_mut();
    h.insert("X-RateLimit-Limit", HeaderValue::from(q.limit));
    h.insert("X-RateLimit-Remaining", HeaderValue::from(q.remaining));
    h.insert("X-RateLimit-Reset", HeaderValue::from(q.reset));
}

async fn authenticate(state: &AppState, req: &Request) -> Result<KeyOwner, ApiError> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unauthorized("missing Authorization header; use `Bearer <key>`")
        })?;
    // RFC 7235: the auth scheme is case-insensitive (`bearer`, `BEARER` are `Bearer`).
    let key = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .ok_or_else(|| {
            ApiError::unauthorized("malformed Authorization header; use `Bearer <key>`")
        })?;
    if !looks_like_key(key) {
        return Err(ApiError::unauthorized("malformed API key"));
    }
    let hash = hash_secret(key);
    let owner = match state.keys.get(&hash) {
        Some(owner) => Some(owner),
        None => {
            let (pool, cache) = (state.pool.clone(), state.keys.clone());
            tokio::task::spawn_blocking(move || cache.find_active(&*pool.get()?, &hash))
                .await
                .map_err(|_| ApiError::internal())?
                .map_err(ApiError::from)?
        }
    };
    owner.ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))
}

impl<E: Endpoint> Endpoint for ApiGateEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let state = req
            .data::<AppState>()
            .expect("AppState is installed")
            .clone();
        let owner = match authenticate(&state, &req).await {
            Ok(o) => o,
            Err(e) => return Ok(e.into_response()),
        };
        let quota = match self.limiter.check(owner.key_id) {
            Ok(q) => q,
            Err((q, retry)) => {
                let mut resp = ApiError::rate_limited(retry).into_response();
                set_quota_headers(&mut resp, &q);
                return Ok(resp);
            }
        };
        state.key_usage.touch(owner.key_id);
        let too_large = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_BODY);
        let mut resp = if too_large {
            ApiError::payload_too_large().into_response()
        } else {
            req.extensions_mut().insert(owner);
            match self.inner.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => super::errors::map_error(e).await,
            }
        };
        set_quota_headers(&mut resp, &quota);
        Ok(resp)
    }
}
