//! Rust for the layer: a module per group, a `Group` struct per group with an accessor per child,
//! a builder per method (setters, `Method`, `ListMethod`), the types, and the `Methods` trait.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::model::{Api, Method, Output, ResultStruct};
use super::naming::PRELUDE;
use super::render_types::{abs, code, required, result_struct, setter, type_def};
use super::tree::Node;

/// A module being assembled: its doc, its items, its child modules.
#[derive(Default)]
pub(crate) struct Module {
    pub(crate) doc: String,
    pub(crate) items: String,
    pub(crate) children: BTreeMap<String, Module>,
}

impl Module {
    pub(crate) fn at(&mut self, path: &[String]) -> &mut Module {
        match path.split_first() {
            None => self,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().at(rest),
        }
    }

    /// The module at `path`, if it exists.
    pub(crate) fn get(&mut self, path: &[String]) -> Option<&mut Module> {
        match path.split_first() {
            None => Some(self),
            Some((first, rest)) => self.children.get_mut(first)?.get(rest),
        }
    }

    /// The module's body: items, then child modules inline.
    pub(crate) fn body(&self, out: &mut String) {
        out.push_str(&self.items);
        for (name, child) in &self.children {
            let doc = if child.doc.is_empty() { "Types.".to_owned() } else { child.doc.clone() };
            let _ = writeln!(out, "/// {doc}\npub mod {name} {{");
            child.body(out);
            let _ = writeln!(out, "}}");
        }
    }
}

/// What the method docs say.
fn summary(name: &str) -> String {
    let (family, leaf) = name.rsplit_once('.').unwrap_or(("", name));
    let f = code(family);
    let sentence = match leaf.to_ascii_lowercase().as_str() {
        "list" | "getlist" => format!("lists {f} records"),
        "get" => format!("reads one {f} record"),
        "add" | "create" => format!("adds to {f}"),
        "update" => format!("changes a {f} record"),
        "delete" => format!("deletes a {f} record"),
        "fields" | "getfields" => format!("describes the fields of {f} records"),
        _ => "calls the REST method of this name".to_owned(),
    };
    format!("{}: {sentence}.", code(name))
}

/// The Rust type of an output.
pub(crate) fn output_ty(o: &Output) -> String {
    match o {
        Output::Json => "serde_json::Value".into(),
        Output::Bool => "bool".into(),
        Output::Int => "i64".into(),
        Output::Float => "f64".into(),
        Output::Text => "String".into(),
        Output::Struct(path) => format!("crate::{path}"),
        Output::List(inner) => format!("Vec<{}>", output_ty(inner)),
    }
}

fn struct_of(o: &Output) -> Option<&str> {
    match o {
        Output::Struct(p) => Some(p),
        Output::List(inner) => struct_of(inner),
        _ => None,
    }
}

/// The doc block shared by a builder and its accessor.
fn method_doc(m: &Method, codes: &BTreeMap<String, String>, builder: bool) -> String {
    let mut d = format!("/// {}\n///\n", summary(&m.name));
    if m.doc_url.is_empty() {
        d.push_str("/// No docs page: the portal's OpenAPI document describes it.");
    } else {
        let _ = write!(d, "/// [REST docs]({})", m.doc_url);
    }
    let _ = write!(d, " · scope {}", code(&m.scope));
    match struct_of(&m.output) {
        Some(path) => {
            let shown =
                output_ty(&m.output).replace("crate::", "").replace(path, path.rsplit("::").next().unwrap_or(path));
            let _ = writeln!(d, " · answers [{}](crate::{path})", code(&shown));
        }
        None => {
            let _ = writeln!(d, " · answers {}", code(&output_ty(&m.output)));
        }
    }
    if builder {
        d.push_str("///\n/// Optional params are the setters below; send with [`Method::send`](crate::Method::send), batch with [`Method::into_command`](crate::Method::into_command).\n");
    }
    if !m.errors.is_empty() {
        let list: Vec<String> = m
            .errors
            .iter()
            .filter(|(c, _)| codes.contains_key(c))
            .map(|(c, s)| match s {
                Some(s) => format!("{} ({s})", code(c)),
                None => code(c),
            })
            .collect();
        let _ = writeln!(d, "///\n/// Errors the docs list (match them with `MethodCode`): {}.", list.join(", "));
    }
    if let Some(note) = &m.deprecated {
        let _ = writeln!(d, "///\n/// Deprecated: {}.", code(note));
    }
    d
}

