//! The fields of a table: a few seeded ("core") fields with both spellings (`STAGE_ID` and
//! `stageId`), then every other field the catalogue documents for the family, typed from the
//! documented type. Each table owns its schema: a field matching a documented prefix
//! (`UF_CRM_...`) is added to it when first written.

use serde_json::{Map, Value};

use crate::catalogue;

/// How a field is typed and rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Numbers and references to other entities (`integer`, `user`, `crm_contact`, `*.id`).
    Int,
    /// `double`: two decimals in legacy answers.
    Money,
    /// Strings, codes, `char` flags.
    Str,
    /// `date`, `datetime`.
    Date,
    /// Anything kept as sent: lists, objects, multi-fields, files, booleans.
    Raw,
}

/// One field: its legacy (upper-case) and camelCase names.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) upper: String,
    pub(crate) camel: String,
    pub(crate) kind: Kind,
    /// Required on add (the docs' flag).
    pub(crate) required: bool,
    /// The documented type.
    pub(crate) doc_type: String,
    norm: String,
}

/// A core field: upper name, camel name, kind.
pub(crate) type Core = (&'static str, &'static str, Kind);

/// The fields of a table; field 0 is always the id, fields `0..core` are seeded.
#[derive(Debug)]
pub(crate) struct Schema {
    pub(crate) fields: Vec<Field>,
    pub(crate) core: usize,
    /// Seeded titles read `<prefix> <id>`.
    pub(crate) title_prefix: &'static str,
    /// Documented name prefixes (`UF_CRM_`, `PARENT_ID_`): any field starting with one is kept.
    prefixes: Vec<String>,
    /// The catalogue documents no fields for the family: every field written is kept.
    open: bool,
}

