//! The reviewed overrides table (`overrides.toml` beside this file), loaded and checked.

use std::collections::BTreeMap;

use serde::Deserialize;

const TABLE: &str = include_str!("overrides.toml");

/// The table.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Overrides {
    #[serde(default)]
    pub(crate) param: Vec<ParamOverride>,
    #[serde(default)]
    pub(crate) list: Vec<ListOverride>,
    #[serde(default)]
    pub(crate) v3_schema_names: BTreeMap<String, String>,
}

/// A param, by name in every method, sent as another kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParamOverride {
    pub(crate) name: String,
    pub(crate) kind: String,
}

/// The id fields of a list method.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListOverride {
    pub(crate) method: String,
    pub(crate) id_filter: String,
    pub(crate) id_row: String,
}

impl Overrides {
    /// Parse and check the table.
    pub(crate) fn load() -> Result<Overrides, String> {
        let table: Overrides = toml::from_str(TABLE).map_err(|e| format!("codegen_methods/overrides.toml: {e}"))?;
        for p in &table.param {
            if p.kind != "content" {
                return Err(format!("overrides.toml: param {}: unknown kind {:?}", p.name, p.kind));
            }
        }
        Ok(table)
    }

    /// The id fields of a list method, if overridden.
    pub(crate) fn list_ids(&self, method: &str) -> Option<(&str, &str)> {
        self.list.iter().find(|l| l.method == method).map(|l| (l.id_filter.as_str(), l.id_row.as_str()))
    }
}
