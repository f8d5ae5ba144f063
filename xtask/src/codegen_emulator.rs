//! The emulator's part of `cargo xtask codegen`: the documented REST v2 methods
//! (`../shared/catalog/methods.json`, next to the repository) as a compact table of facts for
//! b24-emulator, written to `crates/b24-emulator/src/catalogue/generated.rs`.
//!
//! Facts only: method names, scopes, parameters (name, type, required), result rows (name,
//! type), documented error codes and statuses, and per entity family the union of its documented
//! fields. No documentation text. The catalogue itself is never copied into the project; when it
//! is absent (a user's checkout, CI without the shared folder) generation is skipped and the
//! committed file stays as it is.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The generated file, relative to the workspace root.
pub(crate) const OUT: &str = "crates/b24-emulator/src/catalogue/generated.rs";

/// The catalogue, relative to the workspace root.
const CATALOGUE: &str = "../shared/catalog/methods.json";

#[derive(Deserialize)]
struct Catalogue {
    source: Source,
    methods: Vec<MethodEntry>,
}

#[derive(Deserialize)]
struct Source {
    commit: String,
}

#[derive(Deserialize)]
struct MethodEntry {
    method: String,
    scope: Option<String>,
    #[serde(default)]
    params: Vec<Row>,
    #[serde(default)]
    result: Vec<Row>,
    #[serde(default)]
    errors: Vec<ErrorRow>,
}

#[derive(Deserialize, Clone)]
struct Row {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    fields: Vec<Row>,
}

#[derive(Deserialize)]
struct ErrorRow {
    code: String,
    status: Option<u16>,
}

/// Where the catalogue is, if it is there.
pub(crate) fn catalogue_path(root: &Path) -> Option<PathBuf> {
    let path = root.join(CATALOGUE);
    path.is_file().then_some(path)
}

/// The generated Rust source, or `None` when the catalogue is absent.
pub(crate) fn render(root: &Path) -> Result<Option<String>, String> {
    let Some(path) = catalogue_path(root) else { return Ok(None) };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let catalogue: Catalogue = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if catalogue.methods.is_empty() {
        return Err(format!("{CATALOGUE} lists no methods"));
    }
    Ok(Some(render_catalogue(&catalogue)))
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// A row's name as a client sends it, and whether the docs mark it required in the name
/// (`id^*^`). Qualifiers (`TITLE (LANG)`) are dropped; placeholders (`<FIELD_CODE>`,
/// `upload{id}`) are not names and give `None`.
fn clean(row: &Row) -> Option<(String, bool)> {
    let marked = row.name.contains("^*^");
    let name = row.name.replace("^*^", "");
    let name = name.split(" (").next().unwrap_or("").trim();
    let placeholder = name.is_empty() || name.chars().any(|c| "<>\\{}#=~ ".contains(c));
    (!placeholder).then(|| (name.to_owned(), row.required || marked))
}

/// Rows that are not part of an answer's `result`: the envelope's own keys.
fn envelope_row(name: &str) -> bool {
    matches!(name, "time" | "next" | "total")
}

/// The family of a method (`crm.deal.add` → `crm.deal`) and its action.
fn split(name: &str) -> Option<(&str, &str)> {
    name.rsplit_once('.')
}

/// Whether a parameter carries the entity's fields (`fields`, `FIELDS`, `field`).
fn is_fields_param(name: &str) -> bool {
    name.eq_ignore_ascii_case("fields") || name.eq_ignore_ascii_case("field")
}

/// The union of a family's documented fields: the `fields` method's rows, the add method's
/// `fields` parameter (whose required flags count), the get and list answers' nested rows.
fn family_fields(actions: &BTreeMap<String, &MethodEntry>) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = Vec::new();
    // `counts`: whether the row's required flag is the entity's (the add method's fields).
    let mut push = |row: &Row, counts: bool| {
        let Some((name, required)) = clean(row) else { return };
        let required = counts && required;
        if envelope_row(&name) || name == "result" {
            return;
        }
        match out.iter_mut().find(|(n, _, _)| *n == name) {
            Some(existing) => existing.2 |= required,
            None => out.push((name, row.ty.clone(), required)),
        }
    };
    if let Some(add) = actions.get("add") {
        match add.params.iter().find(|p| is_fields_param(&p.name)) {
            Some(fields) => fields.fields.iter().for_each(|f| push(f, true)),
            // Families whose add takes the fields at the top level (department, mailservice).
            None => add.params.iter().filter(|p| !p.name.eq_ignore_ascii_case("id")).for_each(|p| push(p, true)),
        }
    }
    if let Some(fields) = actions.get("fields") {
        for row in &fields.result {
            if row.name == "result" || !row.fields.is_empty() {
                row.fields.iter().for_each(|f| push(f, false));
            } else {
                push(row, false);
            }
        }
    }
    for action in ["get", "list"] {
        if let Some(m) = actions.get(action) {
            m.result.iter().flat_map(|r| r.fields.iter()).for_each(|f| push(f, false));
        }
    }
    out
}

