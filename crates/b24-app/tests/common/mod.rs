//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used)]

pub mod pg;
pub mod portal;
