//! # b24-emulator
//!
//! Work in progress: see the workspace README for what this crate will hold.
