//! `batch`: v2 (`cmd` rows as `method?query`, `halt`, `$result[...]` references, PHP JSON
//! shapes, 50-command limit, nested batch refused) and v3 (a JSON array, all-or-nothing).

use serde_json::{Map, Value, json};

use super::{Ctx, find, param};
use crate::envelope::{Timing, time_json};
use crate::errors::{self, MethodError};
use crate::limits::OperatingState;
use crate::php::{parse_query, php_shape};
use crate::portal::{Api, MethodResult, Outcome, lock};
use crate::settings::BatchCharging;

/// Commands a batch runs; the 51st on fails.
pub(crate) const MAX_COMMANDS: usize = 50;

const NOT_IN_BATCH: [&str; 3] = ["batch", "download", "upload"];

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => matches!(s.as_str(), "1" | "true" | "Y" | "y"),
        _ => false,
    }
}

/// Results gathered so far, by command key, for resolving references.
#[derive(Default)]
struct Gathered {
    result: Vec<(String, Value)>,
    error: Vec<(String, Value)>,
    total: Vec<(String, Value)>,
    next: Vec<(String, Value)>,
    time: Vec<(String, Value)>,
}

impl Gathered {
    fn entries(&self, kind: &str) -> Option<&[(String, Value)]> {
        Some(match kind {
            "result" => &self.result,
            "error" => &self.error,
            "total" => &self.total,
            "next" => &self.next,
            "time" => &self.time,
            _ => return None,
        })
    }

    /// Walk `$kind[seg][seg]...`, stopping at the deepest level found. Only what the reference
    /// names is copied (a chain of 50 pages resolves 49 references into ever more results).
    fn resolve(&self, kind: &str, path: &[String]) -> Option<Value> {
        let entries = self.entries(kind)?;
        let whole = || Value::Object(entries.iter().cloned().collect::<Map<String, Value>>());
        let Some((first, rest)) = path.split_first() else { return Some(whole()) };
        let Some((_, found)) = entries.iter().find(|(key, _)| key == first) else { return Some(whole()) };
        let mut node: &Value = found;
        for seg in rest {
            let child = match node {
                Value::Object(m) => m.get(seg),
                Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            match child {
                Some(c) => node = c,
                None => break,
            }
        }
        Some(node.clone())
    }
}

/// One reference found in a string: its byte span, kind and path.
fn find_reference(text: &str, from: usize) -> Option<(usize, usize, String, Vec<String>)> {
    let mut search = from;
    while let Some(rel) = text[search..].find('$') {
        let start = search + rel;
        let rest = &text[start + 1..];
        let kind_len = rest.find('[').unwrap_or(0);
        let kind = &rest[..kind_len];
        if kind_len > 0 && matches!(kind, "result" | "next" | "total" | "time" | "error") {
            let mut end = start + 1 + kind_len;
            let mut path = Vec::new();
            while text[end..].starts_with('[') {
                let Some(close) = text[end..].find(']') else { break };
                path.push(text[end + 1..end + close].to_owned());
                end += close + 1;
            }
            if !path.is_empty() {
                return Some((start, end, kind.to_owned(), path));
            }
        }
        search = start + 1;
    }
    None
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(_) | Value::Object(_) => "Array".to_owned(),
        other => other.to_string(),
    }
}

/// Replace references in every string of `params`.
fn substitute(params: &mut Value, gathered: &Gathered) {
    match params {
        Value::Object(m) => m.values_mut().for_each(|v| substitute(v, gathered)),
        Value::Array(a) => a.iter_mut().for_each(|v| substitute(v, gathered)),
        Value::String(s) => {
            if let Some((0, end, kind, path)) = find_reference(s, 0) {
                if end == s.len() {
                    if let Some(raw) = gathered.resolve(&kind, &path) {
                        *params = raw;
                    }
                    return;
                }
            }
            let mut out = String::new();
            let mut at = 0;
            while let Some((start, end, kind, path)) = find_reference(s, at) {
                out.push_str(&s[at..start]);
                out.push_str(&gathered.resolve(&kind, &path).map(|v| as_text(&v)).unwrap_or_default());
                at = end;
            }
            if at > 0 {
                out.push_str(&s[at..]);
                *s = out;
            }
        }
        _ => {}
    }
}

