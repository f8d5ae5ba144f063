//! The REST methods the emulator serves: hand-written handlers for the methods it models in
//! depth, generic handlers for every entity family the catalogue documents, and a documented
//! answer for the rest (see [`registry`]).

mod batch;
mod common;
mod crm;
mod documented;
mod entity;
mod events;
pub(crate) mod family;
mod im;
mod lists;
pub(crate) mod openapi;
pub(crate) mod registry;
mod required;
mod users;
mod v3;

use serde_json::Value;

pub(crate) use registry::{MethodDef, find};

use crate::events::Change;
use crate::portal::{Caller, Data, MethodResult, Portal};

/// What a handler can reach.
pub(crate) struct Ctx<'a> {
    pub(crate) portal: &'a Portal,
    pub(crate) caller: &'a Caller,
    pub(crate) data: &'a mut Data,
    /// Virtual time when the call started.
    pub(crate) now: f64,
    /// Changes the call made, published as events once it is done.
    pub(crate) changes: Vec<Change>,
}

/// A method handler.
pub(crate) type Handler = fn(&mut Ctx<'_>, &Value) -> MethodResult;

/// A param by name, case-insensitively (`FILTER` = `filter`).
pub(crate) fn param<'v>(params: &'v Value, name: &str) -> Option<&'v Value> {
    let map = params.as_object()?;
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// A param as an integer (form input is a string).
pub(crate) fn param_i64(params: &Value, name: &str) -> Option<i64> {
    match param(params, name)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
