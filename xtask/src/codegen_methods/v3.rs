//! REST v3: every path of the portal's OpenAPI document as a [`Method`] (request properties to
//! params through the same rules as v2, `filter` as the typed v3 filter), its component schemas as
//! structs (`v3::tasks::Task`), lists by `pagination` and keyset lists by `cursor`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::catalog::{self, Catalog};
use super::model::{Api, Field, FieldTy, ListSpec, Method, Output, ResultStruct};
use super::naming::{doc_url, snake, type_name, unique};
use super::overrides::Overrides;
use super::params::{Builder, TypeCtx};
use super::tree::{self, Node};
use super::v2::{Layer, rows};

fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next())
}

/// `bitrix.tasks.taskdto` → (`["v3", "tasks"]`, `Task`), or the overrides' name.
fn schema_place(name: &str, ov: &Overrides) -> (Vec<String>, String) {
    let parts: Vec<&str> = name.split('.').collect();
    let module = parts.get(1).map_or_else(|| "dto".to_owned(), |m| snake(m));
    let stem = parts.last().copied().unwrap_or(name);
    let stem = stem.strip_suffix("dto").unwrap_or(stem);
    let rust = ov.v3_schema_names.get(name).cloned().unwrap_or_else(|| type_name(stem));
    (vec!["v3".to_owned(), module], rust)
}

fn schema_path(name: &str, ov: &Overrides) -> String {
    let (mut module, rust) = schema_place(name, ov);
    module.push(rust);
    module.join("::")
}

fn token(schema: &Value) -> String {
    if schema.get("$ref").is_some() {
        return "object".into();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => "integer".into(),
        Some("number") => "double".into(),
        Some("boolean") => "boolean".into(),
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "datetime".into(),
            Some("date") => "date".into(),
            _ => "string".into(),
        },
        Some("array") => match schema.get("items").filter(|i| i.get("type").is_some()) {
            Some(items) => format!("array<{}>", token(items)),
            None => "array".into(),
        },
        Some("object") => "object".into(),
        _ => "unknown".into(),
    }
}

fn properties(schema: &Value) -> Vec<(&String, &Value)> {
    // PHP writes an empty map as `[]`: no properties.
    schema.get("properties").and_then(Value::as_object).map(|m| m.iter().collect()).unwrap_or_default()
}

fn required(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A request property as a catalogue param row (then typed by the same rules as v2).
fn param(name: &str, schema: &Value, is_required: bool, top: bool) -> catalog::Param {
    // `order` is a map of field → direction: set field by field, not as a struct of every field.
    let nested = !(top && name == "order");
    let req = required(schema);
    let fields = if nested {
        properties(schema).into_iter().map(|(k, v)| param(k, v, req.contains(k.as_str()), false)).collect()
    } else {
        Vec::new()
    };
    let values = schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|v| v.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect())
        .unwrap_or_default();
    catalog::Param { name: name.to_owned(), ty: token(schema), required: is_required, values, default: None, fields }
}

fn field_ty(schema: &Value, ov: &Overrides, typed: &BTreeSet<String>) -> FieldTy {
    if let Some(r) = ref_name(schema).filter(|r| typed.contains(*r)) {
        return FieldTy::Struct(schema_path(r, ov));
    }
    match token(schema).as_str() {
        "integer" => FieldTy::Int,
        "double" => FieldTy::Float,
        "boolean" => FieldTy::Bool,
        "datetime" => FieldTy::DateTime,
        "date" => FieldTy::Date,
        "string" => FieldTy::Text,
        _ => FieldTy::Json,
    }
}

/// The component schemas that have properties (the others stay `serde_json::Value`).
fn typed_schemas(doc: &Value) -> BTreeSet<String> {
    let schemas = doc.pointer("/components/schemas").and_then(Value::as_object).cloned().unwrap_or_default();
    schemas.iter().filter(|(_, s)| !properties(s).is_empty()).map(|(n, _)| n.clone()).collect()
}

