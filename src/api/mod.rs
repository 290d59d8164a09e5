//! API v1: poem-openapi operations, one file per resource.

pub mod auth;
pub mod body;
pub mod brand;
pub mod caps;
pub mod clicks;
pub mod conversions;
pub mod errors;
pub mod events;
pub mod export;
pub mod offers;
pub mod pagination;
pub mod partners;
pub mod payout_rules;
pub mod rate_limit;
pub mod reports;
pub mod serde_json_payload;
pub mod spec;
pub mod statements;

use poem::Request;
use poem_openapi::{OpenApiService, Tags};

/// `From` both ways between an API enum (poem-openapi's `Enum`, for the spec) and the domain
/// enum of the same variants (which must not depend on poem). A variant missing on either side
/// is a compile error, so the two can't drift apart.
macro_rules! mirror_enum {
    ($api:ident <=> $domain:path { $($v:ident),+ $(,)? }) => {
        impl From<$domain> for $api {
            fn from(d: $domain) -> $api {
                use $domain as D;
                match d {
                    $(D::$v => $api::$v),+
                }
            }
        }
        impl From<$api> for $domain {
            fn from(a: $api) -> $domain {
                use $domain as D;
                match a {
                    $($api::$v => D::$v),+
                }
            }
        }
    };
}
pub(crate) use mirror_enum;

#[derive(Tags)]
pub enum ApiTags {
    /// The brand the key belongs to: its name and time zone.
    Brand,
    /// What brands pay partners for; each has a tracking link.
    Offers,
    /// The affiliates who send traffic.
    Partners,
    /// Visits through tracking links, as recorded: for checking what a click carried.
    Clicks,
    /// Sales and other events credited to partners, recorded by server-side postback.
    Conversions,
    /// Clicks, conversions, revenue and payouts over time.
    Reports,
    /// What a partner earns instead of an offer's payout, on one offer or all, for a time.
    PayoutRules,
    /// Limits on what an offer pays out per day, week, month or ever.
    Caps,
    /// What the brand owes each partner, line by line, and paying it.
    Statements,
    /// What happened to conversions and statements, oldest first: poll with `after` to miss
    /// nothing.
    Events,
}

pub type Apis = (
    offers::OffersApi,
    partners::PartnersApi,
    conversions::ConversionsApi,
    reports::ReportsApi,
    brand::BrandApi,
    clicks::ClicksApi,
    events::EventsApi,
    payout_rules::PayoutRulesApi,
    caps::CapsApi,
    statements::StatementsApi,
);

const DESCRIPTION: &str = "Affiliate and partner tracking. Every request needs `Authorization: Bearer <key>`; \
generate a key under Settings → API Keys (`/settings`) or with `trcker keys create --brand NAME`. \
Each key belongs to one brand and sees only that brand's data. Errors always have the shape \
`{\"error\":{\"code\":\"…\",\"message\":\"…\"}}`. Keys are limited to 100 requests per minute by \
default; every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`. \
Money is a JSON number with at most 2 decimals in the offer's currency. Tracking links \
(`GET /c/{offer_id}/{partner_id}`) need no key.";

/// The service, independent of any deployment (relative server URL) so the spec is stable.
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            offers::OffersApi,
            partners::PartnersApi,
            conversions::ConversionsApi,
            reports::ReportsApi,
            brand::BrandApi,
            clicks::ClicksApi,
            events::EventsApi,
            payout_rules::PayoutRulesApi,
            caps::CapsApi,
            statements::StatementsApi,
        ),
        "Trcker API",
        "1.0.0",
    )
    .description(DESCRIPTION)
    .server("/api/v1")
}

/// The pretty JSON spec, as served and as committed under `openapi/` (poem-openapi's,
/// tidied for client generators: see `spec`).
pub fn spec_json() -> String {
    spec::tidy(&service().spec())
}

/// The origin of tracking links (see `client_ip::public_base`).
pub fn public_base(req: &Request) -> String {
    let config = req.data::<crate::state::AppState>().map(|s| &s.config);
    crate::client_ip::public_base(
        req,
        config.and_then(|c| c.public_url.as_deref()),
        config.is_some_and(|c| c.trust_proxy),
    )
}

#[cfg(test)]
mod tests {
    /// poem-openapi's validators take literals, so the name rule's bound is written in the
    /// request types too; this ties every copy to `domain::name`, the rule itself.
    #[test]
    fn every_name_field_of_the_spec_has_the_domains_bound() {
        let spec: serde_json::Value = serde_json::from_str(&super::spec_json()).unwrap();
        let mut found = 0;
        let schemas = spec["components"]["schemas"].as_object().unwrap();
        let requests = schemas
            .iter()
            .filter(|(s, _)| s.starts_with("Create") || s.starts_with("Update"));
        for (schema, body) in requests {
            if let Some(name) = body["properties"].get("name") {
                found += 1;
                assert_eq!(
                    name["maxLength"].as_u64(),
                    Some(crate::domain::name::Name::MAX_CHARS as u64),
                    "{schema}.name"
                );
                assert_eq!(name["minLength"].as_u64(), Some(1), "{schema}.name");
            }
        }
        assert!(
            found >= 4,
            "offer and partner create and update bodies: {found}"
        );
    }
}