fn render_catalogue(catalogue: &Catalogue) -> String {
    let mut methods: Vec<&MethodEntry> = catalogue.methods.iter().collect();
    methods.sort_by_key(|m| m.method.to_ascii_lowercase());
    methods.dedup_by_key(|m| m.method.to_ascii_lowercase());

    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "//! The documented REST v2 methods and entity fields, as facts.");
    let _ = writeln!(w, "//!");
    let _ = writeln!(
        w,
        "//! Generated by `cargo xtask codegen` from `../shared/catalog/methods.json` (b24restdocs {}, MIT). Do not edit by hand.",
        catalogue.source.commit
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "use super::{{Entity, Method, new_entity as e, new_method as m}};");
    let _ = writeln!(w);
    let _ = writeln!(w, "/// Every documented method, names in lower case, sorted for binary search:");
    let _ = writeln!(w, "/// name, scope, parameters (name, type, required), result rows, error codes (code, status).");
    let _ = writeln!(w, "#[rustfmt::skip]");
    let _ = writeln!(w, "pub(crate) static METHODS: &[Method] = &[");
    for m in &methods {
        let params: Vec<String> = m
            .params
            .iter()
            .filter_map(|p| clean(p).map(|(name, required)| format!("({}, {}, {required})", lit(&name), lit(&p.ty))))
            .collect();
        let result: Vec<String> = m
            .result
            .iter()
            .filter_map(|r| clean(r).filter(|(name, _)| name != "time").map(|(name, _)| (name, &r.ty)))
            .map(|(name, ty)| format!("({}, {})", lit(&name), lit(ty)))
            .collect();
        let mut errors: Vec<String> =
            m.errors.iter().map(|e| format!("({}, {})", lit(&e.code), e.status.unwrap_or(0))).collect();
        errors.dedup();
        let _ = writeln!(
            w,
            "m({}, {}, &[{}], &[{}], &[{}]),",
            lit(&m.method.to_ascii_lowercase()),
            lit(m.scope.as_deref().unwrap_or("")),
            params.join(", "),
            result.join(", "),
            errors.join(", "),
        );
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(w);

    let mut families: BTreeMap<String, BTreeMap<String, &MethodEntry>> = BTreeMap::new();
    for m in &methods {
        if let Some((family, action)) = split(&m.method) {
            let action = action.to_ascii_lowercase();
            if matches!(action.as_str(), "add" | "get" | "list" | "update" | "delete" | "fields") {
                families.entry(family.to_ascii_lowercase()).or_default().insert(action, m);
            }
        }
    }
    let _ = writeln!(w, "/// Entity families (a documented `add` and `get` or `list`): their documented fields.");
    let _ = writeln!(w, "#[rustfmt::skip]");
    let _ = writeln!(w, "pub(crate) static ENTITIES: &[Entity] = &[");
    for (family, actions) in &families {
        if !actions.contains_key("add") || !(actions.contains_key("get") || actions.contains_key("list")) {
            continue;
        }
        let fields: Vec<String> =
            family_fields(actions).iter().map(|(n, t, r)| format!("({}, {}, {})", lit(n), lit(t), r)).collect();
        let _ = writeln!(w, "e({}, &[{}]),", lit(family), fields.join(", "));
    }
    let _ = writeln!(w, "];");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, ty: &str, required: bool) -> Row {
        Row { name: name.into(), ty: ty.into(), required, fields: Vec::new() }
    }

    #[test]
    fn family_fields_merge_the_sources() {
        let add = MethodEntry {
            method: "crm.x.add".into(),
            scope: Some("crm".into()),
            params: vec![Row { fields: vec![row("TITLE", "string", true)], ..row("fields", "object", true) }],
            result: vec![row("result", "integer", false)],
            errors: Vec::new(),
        };
        let get = MethodEntry {
            method: "crm.x.get".into(),
            scope: Some("crm".into()),
            params: vec![row("id", "integer", true)],
            result: vec![Row {
                fields: vec![row("ID", "integer", false), row("TITLE", "string", false)],
                ..row("result", "x", false)
            }],
            errors: Vec::new(),
        };
        let actions: BTreeMap<String, &MethodEntry> = [("add".to_owned(), &add), ("get".to_owned(), &get)].into();
        let fields = family_fields(&actions);
        assert_eq!(
            fields,
            vec![("TITLE".to_owned(), "string".to_owned(), true), ("ID".to_owned(), "integer".to_owned(), false)]
        );
    }
}
