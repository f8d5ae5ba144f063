//! [`Request`]: what every generated builder holds (the client's actions and the params set so
//! far), and [`Object`], what every generated nested-param struct holds.

use std::fmt;

use b24_actions::Actions;
use serde_json::{Map, Value};

/// The params of one method call being built, and the actions that will send it.
#[derive(Clone)]
pub struct Request {
    actions: Actions,
    params: Map<String, Value>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_as("Request", f)
    }
}

impl Request {
    pub(crate) fn new(actions: Actions) -> Request {
        Request { actions, params: Map::new() }
    }

    /// The params set so far, by their wire names.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// The actions the call goes through.
    pub fn actions(&self) -> &Actions {
        &self.actions
    }

    /// `method { params }`, the params redacted (they may hold a third party's credentials: a
    /// payment system's key, an SMTP password); what every builder's `Debug` prints.
    pub fn debug_as(&self, method: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(method).field("params", &b24_errors::redact_params(&Value::Object(self.params.clone()))).finish()
    }

    pub(crate) fn into_parts(self) -> (Actions, Map<String, Value>) {
        (self.actions, self.params)
    }

    /// Set `key` (replacing an earlier value).
    #[inline]
    pub(crate) fn with(mut self, key: &str, value: Value) -> Request {
        self.params.insert(key.to_owned(), value);
        self
    }

    /// Set `key` inside the map param `param` (`filter[>ID]`, `order[ID]`), creating the map.
    pub(crate) fn with_entry(mut self, param: &str, key: &str, value: Value) -> Request {
        entry(&mut self.params, param, key, value);
        self
    }
}

fn entry(params: &mut Map<String, Value>, param: &str, key: &str, value: Value) {
    let slot = params.entry(param.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(map) = slot {
        map.insert(key.to_owned(), value);
    }
}

/// The fields of a nested param (`fields` of `crm.deal.add`…) by their wire names; generated
/// structs wrap it and add a typed setter per documented field.
#[derive(Clone, Default, PartialEq)]
pub struct Object(Map<String, Value>);

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        b24_errors::redact_params(&Value::Object(self.0.clone())).fmt(f)
    }
}

impl Object {
    /// Set `key` (replacing an earlier value).
    #[inline]
    pub(crate) fn with(mut self, key: &str, value: Value) -> Object {
        self.0.insert(key.to_owned(), value);
        self
    }

    /// The fields set so far.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The fields as a JSON object.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Value {
        o.into_value()
    }
}
