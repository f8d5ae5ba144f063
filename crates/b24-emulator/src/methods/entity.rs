//! The generic entity handlers: `add`, `get`, `list`, `update`, `delete` and `fields` of every
//! family the catalogue documents, with its documented parameter names, required parameters,
//! fields stored and returned, and answer shapes (see [`super::family`]).

use serde_json::{Map, Value, json};

use super::family::{Action, Answer, Family};
use super::{Ctx, lists, param, param_i64, required};
use crate::clock::iso8601;
use crate::data::{Schema, Table};
use crate::events::names::{self, Kind};
use crate::portal::{MethodResult, Outcome};

/// Serve one action of a family.
pub(crate) fn call(ctx: &mut Ctx<'_>, family: &Family, action: Action, params: &Value) -> MethodResult {
    let Some((answer, method)) = family.action(action) else { return Err(crate::errors::method_not_found()) };
    required::check(method, params, !family.camel)?;
    let owners: Vec<String> =
        family.owners.iter().map(|o| param(params, o).map(owner_value).unwrap_or_default()).collect();
    let key = family.table_key(&owners);
    let single = ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.single_item).unwrap_or(0.0));
    let now = iso8601(ctx.portal.clock.wall(ctx.now));
    let (portal, api, camel, user) = (ctx.portal, ctx.caller.api, family.camel, ctx.caller.user_id);
    let connector = param(params, "auth_connector");
    let changes = &mut ctx.changes;
    let mut changed = |kind: Kind, id: u64| changes.extend(names::change(family.key, kind, id, connector, user));
    let table = ctx.data.table(&key);
    let id = || {
        param_i64(params, family.id_param)
            .filter(|id| *id > 0)
            .map(|id| id as u64)
            .ok_or_else(|| required::missing(method, family.id_param, !camel))
    };
    let outcome = match (action, answer) {
        (Action::List, _) | (Action::Get, Answer::List) => {
            let page = lists::classic(portal, api, table, params, camel)?;
            return Ok(page.into_outcome(|rows| wrap_list(answer, rows)));
        }
        (Action::Fields, _) => Outcome::value(wrap(answer, describe(&table.schema, camel)), single),
        (Action::Get, _) => {
            let id = id()?;
            let record = table.get(id).ok_or_else(|| required::not_found(method, !camel))?;
            Outcome::value(wrap(answer, table.schema.render(&record, camel, None)), single)
        }
        (Action::Add, _) => {
            let fields = input(family, table, params);
            let missing = table
                .schema
                .fields
                .iter()
                .enumerate()
                .skip(1)
                .find(|(i, f)| f.required && !fields.iter().any(|(given, _)| given == i));
            if let Some((_, f)) = missing {
                return Err(required::missing(method, f.name(camel), !camel));
            }
            let id = table.add(fields, &now);
            changed(Kind::Add, id);
            Outcome::value(written(answer, table, id, camel), single)
        }
        (Action::Update, _) => {
            let id = id()?;
            let fields = input(family, table, params);
            if !table.update(id, fields) {
                return Err(required::not_found(method, !camel));
            }
            changed(Kind::Update, id);
            Outcome::value(written(answer, table, id, camel), single)
        }
        (Action::Delete, _) => {
            let id = id()?;
            if !table.delete(id) {
                return Err(required::not_found(method, !camel));
            }
            changed(Kind::Delete, id);
            Outcome::value(wrap(answer, Value::Bool(true)), single)
        }
    };
    Ok(outcome)
}

/// An owner parameter's value as part of a table key.
fn owner_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fields a call writes: the `fields` object (or the top-level params when the family takes
/// them there), by field index; unknown names are ignored, as the portal ignores them.
fn input(family: &Family, table: &mut Table, params: &Value) -> Vec<(usize, Value)> {
    let source: Vec<(&String, &Value)> = match family.fields_param {
        Some(name) => match param(params, name) {
            Some(Value::Object(map)) => map.iter().collect(),
            _ => Vec::new(),
        },
        None => params
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| {
                        !k.eq_ignore_ascii_case(family.id_param)
                            && !family.owners.iter().any(|o| k.eq_ignore_ascii_case(o))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut out = Vec::with_capacity(source.len());
    for (name, value) in source {
        if let Some(i) = table.schema.index_or_prefixed(name).filter(|i| *i != 0) {
            out.push((i, table.schema.coerce(i, value)));
        }
    }
    out
}

/// The answer of a write: the id, `true`, or the record as stored.
fn written(answer: Answer, table: &Table, id: u64, camel: bool) -> Value {
    match answer {
        Answer::Id => Value::from(id),
        Answer::Record | Answer::Wrapped(_) => {
            let record = table.get(id).map(|r| table.schema.render(&r, camel, None)).unwrap_or(Value::Null);
            wrap(answer, record)
        }
        other => wrap(other, Value::Bool(true)),
    }
}

fn wrap(answer: Answer, value: Value) -> Value {
    match answer {
        Answer::Wrapped(w) | Answer::FieldsOf(Some(w)) => json!({ w: value }),
        Answer::WrappedTrue(w) => json!({ w: true }),
        Answer::Null => Value::Null,
        Answer::EmptyList => Value::Array(Vec::new()),
        _ => value,
    }
}

fn wrap_list(answer: Answer, rows: Vec<Value>) -> Value {
    match answer {
        Answer::WrappedList(w) => json!({ w: rows }),
        _ => Value::Array(rows),
    }
}

/// The `*.fields` answer: each field's documented type and flags.
pub(crate) fn describe(schema: &Schema, camel: bool) -> Value {
    let mut map = Map::new();
    for (i, f) in schema.fields.iter().enumerate() {
        let doc_type = if f.doc_type.is_empty() { "string" } else { f.doc_type.as_str() };
        let multiple = doc_type.starts_with("array") || doc_type == "crm_multifield";
        map.insert(
            f.name(camel).to_owned(),
            json!({
                "type": doc_type,
                "isRequired": f.required,
                "isReadOnly": i == 0,
                "isImmutable": false,
                "isMultiple": multiple,
                "isDynamic": false,
                "title": f.name(camel),
            }),
        );
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping() {
        assert_eq!(wrap(Answer::Wrapped("task"), json!({"id": 1})), json!({"task": {"id": 1}}));
        assert_eq!(wrap(Answer::WrappedTrue("task"), Value::Null), json!({"task": true}));
        assert_eq!(wrap_list(Answer::WrappedList("tasks"), vec![json!(1)]), json!({"tasks": [1]}));
        assert_eq!(wrap_list(Answer::List, vec![json!(1)]), json!([1]));
        assert_eq!(wrap(Answer::EmptyList, Value::Bool(true)), json!([]));
    }
}
