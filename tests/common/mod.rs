//! The one test harness: the app in-process (`app`), the real binary on port 0 (`binary`), the
//! pages over HTTP (`pages`) and in headless Chromium (`browser`).
#![allow(
    dead_code,
    unused_imports,
    reason = "each test crate includes this module and uses only part of it"
)]

pub mod app;
pub mod binary;
pub mod browser;
pub mod pages;

pub use app::*;
