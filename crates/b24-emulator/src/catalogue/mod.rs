//! The documented REST methods as facts (generated from the shared catalogue by `cargo xtask
//! codegen`): lookups by name and by entity family.

mod generated;

/// A parameter: name, type, required.
pub(crate) type Param = (&'static str, &'static str, bool);

/// A documented method.
#[derive(Debug)]
pub(crate) struct Method {
    /// The name, lower case.
    pub(crate) name: &'static str,
    /// The scope it needs (`""`: none).
    pub(crate) scope: &'static str,
    pub(crate) params: &'static [Param],
    /// Result rows other than `time`: name and type (`result`, `total`, `next`, a wrapper such
    /// as `item` or `tasks`, or the fields of an answer documented flat).
    pub(crate) result: &'static [(&'static str, &'static str)],
    /// Documented error codes and their HTTP status (0: not given).
    pub(crate) errors: &'static [(&'static str, u16)],
}

/// An entity family (`crm.contact`) and the union of its documented fields.
#[derive(Debug)]
pub(crate) struct Entity {
    /// The family prefix, lower case.
    pub(crate) family: &'static str,
    /// Field name (as documented; a name ending in `...` is a prefix such as `UF_CRM_...`),
    /// type, required on add.
    pub(crate) fields: &'static [Param],
}

/// A method's facts, in the generated table's order.
pub(crate) const fn new_method(
    name: &'static str,
    scope: &'static str,
    params: &'static [Param],
    result: &'static [(&'static str, &'static str)],
    errors: &'static [(&'static str, u16)],
) -> Method {
    Method { name, scope, params, result, errors }
}

/// A family's facts, in the generated table's order.
pub(crate) const fn new_entity(family: &'static str, fields: &'static [Param]) -> Entity {
    Entity { family, fields }
}

impl Method {
    /// The type of a result row.
    pub(crate) fn result_type(&self, row: &str) -> Option<&'static str> {
        self.result.iter().find(|r| r.0 == row).map(|r| r.1)
    }

    /// The documented status of a code, when there is one.
    pub(crate) fn status_of(&self, code: &str) -> Option<u16> {
        self.errors.iter().find(|e| e.0 == code).map(|e| e.1).filter(|s| *s != 0)
    }
}

/// Every documented method, sorted by name.
pub(crate) fn methods() -> &'static [Method] {
    generated::METHODS
}

/// A documented method by name (case-insensitive).
pub(crate) fn method(name: &str) -> Option<&'static Method> {
    let lower = name.to_ascii_lowercase();
    let methods = generated::METHODS;
    methods.binary_search_by(|m| m.name.cmp(lower.as_str())).ok().map(|i| &methods[i])
}

/// Every scope a documented method needs, sorted, with the auth scopes of the user methods.
pub(crate) fn scopes() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = generated::METHODS.iter().map(|m| m.scope).filter(|s| !s.is_empty()).collect();
    all.extend(["basic", "placement", "rest", "user_basic", "user_brief"]);
    all.sort_unstable();
    all.dedup();
    all
}

/// Every entity family.
pub(crate) fn entities() -> &'static [Entity] {
    generated::ENTITIES
}

/// An entity family by prefix (case-insensitive).
pub(crate) fn entity(family: &str) -> Option<&'static Entity> {
    let lower = family.to_ascii_lowercase();
    generated::ENTITIES.iter().find(|e| e.family == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let add = method("CRM.DEAL.ADD").expect("documented");
        assert_eq!((add.name, add.scope), ("crm.deal.add", "crm"));
        assert!(add.params.contains(&("fields", "object", false)));
        assert!(methods().windows(2).all(|w| w[0].name < w[1].name), "sorted, no duplicates");
        let deal = entity("crm.deal").expect("family");
        assert!(deal.fields.iter().any(|f| f.0 == "CONTACT_ID"));
        assert!(entities().len() >= 90, "{} families", entities().len());
        assert!(method("no.such.method").is_none());
    }
}
