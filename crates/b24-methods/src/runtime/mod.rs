//! The hand-written runtime every generated builder stands on: what setters accept (`arg`), the
//! params being built (`request`), and sending, batching and listing (`method`).

// The crate-private helpers serve generated code, which a build without every group feature
// only partly has.
#![cfg_attr(not(feature = "full"), allow(dead_code))]

pub(crate) mod arg;
pub(crate) mod fields;
pub(crate) mod method;
pub(crate) mod request;
