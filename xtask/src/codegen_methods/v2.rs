//! REST v2: every method of `methods.json` as a [`Method`], with the name tree and the result
//! structs.

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{self, Catalog};
use super::model::{Api, Method, ResultStruct};
use super::naming::{doc_url, snake};
use super::overrides::Overrides;
use super::params::{Builder, Row, TypeCtx};
use super::results::{self, Site};
use super::tree::{self, Node};

/// The v2 layer.
pub(crate) struct Layer {
    pub(crate) methods: Vec<Method>,
    pub(crate) tree: Node,
    pub(crate) structs: Vec<ResultStruct>,
}

pub(crate) fn rows(params: &[catalog::Param]) -> Vec<Row<'_>> {
    params
        .iter()
        .map(|p| Row {
            name: &p.name,
            ty: &p.ty,
            required: p.required,
            values: &p.values,
            default: p.default.as_deref(),
            fields: rows(&p.fields),
        })
        .collect()
}

/// A code that can name a `MethodCode` variant (the catalogue also holds messages in its code
/// columns, and `""` for the legacy empty code, which `ErrorCode` already matches).
pub(crate) fn is_code(code: &str) -> bool {
    !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn deprecation(m: &catalog::V2Method) -> Option<String> {
    if !m.deprecated {
        return None;
    }
    Some(match (&m.replacement, &m.replacement_doc) {
        (Some(r), _) => format!("{} is deprecated: use {r}", m.method),
        (None, Some(doc)) => format!("{} is deprecated: see {}", m.method, doc_url(doc)),
        (None, None) if m.outdated_section => {
            format!("{} is deprecated (the docs list it under outdated methods)", m.method)
        }
        (None, None) => format!("{} is deprecated (its development has stopped)", m.method),
    })
}

/// Features: one per top-level group; root-level methods and groups whose methods all need
/// only the `basic` scope go to `basic`.
pub(crate) fn features(methods: &[catalog::V2Method]) -> BTreeMap<String, String> {
    let mut scopes: BTreeMap<String, BTreeSet<Option<String>>> = BTreeMap::new();
    for m in methods {
        if let Some((root, _)) = m.method.split_once('.') {
            scopes.entry(root.to_ascii_lowercase()).or_default().insert(m.scope.clone());
        }
    }
    let mut out = BTreeMap::new();
    for m in methods {
        let feature = match m.method.split_once('.') {
            None => "basic".to_owned(),
            Some((root, _)) => {
                let root = root.to_ascii_lowercase();
                let all_basic = scopes.get(&root).is_some_and(|s| s.iter().all(|s| s.as_deref() == Some("basic")));
                if all_basic { "basic".to_owned() } else { snake(&root) }
            }
        };
        out.insert(m.method.clone(), feature);
    }
    out
}

/// Build the v2 layer.
pub(crate) fn layer(cat: &Catalog, ov: &Overrides) -> Result<Layer, String> {
    let names: Vec<&str> = cat.v2.iter().map(|m| m.method.as_str()).collect();
    let tree = tree::build(&names, &[]);
    let mut nodes = Vec::new();
    tree.walk(&mut nodes);
    let mut place: Vec<Option<&Node>> = vec![None; cat.v2.len()];
    for n in nodes {
        if let Some(i) = n.method {
            place[i] = Some(n);
        }
    }
    let mut sites = Vec::new();
    for (m, node) in cat.v2.iter().zip(&place) {
        let node = node.ok_or_else(|| format!("{} has no place in the name tree", m.method))?;
        let family = m.method.rsplit_once('.').map_or(String::new(), |(f, _)| f.to_ascii_lowercase());
        sites.push(Site {
            method: m,
            group_module: node.builder_module.clone(),
            own_module: node.module.clone(),
            family,
        });
    }
    let resolved = results::resolve(&sites, &cat.v2);
    let features = features(&cat.v2);
    let content: Vec<String> = ov.param.iter().filter(|p| p.kind == "content").map(|p| p.name.clone()).collect();
    for l in &ov.list {
        if !cat.v2.iter().any(|m| m.method == l.method) {
            return Err(format!("overrides.toml: list override for {} names no method", l.method));
        }
    }
    let mut methods = Vec::new();
    for (m, (output, key, _)) in cat.v2.iter().zip(resolved.outputs) {
        let mut ctx = TypeCtx::default();
        let params = Builder { ctx: &mut ctx, content_params: &content, v3: false }.params(&rows(&m.params), &[], true);
        let list = results::list_spec(m, &output, &resolved.structs, ov.list_ids(&m.method));
        let mut seen = BTreeSet::new();
        let errors = m
            .errors
            .iter()
            .filter(|e| is_code(&e.code) && seen.insert(e.code.clone()))
            .map(|e| (e.code.clone(), e.status))
            .collect();
        methods.push(Method {
            name: m.method.clone(),
            api: Api::V2,
            doc_url: doc_url(&m.doc),
            scope: m.scope.clone().unwrap_or_else(|| "none".to_owned()),
            feature: features.get(&m.method).cloned().unwrap_or_default(),
            deprecated: deprecation(m),
            params,
            types: ctx.types,
            output,
            result_key: key,
            list,
            errors,
            positional: m.method.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("task.")),
        });
    }
    Ok(Layer { methods, tree, structs: resolved.structs })
}
