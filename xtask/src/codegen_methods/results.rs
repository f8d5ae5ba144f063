//! v2 results: what each method answers, from its result table, and the entity structs several
//! methods of a group share (`crm::deal::Deal` for `crm.deal.get` and the rows of
//! `crm.deal.list`).
//!
//! The shape of an answer: the `result` row, or the one row beside the envelope (`item` of
//! `crm.item.get`, `tasks` of `tasks.task.list`: the output sits under that key), or several rows
//! (the result is an object with those keys: a method `Output` struct). A named type (`deal`,
//! `catalog_product`) is an entity of the method's group; a generic `object` with fields in a
//! group's `get`/`list`/`add`/`update`, or under a key named after the group, is the group's
//! entity too. Entities without fields in any result table take the fields of the group's
//! `add` (else `update`) param `fields`; `get` and `list` answers the tables leave generic do too.

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{self, ResultRow};
use super::model::{Field, FieldTy, ListSpec, Output, ResultStruct, Ty};
use super::naming::{is_identifier, snake, type_name, unique};
use super::params::token_ty;

const ENVELOPE: &[&str] = &["result", "total", "next", "time"];
const GENERIC: &[&str] = &[
    "object", "array", "boolean", "bool", "integer", "int", "string", "double", "float", "any", "unknown", "null",
    "result", "mixed", "file", "time", "date", "datetime", "char", "text", "number",
];

/// Where a method sits, for results: its group's module and its own.
pub(crate) struct Site<'a> {
    pub(crate) method: &'a catalog::V2Method,
    pub(crate) group_module: Vec<String>,
    pub(crate) own_module: Vec<String>,
    /// The method's name without its last segment (`crm.deal`), lower case.
    pub(crate) family: String,
}

fn leaf(site: &Site<'_>) -> String {
    site.method.method.rsplit('.').next().unwrap_or("").to_ascii_lowercase()
}

fn is_named(token: &str) -> bool {
    let t = token.to_ascii_lowercase();
    let scalar_ref = t.starts_with("crm_") && token_ty(&t) != Ty::Json;
    !(t.is_empty() || t.contains('|') || t.contains('.') || scalar_ref || GENERIC.contains(&t.as_str()))
}

/// The element type of `array<T>`; a plain `array` (a PHP array: a list or a map) is a list
/// only for a method that pages (`list_method`).
fn element(token: &str, list_method: bool) -> (&str, bool) {
    match token.strip_prefix("array<").and_then(|r| r.strip_suffix('>')) {
        Some(inner) => (inner, true),
        None => (token, list_method && token.eq_ignore_ascii_case("array")),
    }
}

/// Whether a v2 method pages like a list: it takes `filter`, `order` and `start`.
pub(crate) fn pages(method: &catalog::V2Method) -> bool {
    let has = |n: &str| method.params.iter().any(|p| p.name == n);
    has("filter") && has("order") && has("start")
}

/// What a method's answer looks like before entities are resolved.
struct Shape {
    key: Option<String>,
    token: String,
    rows: Vec<ResultRow>,
    list: bool,
}

fn shape(site: &Site<'_>) -> Shape {
    let rows = &site.method.result;
    let result = rows.iter().find(|r| r.name == "result");
    let inner: Vec<&ResultRow> = rows.iter().filter(|r| !ENVELOPE.contains(&r.name.as_str())).collect();
    let result_objectish = result.is_none_or(|r| r.ty.to_ascii_lowercase().contains("object"));
    let listy_leaf = matches!(leaf(site).as_str(), "list" | "getlist");
    let (key, token, fields) = match (result, inner.as_slice()) {
        (Some(r), _) if !r.fields.is_empty() => (None, r.ty.clone(), r.fields.clone()),
        (_, [one]) if result_objectish && is_identifier(&one.name) => {
            (Some(one.name.clone()), one.ty.clone(), one.fields.clone())
        }
        (_, many) if many.len() > 1 && result_objectish => {
            (None, "object".to_owned(), many.iter().map(|r| (*r).clone()).collect())
        }
        (Some(r), _) => (None, r.ty.clone(), Vec::new()),
        (None, _) => (None, "unknown".to_owned(), Vec::new()),
    };
    let (elem, array) = element(&token, pages(site.method));
    let list = array || (listy_leaf && key.is_some());
    Shape { key, token: elem.to_owned(), rows: fields, list }
}

