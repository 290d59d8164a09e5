//! API v1 over HTTP, in-process (poem's TestClient over the real app and a real SQLite file).

#[path = "../common/mod.rs"]
mod common;

mod brand;
mod clicks;
mod conversions;
mod docs;
mod edges;
mod errors;
mod events;
mod exports;
mod holds_rules_caps;
mod lifecycle;
mod offers_partners;
mod openapi;
mod pagination;
mod rate_limit;
mod reports;
mod statements;
mod storage;
mod tenancy;
