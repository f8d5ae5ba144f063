//! The catalogue files as data (`../shared/catalog`, described by its README.md): the v2 methods,
//! the general error codes, and the REST v3 OpenAPI document (kept as JSON and read by `v3.rs`).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// `methods.json`.
#[derive(Deserialize)]
pub(crate) struct Methods {
    pub(crate) methods: Vec<V2Method>,
}

/// One v2 method.
#[derive(Deserialize, Clone)]
pub(crate) struct V2Method {
    pub(crate) method: String,
    pub(crate) scope: Option<String>,
    pub(crate) doc: String,
    #[serde(default)]
    pub(crate) deprecated: bool,
    #[serde(default)]
    pub(crate) outdated_section: bool,
    pub(crate) replacement: Option<String>,
    pub(crate) replacement_doc: Option<String>,
    #[serde(default)]
    pub(crate) params: Vec<Param>,
    #[serde(default)]
    pub(crate) result: Vec<ResultRow>,
    #[serde(default)]
    pub(crate) errors: Vec<ErrorRow>,
}

/// A row of a parameter table.
#[derive(Deserialize, Clone, Debug)]
pub(crate) struct Param {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) ty: String,
    #[serde(default)]
    pub(crate) required: bool,
    #[serde(default)]
    pub(crate) values: Vec<String>,
    pub(crate) default: Option<String>,
    #[serde(default)]
    pub(crate) fields: Vec<Param>,
}

/// A row of a result table.
#[derive(Deserialize, Clone, Debug)]
pub(crate) struct ResultRow {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) ty: String,
    #[serde(default)]
    pub(crate) fields: Vec<ResultRow>,
}

/// A method-specific error.
#[derive(Deserialize, Clone, Debug)]
pub(crate) struct ErrorRow {
    pub(crate) code: String,
    pub(crate) status: Option<u16>,
}

/// `error-codes.json`.
#[derive(Deserialize)]
pub(crate) struct GeneralErrors {
    pub(crate) errors: Vec<GeneralError>,
}

/// A general (system) error.
#[derive(Deserialize)]
pub(crate) struct GeneralError {
    pub(crate) code: String,
    pub(crate) status: u16,
}

/// `v3-methods.json`: the documented v3 pages.
#[derive(Deserialize)]
struct V3Docs {
    methods: Vec<V3Doc>,
}

#[derive(Deserialize)]
struct V3Doc {
    method: String,
    doc: String,
}

/// Everything the generator reads.
pub(crate) struct Catalog {
    pub(crate) v2: Vec<V2Method>,
    pub(crate) openapi: Value,
    /// Docs pages of v3 methods, by lower-case name.
    pub(crate) v3_docs: std::collections::BTreeMap<String, String>,
    pub(crate) general: Vec<GeneralError>,
}

fn read<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Result<T, String> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Read the catalogue in `dir`.
pub(crate) fn load(dir: &Path) -> Result<Catalog, String> {
    let methods: Methods = read(dir, "methods.json")?;
    let general: GeneralErrors = read(dir, "error-codes.json")?;
    let openapi: Value = read(dir, "openapi-v3.json")?;
    // The OpenAPI paths are what is generated; v3-methods.json gives the docs page of those
    // that have one (the README lists how the two differ).
    let docs: V3Docs = read(dir, "v3-methods.json")?;
    let v3_docs = docs.methods.into_iter().map(|d| (d.method.to_ascii_lowercase(), d.doc)).collect();
    Ok(Catalog { v2: methods.methods, openapi, v3_docs, general: general.errors })
}
