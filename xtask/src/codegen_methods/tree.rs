//! The name tree: method names (case-insensitive, as the portal reads them) split at dots into
//! groups and methods, each with its Rust names (rules 1–4 of the crate docs).

use std::collections::{BTreeMap, BTreeSet};

use super::naming::{camel, snake, unique, unique_camel};

/// Names a group's accessors cannot take (the group's own methods).
const GROUP_RESERVED: &[&str] = &["call", "clone", "clone_from", "fmt"];
/// Names the root (the `Methods` trait) cannot take.
const ROOT_RESERVED: &[&str] = &["methods_actions", "rest_v3", "call", "clone", "fmt"];

/// A node of the tree.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// The segment as the catalogue spells it (first spelling met).
    pub(crate) wire: String,
    /// The accessor on the parent (snake_case).
    pub(crate) rust: String,
    /// The module of this group (when it has children) and of the method's own types.
    pub(crate) module: Vec<String>,
    pub(crate) children: Vec<Node>,
    /// The index of the method this node names, if any.
    pub(crate) method: Option<usize>,
    /// The builder struct of that method (in the parent's module, or in `root`).
    pub(crate) builder: String,
    /// The module holding the builder struct.
    pub(crate) builder_module: Vec<String>,
}

impl Node {
    pub(crate) fn is_group(&self) -> bool {
        !self.children.is_empty()
    }

    /// Every node below (depth first), this one included.
    pub(crate) fn walk<'a>(&'a self, out: &mut Vec<&'a Node>) {
        out.push(self);
        for c in &self.children {
            c.walk(out);
        }
    }
}

#[derive(Default)]
struct Trie {
    wire: String,
    method: Option<usize>,
    children: BTreeMap<String, Trie>,
}

/// The tree of `names` (index = method index) under the module `prefix` (`[]` for v2, `["v3"]`).
pub(crate) fn build(names: &[&str], prefix: &[String]) -> Node {
    let mut trie = Trie::default();
    for (i, name) in names.iter().enumerate() {
        let mut node = &mut trie;
        for seg in name.split('.') {
            node = node
                .children
                .entry(seg.to_ascii_lowercase())
                .or_insert_with(|| Trie { wire: seg.to_owned(), ..Trie::default() });
        }
        node.method = Some(i);
    }
    let mut root = Node { module: prefix.to_vec(), ..Node::default() };
    root.children = children(&trie, prefix, prefix, true);
    root
}

fn children(trie: &Trie, module: &[String], prefix: &[String], at_root: bool) -> Vec<Node> {
    let reserved = if at_root { ROOT_RESERVED } else { GROUP_RESERVED };
    let mut taken: BTreeSet<String> = reserved.iter().map(|r| r.to_string()).collect();
    // Builder structs share their module with the group struct.
    let mut builders: BTreeSet<String> = BTreeSet::from(["Group".to_owned()]);
    let builder_module: Vec<String> = if at_root {
        let mut m = prefix.to_vec();
        m.push("root".into());
        m
    } else {
        module.to_vec()
    };
    let mut out = Vec::new();
    for child in trie.children.values() {
        let rust = unique(snake(&child.wire), &mut taken);
        let mut own = if at_root && child.children.is_empty() { builder_module.clone() } else { module.to_vec() };
        own.push(rust.clone());
        let builder =
            if child.method.is_some() { unique_camel(camel(&child.wire), &mut builders) } else { String::new() };
        let node = Node {
            wire: child.wire.clone(),
            rust: rust.clone(),
            module: own.clone(),
            children: children(child, &own, prefix, false),
            method: child.method,
            builder,
            builder_module: builder_module.clone(),
        };
        out.push(node);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_methods_and_both() {
        let names = ["crm.deal.list", "crm.deal.add", "im.notify", "im.notify.system.add", "profile", "crm.type.add"];
        let root = build(&names, &[]);
        let mut all = Vec::new();
        root.walk(&mut all);
        let find = |wire: &str| all.iter().find(|n| n.wire == wire).map(|n| (n.module.join("::"), n.builder.clone()));
        assert_eq!(find("list"), Some(("crm::deal::list".into(), "List".into())));
        assert_eq!(find("notify"), Some(("im::notify".into(), "Notify".into())));
        assert_eq!(find("profile"), Some(("root::profile".into(), "Profile".into())));
        assert_eq!(find("type"), Some(("crm::type_".into(), String::new())));
        let profile = all.iter().find(|n| n.wire == "profile").map(|n| n.builder_module.join("::"));
        assert_eq!(profile.as_deref(), Some("root"));
        let notify = all.iter().find(|n| n.wire == "notify");
        assert!(notify.is_some_and(|n| n.is_group() && n.method.is_some()));
    }
}
