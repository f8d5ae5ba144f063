//! Which event a change of a table raises, and its `data`: CRM tables raise `ONCRM<ENTITY><ACTION>`
//! with `{"FIELDS": {"ID": id}}` (smart processes `ONCRMDYNAMICITEM<ACTION>_<type>`), tasks raise
//! `ONTASK<ACTION>` with `FIELDS_AFTER` (or `FIELDS_BEFORE` on delete), users `ONUSERADD`.

use serde_json::{Value, json};

use super::Change;

/// A change of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Add,
    Update,
    Delete,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Add => "ADD",
            Kind::Update => "UPDATE",
            Kind::Delete => "DELETE",
        }
    }
}

/// The event (name and data) raised when row `id` of table `key` changes, if any.
pub(crate) fn event(key: &str, kind: Kind, id: u64) -> Option<(String, Value)> {
    let fields = json!({"FIELDS": {"ID": id}});
    if let Some(type_id) = key.strip_prefix("crm.item#") {
        return Some((format!("ONCRMDYNAMICITEM{}_{type_id}", kind.suffix()), fields));
    }
    if let Some(entity) = key.strip_prefix("crm.") {
        if entity.contains('#') {
            return None;
        }
        let entity: String = entity.chars().filter(|c| *c != '.').collect::<String>().to_ascii_uppercase();
        return Some((format!("ONCRM{entity}{}", kind.suffix()), fields));
    }
    match (key, kind) {
        ("tasks.task", Kind::Delete) => Some(("ONTASKDELETE".into(), json!({"FIELDS_BEFORE": {"ID": id}}))),
        ("tasks.task", _) => Some((format!("ONTASK{}", kind.suffix()), json!({"FIELDS_AFTER": {"ID": id}}))),
        ("user", Kind::Add) => Some(("ONUSERADD".into(), json!({"ID": id}))),
        _ => None,
    }
}

/// The change, if the table raises events.
pub(crate) fn change(key: &str, kind: Kind, id: u64, connector: Option<&Value>, user_id: u64) -> Option<Change> {
    let (event, data) = event(key, kind, id)?;
    let connector = connector.and_then(Value::as_str).filter(|c| !c.is_empty()).map(str::to_owned);
    Some(Change { event, data, connector, user_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(event("crm.deal", Kind::Add, 5), Some(("ONCRMDEALADD".into(), json!({"FIELDS": {"ID": 5}}))));
        assert_eq!(event("crm.contact", Kind::Update, 1).map(|e| e.0), Some("ONCRMCONTACTUPDATE".into()));
        assert_eq!(event("crm.timeline.comment", Kind::Add, 1).map(|e| e.0), Some("ONCRMTIMELINECOMMENTADD".into()));
        assert_eq!(event("crm.item#1030", Kind::Delete, 1).map(|e| e.0), Some("ONCRMDYNAMICITEMDELETE_1030".into()));
        assert_eq!(event("tasks.task", Kind::Add, 3), Some(("ONTASKADD".into(), json!({"FIELDS_AFTER": {"ID": 3}}))));
        assert_eq!(event("crm.category#2", Kind::Add, 1), None);
        assert_eq!(event("catalog.product", Kind::Add, 1), None);
    }
}