/// How one result field is typed; `yes_no` when a param table lists `Y`/`N` for it.
fn field_ty(token: &str, yes_no: bool) -> FieldTy {
    if yes_no {
        return FieldTy::Bool;
    }
    match token_ty(token) {
        Ty::Int => FieldTy::Int,
        Ty::Float => FieldTy::Float,
        Ty::Flag | Ty::YesNo => FieldTy::Bool,
        Ty::Text => FieldTy::Text,
        Ty::When if token.to_ascii_lowercase().contains("datetime") => FieldTy::DateTime,
        Ty::When => FieldTy::Date,
        _ => FieldTy::Json,
    }
}

#[derive(Default)]
struct Entity {
    /// (wire, token)
    fields: Vec<(String, String)>,
}

impl Entity {
    fn add(&mut self, wire: &str, token: &str) {
        if is_identifier(wire) && !self.fields.iter().any(|(w, _)| w == wire) {
            self.fields.push((wire.to_owned(), token.to_owned()));
        }
    }
}

/// The fields of a group's `add` (else `update`) param `fields`: (wire, token, Y/N values).
fn family_fields<'a>(family: &str, all: &'a [catalog::V2Method]) -> Vec<&'a catalog::Param> {
    for verb in ["add", "update"] {
        let name = format!("{family}.{verb}");
        let Some(m) = all.iter().find(|m| m.method.eq_ignore_ascii_case(&name)) else { continue };
        if let Some(p) = m.params.iter().find(|p| p.name.eq_ignore_ascii_case("fields") && !p.fields.is_empty()) {
            return p.fields.iter().collect();
        }
    }
    Vec::new()
}

/// Which struct an answer's element is, before entities are complete.
enum Elem {
    Entity(Vec<String>, String),
    Local(Vec<ResultRow>),
    Scalar(String),
}

/// Resolves every method's output and the entities.
pub(crate) struct Results {
    pub(crate) structs: Vec<ResultStruct>,
    pub(crate) outputs: Vec<(Output, Option<String>, bool)>,
}

