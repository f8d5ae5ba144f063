//! # b24-transport
//!
//! Work in progress: see the workspace README for what this crate will hold.
