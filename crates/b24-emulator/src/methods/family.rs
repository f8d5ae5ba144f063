//! An entity family as the catalogue documents it (`crm.contact`, `tasks.task`,
//! `catalog.product`...): its id parameter, the parameters that own its rows, where the fields
//! go, whether it speaks camelCase, and the shape of each action's answer, all read from the
//! documented parameters and result rows.

use crate::catalogue::{self, Method};
use crate::data::schema::norm;

/// The actions a family serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Add,
    Get,
    List,
    Update,
    Delete,
    Fields,
}

impl Action {
    pub(crate) const ALL: [Action; 6] =
        [Action::Add, Action::Get, Action::List, Action::Update, Action::Delete, Action::Fields];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Get => "get",
            Action::List => "list",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Fields => "fields",
        }
    }
}

/// What an action answers, from its documented result rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The new id (`result: integer`).
    Id,
    /// `true`.
    True,
    /// `null`.
    Null,
    /// `[]`.
    EmptyList,
    /// The record itself.
    Record,
    /// `{wrapper: record}` (`{"item": ...}`, `{"task": ...}`).
    Wrapped(&'static str),
    /// `{wrapper: true}` (`tasks.task.delete`).
    WrappedTrue(&'static str),
    /// A bare list of records with `next`/`total`.
    List,
    /// `{wrapper: [records]}` with `next`/`total` (`{"tasks": [...]}`).
    WrappedList(&'static str),
    /// The field descriptions, `{"fields": {...}}` when wrapped.
    FieldsOf(Option<&'static str>),
}

/// A family served by the generic entity handlers.
#[derive(Debug)]
pub(crate) struct Family {
    /// The family prefix and table key, lower case.
    pub(crate) key: &'static str,
    /// Answers in camelCase with native values (else legacy: upper case, numbers as strings).
    pub(crate) camel: bool,
    /// The id parameter (`id`, `ID`, `taskId`).
    pub(crate) id_param: &'static str,
    /// Other required parameters of `get`: each value has its own table (`entityTypeId` of
    /// `crm.category`, `templateId` of `tasks.template.checklist`).
    pub(crate) owners: Vec<&'static str>,
    /// The parameter holding the fields (`fields`), or `None` when they are top-level params.
    pub(crate) fields_param: Option<&'static str>,
    answers: Vec<(Action, Answer, &'static Method)>,
}

impl Family {
    /// The documented method and answer of an action, when the family has it.
    pub(crate) fn action(&self, action: Action) -> Option<(Answer, &'static Method)> {
        self.answers.iter().find(|(a, _, _)| *a == action).map(|(_, answer, m)| (*answer, *m))
    }

    /// The table of a call: the family, or the family and its owners' values.
    pub(crate) fn table_key(&self, owner_values: &[String]) -> String {
        if owner_values.is_empty() { self.key.to_owned() } else { format!("{}#{}", self.key, owner_values.join("#")) }
    }
}

fn integer_like(ty: &str) -> bool {
    ty.starts_with("integer") || ty.ends_with(".id") || ty == "unknown"
}

/// Control parameters of lists and writes, never owners.
fn control(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "fields" | "field" | "select" | "filter" | "order" | "start" | "params" | "useoriginalufnames")
}

/// The result row that wraps the answer (`item`, `tasks`): a documented row that is neither an
/// envelope key nor one of the entity's fields.
fn wrapper(method: &Method, field_norms: &[String]) -> Option<(&'static str, &'static str)> {
    method
        .result
        .iter()
        .find(|(name, _)| {
            !matches!(*name, "result" | "total" | "next") && !field_norms.iter().any(|f| *f == norm(name))
        })
        .copied()
}

fn answer(action: Action, method: &Method, field_norms: &[String]) -> Answer {
    let result = method.result_type("result").unwrap_or("");
    let wrapped = wrapper(method, field_norms);
    match action {
        Action::Add => match wrapped {
            Some((w, _)) => Answer::Wrapped(w),
            None if integer_like(result) => Answer::Id,
            None if result == "boolean" => Answer::True,
            None => Answer::Record,
        },
        Action::Get => match wrapped {
            Some((w, _)) => Answer::Wrapped(w),
            None if result.starts_with("array") => Answer::List,
            None => Answer::Record,
        },
        Action::List => match wrapped {
            Some((w, _)) => Answer::WrappedList(w),
            None => Answer::List,
        },
        Action::Update => match wrapped {
            Some((w, "boolean")) => Answer::WrappedTrue(w),
            Some((w, _)) => Answer::Wrapped(w),
            None if result.starts_with("integer") => Answer::Id,
            None if result == "object" => Answer::Record,
            None => Answer::True,
        },
        Action::Delete => match wrapped {
            Some((w, _)) => Answer::WrappedTrue(w),
            None if result == "null" => Answer::Null,
            None if result == "array" => Answer::EmptyList,
            None => Answer::True,
        },
        Action::Fields => Answer::FieldsOf(wrapped.map(|(w, _)| w)),
    }
}

/// Derive a family from the catalogue, or `None` when it has no integer id to serve it by.
pub(crate) fn derive(entity: &'static catalogue::Entity) -> Option<Family> {
    let method = |action: Action| catalogue::method(&format!("{}.{}", entity.family, action.name()));
    let add = method(Action::Add)?;
    let id_source = [Action::Get, Action::Update, Action::Delete].into_iter().filter_map(method);
    let mut id_param = None;
    for m in id_source {
        let required_ids: Vec<&'static str> = m
            .params
            .iter()
            .filter(|(name, ty, required)| {
                *required && !control(name) && integer_like(ty) && name.to_ascii_lowercase().ends_with("id")
            })
            .map(|p| p.0)
            .collect();
        let exact = m.params.iter().find(|p| p.0.eq_ignore_ascii_case("id") && integer_like(p.1)).map(|p| p.0);
        if let Some(id) = exact.or_else(|| required_ids.last().copied()) {
            id_param = Some(id);
            break;
        }
    }
    let id_param = id_param?;
    let owner_source = method(Action::Get).or_else(|| method(Action::Delete))?;
    let owners: Vec<&'static str> = owner_source
        .params
        .iter()
        .filter(|(name, _, required)| *required && !control(name) && !name.eq_ignore_ascii_case(id_param))
        .map(|p| p.0)
        .collect();
    let fields_param = add.params.iter().find(|p| p.0.eq_ignore_ascii_case("fields") || p.0 == "field").map(|p| p.0);
    let field_norms: Vec<String> = entity.fields.iter().map(|f| norm(f.0.trim_end_matches("..."))).collect();
    let answers: Vec<(Action, Answer, &'static Method)> =
        Action::ALL.into_iter().filter_map(|a| method(a).map(|m| (a, answer(a, m, &field_norms), m))).collect();
    // camelCase when most documented fields are; with none documented, when the answers are
    // wrapped (the controller-style families: `catalog.*`, `sale.*`).
    let lower = entity.fields.iter().filter(|f| f.0.chars().any(|c| c.is_ascii_lowercase())).count();
    let wrapped = answers.iter().any(|(_, a, _)| matches!(a, Answer::Wrapped(_) | Answer::WrappedList(_)));
    let camel = if entity.fields.is_empty() { wrapped } else { lower * 2 > entity.fields.len() };
    Some(Family { key: entity.family, camel, id_param, owners, fields_param, answers })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(name: &str) -> Family {
        derive(catalogue::entity(name).expect("documented")).expect("served")
    }

    #[test]
    fn shapes_from_the_catalogue() {
        let deal = family("crm.deal");
        assert!(!deal.camel);
        assert_eq!((deal.id_param, deal.fields_param), ("id", Some("fields")));
        assert_eq!(deal.action(Action::Add).map(|a| a.0), Some(Answer::Id));
        assert_eq!(deal.action(Action::List).map(|a| a.0), Some(Answer::List));
        assert_eq!(deal.action(Action::Get).map(|a| a.0), Some(Answer::Record));
        assert_eq!(deal.action(Action::Update).map(|a| a.0), Some(Answer::True));

        let task = family("tasks.task");
        assert!(task.camel);
        assert_eq!(task.id_param, "taskId");
        assert_eq!(task.action(Action::Add).map(|a| a.0), Some(Answer::Wrapped("task")));
        assert_eq!(task.action(Action::List).map(|a| a.0), Some(Answer::WrappedList("tasks")));
        assert_eq!(task.action(Action::Delete).map(|a| a.0), Some(Answer::WrappedTrue("task")));

        let product = family("catalog.product");
        assert!(product.camel, "no documented fields, wrapped answers: camelCase");
        assert_eq!(product.action(Action::Get).map(|a| a.0), Some(Answer::Wrapped("product")));
        assert_eq!(product.action(Action::List).map(|a| a.0), Some(Answer::WrappedList("products")));

        let category = family("crm.category");
        assert_eq!(category.owners, vec!["entityTypeId"]);
        assert_eq!(category.table_key(&["2".into()]), "crm.category#2");

        let department = family("department");
        assert_eq!((department.id_param, department.fields_param), ("ID", None));
        assert_eq!(department.action(Action::Get).map(|a| a.0), Some(Answer::List));
    }
}
