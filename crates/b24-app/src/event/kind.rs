//! Typed data of the common events: CRM entities (`ONCRMDEALADD`, …), CRM items of any type
//! (`ONCRMDYNAMICITEMADD`, …), tasks and task comments, and the app's own install and uninstall.

use b24_errors::{Code, Error};
use serde_json::Value;

/// What happened to the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `…ADD`
    Add,
    /// `…UPDATE`
    Update,
    /// `…DELETE`
    Delete,
}

/// A classic CRM entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrmEntity {
    /// `ONCRMDEAL*`
    Deal,
    /// `ONCRMLEAD*`
    Lead,
    /// `ONCRMCONTACT*`
    Contact,
    /// `ONCRMCOMPANY*`
    Company,
    /// `ONCRMQUOTE*`
    Quote,
    /// `ONCRMACTIVITY*`
    Activity,
}

/// An event's data, typed for the common events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A classic CRM entity changed: `data[FIELDS][ID]`.
    Crm {
        /// Which entity.
        entity: CrmEntity,
        /// What happened.
        action: Action,
        /// Its id.
        id: u64,
    },
    /// A CRM item of a smart process or other type changed (`ONCRMDYNAMICITEM*`):
    /// `data[FIELDS][ID]`, `data[FIELDS][ENTITY_TYPE_ID]`.
    CrmItem {
        /// The item's type.
        entity_type_id: u64,
        /// What happened.
        action: Action,
        /// Its id.
        id: u64,
    },
    /// A task changed (`ONTASKADD`, `ONTASKUPDATE`, `ONTASKDELETE`): `data[FIELDS_AFTER][ID]`
    /// (`FIELDS_BEFORE` for a deletion).
    Task {
        /// What happened.
        action: Action,
        /// The task's id.
        id: u64,
    },
    /// A task comment changed (`ONTASKCOMMENT*`).
    TaskComment {
        /// What happened.
        action: Action,
        /// The comment's id.
        id: u64,
        /// Its task, when the portal says.
        task_id: Option<u64>,
    },
    /// The app was installed (`ONAPPINSTALL`).
    AppInstall {
        /// The app version installed (`data[VERSION]`).
        version: Option<u64>,
        /// The portal's language (`data[LANGUAGE_ID]`).
        language: Option<String>,
    },
    /// The app was uninstalled (`ONAPPUNINSTALL`).
    AppUninstall {
        /// Whether the user asked to delete the app's data too (`data[CLEAN]`).
        clean: bool,
    },
    /// Any other event: read [`crate::Event::data`] yourself.
    Other,
}

fn split_action(rest: &str) -> Option<(&str, Action)> {
    [("ADD", Action::Add), ("UPDATE", Action::Update), ("DELETE", Action::Delete)]
        .into_iter()
        .find_map(|(suffix, action)| rest.strip_suffix(suffix).map(|head| (head, action)))
}

fn crm_entity(name: &str) -> Option<CrmEntity> {
    Some(match name {
        "DEAL" => CrmEntity::Deal,
        "LEAD" => CrmEntity::Lead,
        "CONTACT" => CrmEntity::Contact,
        "COMPANY" => CrmEntity::Company,
        "QUOTE" => CrmEntity::Quote,
        "ACTIVITY" => CrmEntity::Activity,
        _ => return None,
    })
}

fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Type the data of `event` (upper-case name).
pub(crate) fn kind_of(event: &str, data: &Value) -> Result<EventKind, Error> {
    let id_in = |block: &str, field: &str| {
        number(data.get(block).and_then(|b| b.get(field))).ok_or_else(|| {
            Error::sdk(Code::JssdkEventInvalid, format!("a {event} event without data[{block}][{field}]"))
        })
    };
    if event == "ONAPPINSTALL" {
        let language = data.get("LANGUAGE_ID").and_then(Value::as_str).map(str::to_owned);
        return Ok(EventKind::AppInstall { version: number(data.get("VERSION")), language });
    }
    if event == "ONAPPUNINSTALL" {
        return Ok(EventKind::AppUninstall { clean: number(data.get("CLEAN")).is_some_and(|c| c != 0) });
    }
    let dynamic = event.strip_prefix("ONCRMDYNAMICITEM").and_then(split_action).filter(|(head, _)| head.is_empty());
    if let Some((_, action)) = dynamic {
        let entity_type_id = id_in("FIELDS", "ENTITY_TYPE_ID")?;
        return Ok(EventKind::CrmItem { entity_type_id, action, id: id_in("FIELDS", "ID")? });
    }
    if let Some((entity, action)) =
        event.strip_prefix("ONCRM").and_then(split_action).and_then(|(h, a)| crm_entity(h).map(|e| (e, a)))
    {
        return Ok(EventKind::Crm { entity, action, id: id_in("FIELDS", "ID")? });
    }
    if let Some((head, action)) = event.strip_prefix("ONTASK").and_then(split_action) {
        let block = if action == Action::Delete { "FIELDS_BEFORE" } else { "FIELDS_AFTER" };
        match head {
            "" => return Ok(EventKind::Task { action, id: id_in(block, "ID")? }),
            "COMMENT" => {
                let task_id = number(data.get(block).and_then(|b| b.get("TASK_ID")));
                return Ok(EventKind::TaskComment { action, id: id_in(block, "ID")?, task_id });
            }
            _ => {}
        }
    }
    Ok(EventKind::Other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn common_events() {
        let fields = json!({"FIELDS": {"ID": "42", "ENTITY_TYPE_ID": "1032"}});
        let crm = kind_of("ONCRMDEALADD", &fields).ok();
        assert_eq!(crm, Some(EventKind::Crm { entity: CrmEntity::Deal, action: Action::Add, id: 42 }));
        let item = kind_of("ONCRMDYNAMICITEMUPDATE", &fields).ok();
        assert_eq!(item, Some(EventKind::CrmItem { entity_type_id: 1032, action: Action::Update, id: 42 }));
        let task = kind_of("ONTASKDELETE", &json!({"FIELDS_BEFORE": {"ID": "7"}})).ok();
        assert_eq!(task, Some(EventKind::Task { action: Action::Delete, id: 7 }));
        let comment = kind_of("ONTASKCOMMENTADD", &json!({"FIELDS_AFTER": {"ID": "3", "TASK_ID": "7"}})).ok();
        assert_eq!(comment, Some(EventKind::TaskComment { action: Action::Add, id: 3, task_id: Some(7) }));
        let uninstall = kind_of("ONAPPUNINSTALL", &json!({"CLEAN": "1"})).ok();
        assert_eq!(uninstall, Some(EventKind::AppUninstall { clean: true }));
        assert_eq!(kind_of("ONCRMDEALUSERFIELDADD", &fields).ok(), Some(EventKind::Other));
        assert_eq!(kind_of("ONSOMETHINGELSE", &Value::Null).ok(), Some(EventKind::Other));
    }

    #[test]
    fn a_known_event_without_its_id_is_refused() {
        let e = kind_of("ONCRMDEALADD", &json!({"FIELDS": {}})).err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkEventInvalid.into()));
        let e = kind_of("ONCRMLEADUPDATE", &json!({"FIELDS": {"ID": "x"}})).err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkEventInvalid.into()));
    }
}