fn deprecated_attr(m: &Method) -> String {
    m.deprecated.as_ref().map(|n| format!("#[deprecated(note = {n:?})]\n")).unwrap_or_default()
}

/// The accessor that makes `m`'s builder.
fn accessor(out: &mut String, fn_name: &str, m: &Method, node: &Node, actions: &str, codes: &BTreeMap<String, String>) {
    let builder = abs(&node.builder_module, &node.builder);
    let (args, sets) = required(&m.params, &node.module);
    out.push_str(&method_doc(m, codes, false));
    out.push_str(&deprecated_attr(m));
    let _ = writeln!(
        out,
        "#[inline]\npub fn {fn_name}(&self{args}) -> {builder} {{ {builder}(crate::rt::Request::new({actions}){sets}) }}"
    );
}

fn group_accessor(out: &mut String, child: &Node, dotted: &str, actions: &str) {
    let group = abs(&child.module, "Group");
    let _ = writeln!(
        out,
        "/// The {} methods.\n#[inline]\npub fn {}(&self) -> {group} {{ {group} {{ actions: {actions} }} }}",
        code(&format!("{dotted}.*")),
        child.rust
    );
}

/// Everything of one layer (v2 or v3) into `root`; the accessors of the tree's first level go
/// to `top` (the trait for v2, `v3::Group` for v3).
pub(crate) struct Renderer<'a> {
    pub(crate) methods: &'a [Method],
    pub(crate) structs: &'a [ResultStruct],
    pub(crate) codes: &'a BTreeMap<String, String>,
}

