//! The one test harness: the app in-process (`app`) and the real binary on port 0 (`binary`).
#![allow(
    dead_code,
    unused_imports,
    reason = "each test crate includes this module and uses only part of it"
)]

pub mod app;
pub mod binary;
pub mod pages;

pub use app::*;