fn schema_structs(doc: &Value, ov: &Overrides) -> Vec<ResultStruct> {
    let schemas = doc.pointer("/components/schemas").and_then(Value::as_object).cloned().unwrap_or_default();
    let typed = typed_schemas(doc);
    let mut out = Vec::new();
    for (name, schema) in schemas.iter().filter(|(n, _)| typed.contains(*n)) {
        let (module, rust) = schema_place(name, ov);
        let mut taken = BTreeSet::new();
        let fields = properties(schema)
            .into_iter()
            .map(|(k, v)| Field {
                wire: k.clone(),
                rust: unique(snake(k), &mut taken),
                ty: field_ty(v, ov, &typed),
                doc_ty: token(v),
            })
            .collect();
        out.push(ResultStruct { module, name: rust, fields, entity: true });
    }
    out
}

/// The output of a path, and the key of `result` it sits under.
fn output(op: &Value, ov: &Overrides, typed: &BTreeSet<String>) -> (Output, Option<String>) {
    let result =
        op.pointer("/responses/200/content/application~1json/schema/properties/result").cloned().unwrap_or_default();
    let dto = |s: &Value| ref_name(s).filter(|r| typed.contains(*r)).map(|r| Output::Struct(schema_path(r, ov)));
    if let Some(items) = result.get("items") {
        return (Output::List(Box::new(dto(items).unwrap_or(Output::Json))), None);
    }
    let props = properties(&result);
    match props.as_slice() {
        [(key, schema)] => {
            let out = dto(schema).unwrap_or_else(|| match token(schema).as_str() {
                "boolean" => Output::Bool,
                "integer" => Output::Int,
                "double" => Output::Float,
                "string" => Output::Text,
                _ => Output::Json,
            });
            (out, Some((*key).clone()))
        }
        _ => (Output::Json, None),
    }
}

/// Build the v3 layer.
pub(crate) fn layer(cat: &Catalog, ov: &Overrides) -> Result<Layer, String> {
    let paths: Map<String, Value> =
        cat.openapi.get("paths").and_then(Value::as_object).cloned().ok_or("openapi-v3.json has no paths")?;
    let names: Vec<String> = paths.keys().map(|p| p.trim_start_matches('/').to_owned()).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let tree: Node = tree::build(&name_refs, &["v3".to_owned()]);
    let typed = typed_schemas(&cat.openapi);
    let mut methods = Vec::new();
    for (name, ops) in names.iter().zip(paths.values()) {
        let op = ops.get("post").or_else(|| ops.get("get")).cloned().unwrap_or_default();
        let body = op.pointer("/requestBody/content/application~1json/schema").cloned().unwrap_or_default();
        let req = required(&body);
        let raw: Vec<catalog::Param> =
            properties(&body).into_iter().map(|(k, v)| param(k, v, req.contains(k.as_str()), true)).collect();
        let mut ctx = TypeCtx::default();
        let params = Builder { ctx: &mut ctx, content_params: &[], v3: true }.params(&rows(&raw), &[], true);
        let (mut out, mut key) = output(&op, ov, &typed);
        let has = |p: &str| raw.iter().any(|r| r.name == p);
        let tail = name.ends_with(".tail") && has("cursor");
        let list = if has("pagination") || tail {
            if !matches!(out, Output::List(_)) {
                out = Output::List(Box::new(Output::Json));
            }
            if !tail {
                key = Some("items".to_owned());
            }
            let Output::List(row) = &out else { unreachable!("made a list above") };
            Some(ListSpec { row: row.as_ref().clone(), id_filter: "id".into(), id_row: "id".into(), tail })
        } else {
            None
        };
        methods.push(Method {
            name: name.clone(),
            api: Api::V3,
            doc_url: cat.v3_docs.get(&name.to_ascii_lowercase()).map(|d| doc_url(d)).unwrap_or_default(),
            scope: name.split('.').next().unwrap_or("").to_owned(),
            feature: "v3".to_owned(),
            deprecated: None,
            params,
            types: ctx.types,
            output: out,
            result_key: key,
            list,
            errors: Vec::new(),
            positional: false,
        });
    }
    Ok(Layer { methods, tree, structs: schema_structs(&cat.openapi, ov) })
}
