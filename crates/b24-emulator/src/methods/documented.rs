//! Every other documented method: its required parameters are checked with the page's error
//! codes, then it answers with a value of the documented result type (`true`, a new id, `[]`,
//! an object of the documented rows), so that a client's parsing can be tested against it.

use serde_json::{Map, Value};

use super::{Ctx, required};
use crate::catalogue::Method;
use crate::portal::{MethodResult, Outcome};

/// A value of a documented type.
fn value_of(ty: &str, next_id: &mut impl FnMut() -> u64) -> Value {
    let ty = ty.split('|').next().unwrap_or("");
    match ty {
        "boolean" => Value::Bool(true),
        "integer" => Value::from(next_id()),
        _ if ty.ends_with(".id") => Value::from(next_id()),
        "string" | "text" | "char" => Value::from(""),
        "double" => Value::from(0.0),
        "null" => Value::Null,
        _ if ty.starts_with("array") => Value::Array(Vec::new()),
        _ => Value::Object(Map::new()),
    }
}

/// The documented answer of `method`: the `result` row's type, or an object of the other rows
/// when the page documents the answer's fields (or a wrapper such as `type`) flat next to a
/// `result` of type object or array.
pub(crate) fn answer(method: &Method, next_id: &mut impl FnMut() -> u64) -> Value {
    let rows: Vec<&(&str, &str)> =
        method.result.iter().filter(|(name, _)| !matches!(*name, "result" | "total" | "next")).collect();
    match method.result_type("result") {
        Some(ty) if rows.is_empty() || !(ty.starts_with("object") || ty.starts_with("array")) => value_of(ty, next_id),
        _ => {
            let mut map = Map::new();
            for (name, ty) in rows {
                map.insert((*name).to_owned(), value_of(ty, next_id));
            }
            Value::Object(map)
        }
    }
}

/// Serve a documented method that is not modelled.
pub(crate) fn call(ctx: &mut Ctx<'_>, method: &Method, params: &Value) -> MethodResult {
    required::check(method, params, false)?;
    let cost = ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.single_item).unwrap_or(0.0));
    let data = &mut *ctx.data;
    let result = answer(method, &mut || data.next_sequence());
    let mut outcome = Outcome::value(result, cost);
    if method.result_type("total").is_some() {
        outcome.total = Some(0);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::method;
    use serde_json::json;

    #[test]
    fn documented_result_shapes() {
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        let bind = method("event.bind").expect("documented");
        assert_eq!(answer(bind, &mut next), json!(true));
        let folder = method("disk.folder.get").expect("documented");
        assert!(answer(folder, &mut next).is_object());
        let list = method("crm.status.list").expect("documented");
        assert_eq!(answer(list, &mut next), json!([]));
        let add = method("crm.timeline.comment.add").expect("documented");
        assert!(answer(add, &mut next).is_u64(), "a new id");
    }
}