/// Checks a sub-command passes before it runs at virtual time `at`: allowed in a batch, known,
/// in scope, not blocked by the operating limit (when sub-calls are charged to their own
/// methods).
fn admit(ctx: &Ctx<'_>, method: &str, at: f64) -> Result<&'static super::MethodDef, MethodError> {
    if NOT_IN_BATCH.contains(&method) {
        return Err(errors::batch_method_not_allowed());
    }
    let def = find(ctx.caller.api, method).ok_or_else(errors::method_not_found)?;
    let settings = ctx.portal.settings.read().map_err(|_| errors::internal())?;
    if !settings.granted(def.scope) {
        return Err(errors::insufficient_scope());
    }
    if let Some(limits) = settings.operating.filter(|l| l.batch_charging == BatchCharging::PerCommand) {
        let key = (ctx.caller.auth_kind, ctx.caller.credential.clone(), def.name.to_owned());
        if lock(&ctx.portal.operating).blocked(&limits, &key, at).is_some() {
            return Err(errors::operation_time_limit());
        }
    }
    Ok(def)
}

/// Charge a sub-call to its own method (per-command mode) and return the method's operating
/// state for its `result_time`.
fn charge(ctx: &Ctx<'_>, method: &str, start: f64, cost: f64) -> Option<OperatingState> {
    let limits =
        ctx.portal.settings.read().ok()?.operating.filter(|l| l.batch_charging == BatchCharging::PerCommand)?;
    let key = (ctx.caller.auth_kind, ctx.caller.credential.clone(), method.to_owned());
    let mut operating = lock(&ctx.portal.operating);
    operating.record(&limits, key.clone(), start, cost);
    Some(operating.state(&limits, &key, start + cost))
}

fn count(ctx: &Ctx<'_>, method: &str, outcome: &Outcome) {
    let counters = &ctx.portal.counters;
    counters.method(method);
    counters.rows(outcome.rows);
    if outcome.counted {
        counters.counted();
    }
}

pub(crate) fn batch_v2(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let halt = truthy(param(params, "halt"));
    let commands: Vec<(String, String)> = match param(params, "cmd") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), as_text(v))).collect(),
        Some(Value::Array(a)) => a.iter().enumerate().map(|(i, v)| (i.to_string(), as_text(v))).collect(),
        _ => Vec::new(),
    };
    let mut gathered = Gathered::default();
    let mut elapsed = 0.0;
    for (index, (key, row)) in commands.into_iter().enumerate() {
        let failure = if index >= MAX_COMMANDS {
            Err(errors::batch_length_exceeded())
        } else {
            let (method, query) = row.split_once('?').unwrap_or((row.as_str(), ""));
            let method = method.trim().to_ascii_lowercase();
            let mut sub = parse_query(query).to_json();
            if !sub.is_object() {
                sub = Value::Object(Map::new());
            }
            substitute(&mut sub, &gathered);
            let start = ctx.now + elapsed;
            admit(ctx, &method, start).and_then(|def| {
                let outcome = def.call(ctx, &sub)?;
                count(ctx, def.name, &outcome);
                Ok((def.name, start, outcome))
            })
        };
        match failure {
            Ok((name, start, outcome)) => {
                elapsed += outcome.cost;
                let operating = charge(ctx, name, start, outcome.cost);
                if let Some(t) = outcome.total {
                    gathered.total.push((key.clone(), json!(t)));
                }
                if let Some(n) = outcome.next {
                    gathered.next.push((key.clone(), json!(n)));
                }
                let timing = Timing { start, finish: start + outcome.cost, processing: outcome.cost, operating };
                gathered.time.push((key.clone(), time_json(&ctx.portal.clock, Api::V2, timing)));
                gathered.result.push((key, outcome.result));
            }
            Err(e) => {
                gathered.error.push((key, e.v2_body()));
                if halt {
                    break;
                }
            }
        }
    }
    let result = json!({
        "result": php_shape(gathered.result),
        "result_error": php_shape(gathered.error),
        "result_total": php_shape(gathered.total),
        "result_next": php_shape(gathered.next),
        "result_time": php_shape(gathered.time),
    });
    Ok(Outcome { result, cost: elapsed, ..Outcome::default() })
}

