//! The one test harness: the app in-process (`app`) and the real binary on port 0 (`binary`).
//! Each test crate uses a subset.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod binary;

pub use app::*;
