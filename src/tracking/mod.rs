//! The click hot path: redirect handler, in-memory catalog and unique window, batching writer.

pub mod catalog;
pub mod checkpoint;
pub mod fast_path;
pub mod redirect;
pub mod unique;
pub mod writer;