/// `{"$ref": "alias.item.id"}` in a v3 query, resolved against earlier results by alias.
fn substitute_v3(value: &mut Value, aliases: &Map<String, Value>) {
    if let Value::Object(m) = value {
        if let (1, Some(Value::String(path))) = (m.len(), m.get("$ref")) {
            let mut parts = path.split('.');
            let mut node = parts.next().and_then(|alias| aliases.get(alias)).cloned().unwrap_or(Value::Null);
            for part in parts {
                node = match &node {
                    Value::Object(o) => o.get(part).cloned().unwrap_or(Value::Null),
                    Value::Array(a) => {
                        part.parse::<usize>().ok().and_then(|i| a.get(i).cloned()).unwrap_or(Value::Null)
                    }
                    _ => Value::Null,
                };
            }
            *value = node;
            return;
        }
        m.values_mut().for_each(|v| substitute_v3(v, aliases));
    } else if let Value::Array(a) = value {
        a.iter_mut().for_each(|v| substitute_v3(v, aliases));
    }
}

/// The commands of a v3 batch: a JSON array, or an object keyed `"0"`, `"1"`, ... (what a
/// client that spreads an array into an object sends; PHP's `json_decode` makes both one
/// array). Other keys of such an object (`auth`) are not commands.
fn v3_commands(params: &Value) -> Option<Vec<&Value>> {
    match params {
        Value::Array(items) => Some(items.iter().collect()),
        Value::Object(map) => {
            let mut indexed: Vec<(u64, &Value)> =
                map.iter().filter_map(|(k, v)| k.parse::<u64>().ok().map(|i| (i, v))).collect();
            indexed.sort_by_key(|(i, _)| *i);
            (!indexed.is_empty()).then(|| indexed.into_iter().map(|(_, v)| v).collect())
        }
        _ => None,
    }
}

pub(crate) fn batch_v3(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let invalid = |text: &str| MethodError::bad("BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION", text);
    let commands = v3_commands(params).ok_or_else(|| invalid("batch body must be a JSON array of commands"))?;
    if commands.len() > MAX_COMMANDS {
        return Err(invalid("a batch holds at most 50 commands"));
    }
    let mut results = Vec::with_capacity(commands.len());
    let mut aliases = Map::new();
    let mut elapsed = 0.0;
    for command in commands {
        let method = command.get("method").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
        let Some(query) = command.get("query").filter(|q| q.is_object()) else {
            return Err(invalid("every command needs a method and a query object"));
        };
        if method.is_empty() {
            return Err(invalid("every command needs a method and a query object"));
        }
        let def = admit(ctx, &method, ctx.now + elapsed).map_err(|e| {
            if e.code == "ERROR_METHOD_NOT_FOUND" {
                MethodError::bad(
                    "BITRIX_REST_V3_EXCEPTION_METHODNOTFOUNDEXCEPTION",
                    format!("Method {method} not found"),
                )
            } else {
                e
            }
        })?;
        let mut query = query.clone();
        substitute_v3(&mut query, &aliases);
        let outcome = def.call(ctx, &query)?;
        count(ctx, def.name, &outcome);
        charge(ctx, def.name, ctx.now + elapsed, outcome.cost);
        elapsed += outcome.cost;
        if let Some(alias) = command.get("as").and_then(Value::as_str) {
            aliases.insert(alias.to_owned(), outcome.result.clone());
        }
        results.push(outcome.result);
    }
    Ok(Outcome { result: Value::Array(results), cost: elapsed, ..Outcome::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_walk_to_the_deepest_level() {
        let mut g = Gathered::default();
        g.result.push(("p0".into(), json!([{"ID": "7"}, {"ID": "9"}])));
        g.next.push(("p0".into(), json!(50)));
        let mut params =
            json!({"filter": {">ID": "$result[p0][1][ID]"}, "start": "$next[p0]", "t": "x$result[p0][0][ID]y"});
        substitute(&mut params, &g);
        assert_eq!(params, json!({"filter": {">ID": "9"}, "start": 50, "t": "x7y"}));
        let mut broken = json!({">ID": "$result[p0][49][ID]"});
        substitute(&mut broken, &g);
        assert_eq!(broken, json!({">ID": [{"ID": "7"}, {"ID": "9"}]}));
    }
}
