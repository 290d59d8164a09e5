//! Trcker: affiliate and partner tracking in one binary. The binary parses the CLI and calls
//! in here; tests build the very same app from a `Config`.

pub mod admin_cli;
pub mod allocator;
pub mod api;
pub mod backup;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod connections;
pub mod db;
pub mod docs;
pub mod domain;
pub mod health;
pub mod heavy_reads;
pub mod jobs;
pub mod metrics;
pub mod seed;
pub mod server;
pub mod state;
pub mod store;
pub mod tracking;
pub mod web;
pub mod work_gate;

pub use config::Config;
pub use server::{build_app, serve};
pub use state::AppState;

/// The OpenAPI spec as served, with a trailing newline (the committed file's form).
pub fn spec_json() -> String {
    api::spec_json() + "\n"
}