impl Renderer<'_> {
    pub(crate) fn layer(&self, tree: &Node, root: &mut Module, top: &mut String, top_actions: &str, in_trait: bool) {
        for child in &tree.children {
            let mut accessor = String::new();
            self.node(child, &child.wire, root, &mut accessor, top_actions);
            if in_trait {
                // A default method of the `Methods` trait, compiled with its group's feature.
                let feature = self.feature(child);
                let _ = write!(top, "#[cfg(feature = {feature:?})]\n{}", accessor.replace("\npub fn ", "\nfn "));
            } else {
                top.push_str(&accessor);
            }
        }
        // Result structs, with the methods that answer them.
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in self.methods {
            if let Some(p) = struct_of(&m.output) {
                users.entry(p.to_owned()).or_default().push(m.name.clone());
            }
        }
        for s in self.structs {
            let used = users.get(&s.path()).cloned().unwrap_or_default();
            result_struct(&mut root.at(&s.module).items, s, &used);
        }
        // Modules that hold only a method's types (and exist because they hold some).
        let mut nodes = Vec::new();
        tree.walk(&mut nodes);
        for node in nodes {
            if let (Some(i), Some(module)) = (node.method, root.get(&node.module)) {
                if module.doc.is_empty() {
                    module.doc = format!("Types of {}.", code(&self.methods[i].name));
                }
            }
        }
    }

    /// The feature of the methods under `node`.
    pub(crate) fn feature(&self, node: &Node) -> String {
        let mut all = Vec::new();
        node.walk(&mut all);
        all.iter().find_map(|n| n.method).map(|i| self.methods[i].feature.clone()).unwrap_or_default()
    }

    fn node(&self, node: &Node, dotted: &str, root: &mut Module, parent: &mut String, parent_actions: &str) {
        if node.is_group() {
            group_accessor(parent, node, dotted, parent_actions);
            let mut own = String::new();
            for child in &node.children {
                self.node(child, &format!("{dotted}.{}", child.wire), root, &mut own, "self.actions.clone()");
            }
            if let Some(i) = node.method {
                let m = &self.methods[i];
                accessor(&mut own, "call", m, node, "self.actions.clone()", self.codes);
            }
            let module = root.at(&node.module);
            module.doc = format!("The {} methods.", code(&format!("{dotted}.*")));
            let _ = writeln!(
                module.items,
                "/// The {} methods.\n#[derive(Clone)]\npub struct Group {{ pub(crate) actions: crate::rt::Actions }}\nimpl std::fmt::Debug for Group {{ #[inline] fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{ f.write_str({:?}) }} }}\nimpl Group {{\n{own}}}",
                code(&format!("{dotted}.*")),
                format!("{dotted}.*")
            );
        } else if let Some(i) = node.method {
            accessor(parent, &node.rust, &self.methods[i], node, parent_actions, self.codes);
        }
        if let Some(i) = node.method {
            self.builder(&self.methods[i], node, root);
        }
    }

    fn builder(&self, m: &Method, node: &Node, root: &mut Module) {
        let mut out = method_doc(m, self.codes, true);
        out.push_str(&deprecated_attr(m));
        let name = &node.builder;
        let _ = writeln!(
            out,
            "#[derive(Clone)]\n#[must_use = \"a method call does nothing until it is sent\"]\npub struct {name}(pub(crate) crate::rt::Request);"
        );
        let _ = writeln!(
            out,
            "impl std::fmt::Debug for {name} {{ #[inline] fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{ self.0.debug_as({:?}, f) }} }}",
            m.name
        );
        if m.params.iter().any(|p| !p.required) {
            let _ = writeln!(out, "impl {name} {{");
            for p in m.params.iter().filter(|p| !p.required) {
                setter(&mut out, p, &node.module, &m.types, "#[inline]\n");
            }
            let _ = writeln!(out, "}}");
        }
        let api = match m.api {
            Api::V2 => "V2",
            Api::V3 => "V3",
        };
        let _ = writeln!(out, "impl crate::rt::Method for {name} {{");
        let _ = writeln!(out, "type Output = {};", output_ty(&m.output));
        let _ = writeln!(out, "const NAME: &'static str = {:?};", m.name);
        let _ = writeln!(out, "const API: crate::rt::ApiVersion = crate::rt::ApiVersion::{api};");
        let _ = writeln!(out, "const DOC: &'static str = {:?};", m.doc_url);
        if let Some(key) = &m.result_key {
            let _ = writeln!(out, "const RESULT_KEY: Option<&'static str> = Some({key:?});");
        }
        if m.positional {
            let names: Vec<String> =
                m.params.iter().filter(|p| p.wire.len() == 1).map(|p| format!("{:?}", p.wire[0])).collect();
            let _ = writeln!(out, "const POSITIONAL: &'static [&'static str] = &[{}];", names.join(", "));
        }
        let variants: Vec<String> =
            m.errors.iter().filter_map(|(c, _)| self.codes.get(c)).map(|v| format!("crate::MethodCode::{v}")).collect();
        if !variants.is_empty() {
            let _ = writeln!(out, "const ERRORS: &'static [crate::MethodCode] = &[{}];", variants.join(", "));
        }
        let _ = writeln!(out, "#[inline] fn request(&self) -> &crate::rt::Request {{ &self.0 }}");
        let _ = writeln!(out, "#[inline] fn into_request(self) -> crate::rt::Request {{ self.0 }}");
        let _ = writeln!(out, "#[inline] fn from_request(request: crate::rt::Request) -> Self {{ Self(request) }}\n}}");
        if let Some(list) = &m.list {
            let key = match (&m.result_key, list.tail) {
                (Some(k), false) => format!("Some({k:?})"),
                _ => "None".to_owned(),
            };
            let _ = writeln!(
                out,
                "impl crate::rt::ListMethod for {name} {{ type Row = {}; const LIST_KEY: Option<&'static str> = {key}; const ID_FILTER: &'static str = {:?}; const ID_ROW: &'static str = {:?}; const TAIL: bool = {}; }}",
                output_ty(&list.row),
                list.id_filter,
                list.id_row,
                list.tail
            );
        }
        root.at(&node.builder_module).items.push_str(&out);
        if !m.types.is_empty() {
            let own = root.at(&node.module);
            for t in &m.types {
                type_def(&mut own.items, t, &node.module, &m.name, &m.types);
            }
        }
    }
}

/// Check that no module names two items alike (a group struct, builders, types, structs), and
/// that no item hides a prelude name.
pub(crate) fn check_names(module: &Module, path: &str) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for line in module.items.lines() {
        let line = line.trim_start();
        let name = ["pub struct ", "pub enum "]
            .iter()
            .find_map(|p| line.strip_prefix(p))
            .map(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or(""));
        if let Some(name) = name {
            if PRELUDE.contains(&name) {
                return Err(format!(
                    "module {path} would define {name}, hiding the prelude's; rename it in overrides.toml"
                ));
            }
            if !seen.insert(name.to_owned()) {
                return Err(format!("module {path} would define {name} twice; rename one in the generator's rules"));
            }
        }
    }
    for (name, child) in &module.children {
        check_names(child, &format!("{path}::{name}"))?;
    }
    Ok(())
}
