//! The REST methods the emulator serves, for v2 and v3, in one registry each.

mod batch;
mod common;
mod crm;
mod lists;
pub(crate) mod openapi;
mod tasks;
mod v3;

use serde_json::Value;

use crate::portal::{Caller, Data, MethodError, MethodResult, Portal};

/// What a handler can reach.
pub(crate) struct Ctx<'a> {
    pub(crate) portal: &'a Portal,
    pub(crate) caller: &'a Caller,
    pub(crate) data: &'a mut Data,
    /// Virtual time when the call started.
    pub(crate) now: f64,
}

/// A method handler.
pub(crate) type Handler = fn(&mut Ctx<'_>, &Value) -> MethodResult;

/// One method.
pub(crate) struct MethodDef {
    /// The name, lower case.
    pub(crate) name: &'static str,
    /// The scope it needs (`""`: none).
    pub(crate) scope: &'static str,
    pub(crate) handler: Handler,
}

const fn def(name: &'static str, scope: &'static str, handler: Handler) -> MethodDef {
    MethodDef { name, scope, handler }
}

static V2: &[MethodDef] = &[
    def("server.time", "", common::server_time),
    def("user.current", "user_basic", common::user_current),
    def("profile", "", common::profile),
    def("app.info", "", common::app_info),
    def("scope", "", common::scope),
    def("methods", "", common::methods),
    def("method.get", "", common::method_get),
    def("batch", "", batch::batch_v2),
    def("crm.deal.list", "crm", crm::deal_list),
    def("crm.deal.get", "crm", crm::deal_get),
    def("crm.deal.add", "crm", crm::deal_add),
    def("crm.deal.update", "crm", crm::deal_update),
    def("crm.deal.delete", "crm", crm::deal_delete),
    def("crm.item.list", "crm", crm::item_list),
    def("crm.item.get", "crm", crm::item_get),
    def("crm.item.add", "crm", crm::item_add),
    def("crm.item.update", "crm", crm::item_update),
    def("crm.item.delete", "crm", crm::item_delete),
    def("tasks.task.list", "task", tasks::task_list),
    def("rest.documentation.openapi", "", openapi::document),
];

static V3: &[MethodDef] = &[
    def("batch", "", batch::batch_v3),
    def("crm.item.list", "crm", v3::item_list),
    def("crm.item.tail", "crm", v3::item_tail),
    def("crm.item.get", "crm", crm::item_get),
    def("crm.item.add", "crm", crm::item_add),
    def("crm.item.update", "crm", crm::item_update),
    def("crm.item.delete", "crm", crm::item_delete),
    def("tasks.task.list", "task", v3::task_list),
    def("tasks.task.tail", "task", v3::task_tail),
    def("rest.documentation.openapi", "", openapi::document),
];

/// The registry of an API.
pub(crate) fn registry(api: crate::portal::Api) -> &'static [MethodDef] {
    match api {
        crate::portal::Api::V2 => V2,
        crate::portal::Api::V3 => V3,
    }
}

/// Find a method (names are case-insensitive).
pub(crate) fn find(api: crate::portal::Api, name: &str) -> Option<&'static MethodDef> {
    let lower = name.to_ascii_lowercase();
    registry(api).iter().find(|m| m.name == lower)
}

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

/// A required positive id param, or the legacy 400 with an empty code.
pub(crate) fn require_id(params: &Value, name: &str) -> Result<u64, MethodError> {
    param_i64(params, name)
        .filter(|id| *id > 0)
        .map(|id| id as u64)
        .ok_or_else(|| crate::errors::legacy("ID is not defined or invalid."))
}