/// Outputs for `sites` (in order) and the result structs they use.
pub(crate) fn resolve(sites: &[Site<'_>], all: &[catalog::V2Method]) -> Results {
    let mut entities: BTreeMap<(Vec<String>, String), Entity> = BTreeMap::new();
    let mut elems = Vec::new();
    for site in sites {
        let s = shape(site);
        let group_seg = site.family.rsplit('.').next().unwrap_or("").to_owned();
        let family_key = s.key.as_deref().is_some_and(|k| {
            let k = k.to_ascii_lowercase();
            k == group_seg || k == format!("{group_seg}s")
        });
        let verb = matches!(leaf(site).as_str(), "get" | "list" | "add" | "update" | "getlist");
        let elem = if is_named(&s.token) {
            Elem::Entity(site.group_module.clone(), type_name(&s.token))
        } else if !s.rows.is_empty() && (verb || family_key) {
            Elem::Entity(site.group_module.clone(), type_name(&group_seg))
        } else if !s.rows.is_empty() {
            Elem::Local(s.rows.clone())
        } else if matches!(leaf(site).as_str(), "get" | "list") && !family_fields(&site.family, all).is_empty() {
            Elem::Entity(site.group_module.clone(), type_name(&group_seg))
        } else {
            Elem::Scalar(s.token.clone())
        };
        if let Elem::Entity(module, name) = &elem {
            let entity = entities.entry((module.clone(), name.clone())).or_default();
            for row in &s.rows {
                entity.add(&row.name, &row.ty);
            }
        }
        elems.push((elem, s));
    }
    // Entities the result tables leave without fields take the group's `fields` param.
    let mut yes_no: BTreeMap<(Vec<String>, String), BTreeSet<String>> = BTreeMap::new();
    for (site, (elem, _)) in sites.iter().zip(&elems) {
        let Elem::Entity(module, name) = elem else { continue };
        let params = family_fields(&site.family, all);
        let key = (module.clone(), name.clone());
        let flags = yes_no.entry(key.clone()).or_default();
        for p in &params {
            if p.values.len() == 2 && p.values.iter().all(|v| v == "Y" || v == "N") {
                flags.insert(p.name.clone());
            }
        }
        if let Some(entity) = entities.get_mut(&key) {
            if entity.fields.is_empty() {
                for p in params {
                    entity.add(&p.name, &p.ty);
                }
            }
        }
    }
    let mut structs = Vec::new();
    for ((module, name), entity) in &entities {
        if entity.fields.is_empty() {
            continue;
        }
        let flags = yes_no.get(&(module.clone(), name.clone())).cloned().unwrap_or_default();
        let fields = entity.fields.iter().map(|(w, t)| (w.as_str(), t.as_str(), flags.contains(w))).collect();
        structs.push(ResultStruct {
            module: module.clone(),
            name: name.clone(),
            fields: make_fields(fields),
            entity: true,
        });
    }
    let mut outputs = Vec::new();
    for (site, (elem, s)) in sites.iter().zip(elems) {
        let inner = match elem {
            Elem::Entity(module, name)
                if entities.get(&(module.clone(), name.clone())).is_some_and(|e| !e.fields.is_empty()) =>
            {
                let mut path = module;
                path.push(name);
                Output::Struct(path.join("::"))
            }
            Elem::Entity(..) => Output::Json,
            Elem::Local(rows) => {
                let fields = make_fields(rows.iter().map(|r| (r.name.as_str(), r.ty.as_str(), false)).collect());
                if fields.is_empty() {
                    // Only placeholder rows (`UF_...`): nothing to type.
                    Output::Json
                } else {
                    let st =
                        ResultStruct { module: site.own_module.clone(), name: "Output".into(), fields, entity: false };
                    let path = st.path();
                    structs.push(st);
                    Output::Struct(path)
                }
            }
            Elem::Scalar(token) => scalar(&token),
        };
        let output = if s.list { Output::List(Box::new(inner)) } else { inner };
        outputs.push((output, s.key, s.list));
    }
    Results { structs, outputs }
}

fn scalar(token: &str) -> Output {
    match token_ty(token) {
        Ty::Int => Output::Int,
        Ty::Float => Output::Float,
        Ty::Flag => Output::Bool,
        Ty::Text => Output::Text,
        _ => Output::Json,
    }
}

fn make_fields(rows: Vec<(&str, &str, bool)>) -> Vec<Field> {
    let mut taken = BTreeSet::new();
    rows.into_iter()
        .filter(|(wire, _, _)| is_identifier(wire))
        .map(|(wire, token, yes_no)| Field {
            wire: wire.to_owned(),
            rust: unique(snake(wire), &mut taken),
            ty: field_ty(token, yes_no),
            doc_ty: token.to_owned(),
        })
        .collect()
}

/// The list spec of a v2 method whose output is a list and that takes `filter`, `order` and
/// `start` (what the fast export drives).
pub(crate) fn list_spec(
    method: &catalog::V2Method,
    output: &Output,
    structs: &[ResultStruct],
    ids: Option<(&str, &str)>,
) -> Option<ListSpec> {
    let Output::List(row) = output else { return None };
    if !pages(method) {
        return None;
    }
    let (id_filter, id_row) = match ids {
        Some((f, r)) => (f.to_owned(), r.to_owned()),
        None => {
            let fields = match row.as_ref() {
                Output::Struct(path) => {
                    structs.iter().find(|s| s.path() == *path).map(|s| s.fields.clone()).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let id = if fields.iter().any(|f| f.wire == "ID") || !fields.iter().any(|f| f.wire == "id") {
                "ID"
            } else {
                "id"
            };
            (id.to_owned(), id.to_owned())
        }
    };
    Some(ListSpec { row: row.as_ref().clone(), id_filter, id_row, tail: false })
}
