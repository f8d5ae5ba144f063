//! The methods each API serves, built once: the hand-written handlers first, then every entity
//! family the catalogue documents (generic handlers), then every other documented method
//! (checked parameters, documented answer).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::family::{self, Action, Family};
use super::{Ctx, Handler, batch, common, crm, documented, entity, events, im, openapi, users, v3};
use crate::catalogue::{self, Method};
use crate::portal::{Api, MethodResult};

/// How a method runs.
#[derive(Debug)]
pub(crate) enum Run {
    /// A hand-written handler.
    Fn(Handler),
    /// An action of an entity family.
    Entity(&'static Family, Action),
    /// A documented method that is not modelled.
    Documented(&'static Method),
}

/// One method.
#[derive(Debug)]
pub(crate) struct MethodDef {
    /// The name, lower case.
    pub(crate) name: &'static str,
    /// The scope it needs (`""`: none).
    pub(crate) scope: &'static str,
    pub(crate) run: Run,
}

impl MethodDef {
    /// Run the method.
    pub(crate) fn call(&self, ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
        match &self.run {
            Run::Fn(handler) => handler(ctx, params),
            Run::Entity(family, action) => entity::call(ctx, family, *action, params),
            Run::Documented(method) => documented::call(ctx, method, params),
        }
    }
}

const fn def(name: &'static str, scope: &'static str, handler: Handler) -> MethodDef {
    MethodDef { name, scope, run: Run::Fn(handler) }
}

/// Hand-written v2 methods.
fn hand_written() -> Vec<MethodDef> {
    vec![
        def("server.time", "", common::server_time),
        def("user.current", "user_basic", users::current),
        def("user.get", "user", users::get),
        def("profile", "", common::profile),
        def("app.info", "", common::app_info),
        def("scope", "", common::scope),
        def("methods", "", common::methods),
        def("method.get", "", common::method_get),
        def("batch", "", batch::batch_v2),
        def("crm.item.list", "crm", crm::item_list),
        def("crm.item.get", "crm", crm::item_get),
        def("crm.item.add", "crm", crm::item_add),
        def("crm.item.update", "crm", crm::item_update),
        def("crm.item.delete", "crm", crm::item_delete),
        def("crm.item.fields", "crm", crm::item_fields),
        def("im.notify", "im", im::notify),
        def("im.notify.system.add", "im", im::system_add),
        def("im.notify.personal.add", "im", im::personal_add),
        def("im.notify.delete", "im", im::delete),
        def("im.notify.read", "im", im::read),
        def("event.bind", "", events::bind),
        def("event.unbind", "", events::unbind),
        def("event.get", "", events::get),
        def("event.offline.get", "", events::offline_get),
        def("event.offline.clear", "", events::offline_clear),
        def("event.offline.error", "", events::offline_error),
        def("event.offline.list", "", events::offline_list),
        def("rest.documentation.openapi", "", openapi::document),
    ]
}

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

/// The families the generic handlers serve.
pub(crate) fn families() -> &'static [Family] {
    static FAMILIES: OnceLock<Vec<Family>> = OnceLock::new();
    FAMILIES.get_or_init(|| catalogue::entities().iter().filter_map(family::derive).collect())
}

/// The v2 registry, by lower-case name, and the names in order.
struct V2 {
    by_name: HashMap<&'static str, MethodDef>,
    names: Vec<&'static str>,
}

fn v2() -> &'static V2 {
    static REGISTRY: OnceLock<V2> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut by_name: HashMap<&'static str, MethodDef> = HashMap::new();
        let mut names = Vec::new();
        let mut add = |def: MethodDef| {
            if !by_name.contains_key(def.name) {
                names.push(def.name);
                by_name.insert(def.name, def);
            }
        };
        hand_written().into_iter().for_each(&mut add);
        for family in families() {
            for action in Action::ALL {
                if let Some((_, method)) = family.action(action) {
                    add(MethodDef { name: method.name, scope: method.scope, run: Run::Entity(family, action) });
                }
            }
        }
        for method in catalogue::methods() {
            add(MethodDef { name: method.name, scope: method.scope, run: Run::Documented(method) });
        }
        names.sort_unstable();
        V2 { by_name, names }
    })
}

/// Find a method (names are case-insensitive).
pub(crate) fn find(api: Api, name: &str) -> Option<&'static MethodDef> {
    let lower = name.to_ascii_lowercase();
    match api {
        Api::V2 => v2().by_name.get(lower.as_str()),
        Api::V3 => V3.iter().find(|m| m.name == lower),
    }
}

/// Every method of an API, sorted by name.
pub(crate) fn all(api: Api) -> Vec<&'static MethodDef> {
    match api {
        Api::V2 => v2().names.iter().filter_map(|n| v2().by_name.get(n)).collect(),
        Api::V3 => V3.iter().collect(),
    }
}

/// The tasks table is also read by the v3 handlers.
pub(crate) const TASKS: &str = "tasks.task";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_method_is_served() {
        for method in catalogue::methods() {
            assert!(find(Api::V2, method.name).is_some(), "{} is not served", method.name);
        }
        let deal = find(Api::V2, "CRM.Deal.Add").expect("served");
        assert!(matches!(deal.run, Run::Entity(_, Action::Add)));
        assert!(matches!(find(Api::V2, "crm.item.add").map(|d| &d.run), Some(Run::Fn(_))));
        assert!(matches!(find(Api::V2, "disk.folder.get").map(|d| &d.run), Some(Run::Documented(_))));
        assert!(find(Api::V2, "no.such.method").is_none());
        assert!(families().len() >= 60, "{} families served", families().len());
    }
}