/// Normalize a field name for lookups: lower case, no underscores (`STAGE_ID` = `stageId`).
pub(crate) fn norm(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// `ASSIGNED_BY_ID` → `assignedById`.
fn camel_of(upper: &str) -> String {
    let mut out = String::with_capacity(upper.len());
    for (i, part) in upper.split('_').filter(|p| !p.is_empty()).enumerate() {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

/// `responsibleId` → `RESPONSIBLE_ID`.
fn upper_of(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Both spellings of a documented name: camelCase names (`responsibleId`) get their upper-case
/// twin, upper-case ones (`CONTACT_ID`) their camelCase one.
fn spellings(name: &str) -> (String, String) {
    if name.chars().any(|c| c.is_ascii_lowercase()) {
        (upper_of(name), name.to_owned())
    } else {
        (name.to_owned(), camel_of(name))
    }
}

/// The kind of a documented type.
pub(crate) fn kind_of(doc_type: &str) -> Kind {
    let t = doc_type.split('|').next().unwrap_or("");
    match t {
        "integer" | "user" | "crm_company" | "crm_contact" | "crm_lead" | "crm_quote" | "crm_category" | "crm_deal"
        | "group" => Kind::Int,
        _ if t.ends_with(".id") => Kind::Int,
        "double" => Kind::Money,
        "date" | "datetime" => Kind::Date,
        "string" | "char" | "text" | "crm_status" | "crm_currency" | "crm_entity" | "location" => Kind::Str,
        _ => Kind::Raw,
    }
}

impl Field {
    fn new(upper: String, camel: String, kind: Kind, required: bool, doc_type: String) -> Field {
        let norm = norm(&upper);
        Field { upper, camel, kind, required, doc_type, norm }
    }

    /// The name written in an answer.
    pub(crate) fn name(&self, camel: bool) -> &str {
        if camel { &self.camel } else { &self.upper }
    }
}

impl Schema {
    /// The schema of a family: the core fields, then its documented ones.
    pub(crate) fn build(core: &[Core], family: Option<&str>, title_prefix: &'static str) -> Schema {
        let mut fields: Vec<Field> = core
            .iter()
            .map(|(upper, camel, kind)| {
                Field::new((*upper).to_owned(), (*camel).to_owned(), *kind, false, String::new())
            })
            .collect();
        let mut prefixes = Vec::new();
        let documented = family.and_then(catalogue::entity).map_or(&[][..], |e| e.fields);
        for (name, doc_type, required) in documented {
            if let Some(prefix) = name.strip_suffix("...") {
                prefixes.push(norm(prefix));
                continue;
            }
            let (upper, camel) = spellings(name);
            let n = norm(&upper);
            match fields.iter_mut().find(|f| f.norm == n || norm(&f.camel) == norm(&camel)) {
                Some(existing) => {
                    existing.required |= *required;
                    existing.doc_type = (*doc_type).to_owned();
                }
                None => fields.push(Field::new(upper, camel, kind_of(doc_type), *required, (*doc_type).to_owned())),
            }
        }
        let open = family.is_some() && documented.is_empty();
        Schema { core: core.len(), fields, title_prefix, prefixes, open }
    }

    /// The index of a field by any of its names.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        let n = norm(name);
        self.fields.iter().position(|f| f.norm == n || f.camel == name || norm(&f.camel) == n)
    }

    /// The index of a field, adding it when the name matches a documented prefix (`UF_CRM_1`)
    /// or the family documents no fields at all.
    pub(crate) fn index_or_prefixed(&mut self, name: &str) -> Option<usize> {
        if let Some(i) = self.index(name) {
            return Some(i);
        }
        let n = norm(name);
        let prefixed = self.prefixes.iter().any(|p| n.starts_with(p.as_str()) && n.len() > p.len());
        if !(prefixed || (self.open && !name.is_empty())) {
            return None;
        }
        let (upper, camel) = spellings(name);
        self.fields.push(Field::new(upper, camel, Kind::Raw, false, "unknown".to_owned()));
        Some(self.fields.len() - 1)
    }

    /// Coerce an input value to the field's type (form input arrives as strings).
    pub(crate) fn coerce(&self, index: usize, value: &Value) -> Value {
        match (self.fields[index].kind, value) {
            (Kind::Int, Value::String(s)) => s.trim().parse::<i64>().map_or_else(|_| value.clone(), Value::from),
            (Kind::Money, Value::String(s)) => s.trim().parse::<f64>().map_or_else(|_| value.clone(), Value::from),
            (Kind::Str | Kind::Date, Value::Number(n)) => Value::from(n.to_string()),
            (_, v) => v.clone(),
        }
    }

    /// Render a record for legacy methods (upper-case keys, numbers as strings) or camelCase
    /// methods (native values), keeping only `select` (when None: the seeded fields and every
    /// field set on the record).
    pub(crate) fn render(&self, record: &[Value], camel: bool, select: Option<&[usize]>) -> Value {
        let mut map = Map::new();
        let mut put = |i: usize, always: bool| {
            let f = &self.fields[i];
            let v = record.get(i).unwrap_or(&Value::Null);
            if !always && v.is_null() {
                return;
            }
            let value = if camel { v.clone() } else { legacy_value(f.kind, v) };
            map.insert(f.name(camel).to_owned(), value);
        };
        match select {
            Some(cols) => {
                put(0, true);
                for &i in cols.iter().filter(|&&i| i != 0) {
                    put(i, true);
                }
            }
            None => (0..self.fields.len()).for_each(|i| put(i, i < self.core)),
        }
        Value::Object(map)
    }
}

/// A value as the legacy methods write it: every number a string, money with two decimals.
pub(crate) fn legacy_value(kind: Kind, v: &Value) -> Value {
    match (kind, v) {
        (_, Value::Null) => Value::Null,
        (Kind::Money, Value::Number(n)) => Value::String(format!("{:.2}", n.as_f64().unwrap_or(0.0))),
        (_, Value::Number(n)) => Value::String(n.to_string()),
        (_, Value::Array(items)) => Value::Array(items.iter().map(|i| legacy_value(Kind::Raw, i)).collect()),
        (_, Value::Object(map)) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), legacy_value(Kind::Raw, v))).collect())
        }
        (_, other) => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds() {
        assert_eq!(camel_of("ASSIGNED_BY_ID"), "assignedById");
        assert_eq!(upper_of("responsibleId"), "RESPONSIBLE_ID");
        assert_eq!(kind_of("crm_contact"), Kind::Int);
        assert_eq!(kind_of("catalog_product.id"), Kind::Int);
        assert_eq!(kind_of("crm_multifield"), Kind::Raw);
        let mut s = Schema::build(&[("ID", "id", Kind::Int)], Some("crm.deal"), "Deal");
        let contact = s.index("CONTACT_ID").expect("documented");
        assert_eq!(s.index("contactId"), Some(contact));
        assert_eq!(s.fields[contact].kind, Kind::Int);
        assert!(s.index("NO_SUCH_FIELD").is_none());
        let uf = s.index_or_prefixed("UF_CRM_1700").expect("UF_CRM_ prefix");
        assert_eq!(s.index("UF_CRM_1700"), Some(uf));
        assert!(s.index_or_prefixed("BOGUS").is_none());
        let mut open = Schema::build(&[("ID", "id", Kind::Int)], Some("catalog.product"), "Product");
        let name = open.index_or_prefixed("iblockId").expect("no documented fields: any is kept");
        assert_eq!((open.fields[name].upper.as_str(), open.fields[name].camel.as_str()), ("IBLOCK_ID", "iblockId"));
    }

    #[test]
    fn rendering() {
        let s = Schema::build(
            &[("ID", "id", Kind::Int), ("OPPORTUNITY", "opportunity", Kind::Money)],
            Some("crm.deal"),
            "Deal",
        );
        let contact = s.index("CONTACT_ID").expect("documented");
        let mut record = vec![Value::from(3), Value::from(5.5)];
        assert_eq!(s.render(&record, false, None), serde_json::json!({"ID": "3", "OPPORTUNITY": "5.50"}));
        record.resize(contact + 1, Value::Null);
        record[contact] = Value::from(7);
        assert_eq!(s.render(&record, false, None)["CONTACT_ID"], "7");
        assert_eq!(s.render(&record, true, Some(&[contact]))["contactId"], 7);
    }
}
