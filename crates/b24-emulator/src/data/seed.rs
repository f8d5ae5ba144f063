//! Seeded rows: every core field of row `k` is a pure function of the data seed and `k`, so a
//! million rows cost no memory until they change, and two runs see the same data.

use serde_json::Value;

use super::id_of;
use super::schema::{Core, Kind, Schema};

/// The seeded fields of the main entities (field 0 is the id).
pub(crate) const DEALS: &[Core] = &[
    ("ID", "id", Kind::Int),
    ("TITLE", "title", Kind::Str),
    ("STAGE_ID", "stageId", Kind::Str),
    ("OPPORTUNITY", "opportunity", Kind::Money),
    ("CURRENCY_ID", "currencyId", Kind::Str),
    ("ASSIGNED_BY_ID", "assignedById", Kind::Int),
    ("CATEGORY_ID", "categoryId", Kind::Int),
    ("DATE_CREATE", "createdTime", Kind::Date),
    ("COMMENTS", "comments", Kind::Str),
];

pub(crate) const TASKS: &[Core] = &[
    ("ID", "id", Kind::Int),
    ("TITLE", "title", Kind::Str),
    ("STATUS", "status", Kind::Int),
    ("PRIORITY", "priority", Kind::Int),
    ("RESPONSIBLE_ID", "responsibleId", Kind::Int),
    ("CREATED_DATE", "createdDate", Kind::Date),
    ("DESCRIPTION", "description", Kind::Str),
];

pub(crate) const CONTACTS: &[Core] = &[
    ("ID", "id", Kind::Int),
    ("NAME", "name", Kind::Str),
    ("LAST_NAME", "lastName", Kind::Str),
    ("TYPE_ID", "typeId", Kind::Str),
    ("COMPANY_ID", "companyId", Kind::Int),
    ("ASSIGNED_BY_ID", "assignedById", Kind::Int),
    ("DATE_CREATE", "createdTime", Kind::Date),
];

pub(crate) const COMPANIES: &[Core] = &[
    ("ID", "id", Kind::Int),
    ("TITLE", "title", Kind::Str),
    ("COMPANY_TYPE", "companyType", Kind::Str),
    ("REVENUE", "revenue", Kind::Money),
    ("CURRENCY_ID", "currencyId", Kind::Str),
    ("ASSIGNED_BY_ID", "assignedById", Kind::Int),
    ("DATE_CREATE", "createdTime", Kind::Date),
];

pub(crate) const LEADS: &[Core] = &[
    ("ID", "id", Kind::Int),
    ("TITLE", "title", Kind::Str),
    ("NAME", "name", Kind::Str),
    ("LAST_NAME", "lastName", Kind::Str),
    ("STATUS_ID", "statusId", Kind::Str),
    ("OPPORTUNITY", "opportunity", Kind::Money),
    ("CURRENCY_ID", "currencyId", Kind::Str),
    ("ASSIGNED_BY_ID", "assignedById", Kind::Int),
    ("DATE_CREATE", "createdTime", Kind::Date),
];

pub(crate) const USERS: &[Core] = &[
    ("ID", "id", Kind::Int),
    ("ACTIVE", "active", Kind::Raw),
    ("NAME", "name", Kind::Str),
    ("LAST_NAME", "lastName", Kind::Str),
    ("EMAIL", "email", Kind::Str),
    ("WORK_POSITION", "workPosition", Kind::Str),
    ("UF_DEPARTMENT", "ufDepartment", Kind::Raw),
];

/// The id field only: tables that start empty.
pub(crate) const ID_ONLY: &[Core] = &[("ID", "id", Kind::Int)];

const STAGES: [&str; 5] = ["NEW", "PREPARATION", "EXECUTING", "WON", "LOSE"];
const LEAD_STATUSES: [&str; 5] = ["NEW", "IN_PROCESS", "PROCESSED", "CONVERTED", "JUNK"];
const CURRENCIES: [&str; 3] = ["USD", "EUR", "RUB"];
const COMPANY_TYPES: [&str; 4] = ["CUSTOMER", "PARTNER", "SUPPLIER", "COMPETITOR"];
const CONTACT_TYPES: [&str; 4] = ["CLIENT", "SUPPLIER", "PARTNER", "OTHER"];
const FIRST_NAMES: [&str; 8] = ["Anna", "Boris", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo"];
const LAST_NAMES: [&str; 8] = ["Ivanova", "Jones", "Kim", "Lopez", "Martin", "Novak", "Olsen", "Petrov"];
const POSITIONS: [&str; 4] = ["Manager", "Engineer", "Accountant", "Director"];

/// Sizes the seeded rows refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refs {
    /// Seeded users (owners point at them).
    pub(crate) users: u64,
    /// Seeded companies (contacts point at them).
    pub(crate) companies: u64,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn pick<'a>(list: &[&'a str], bits: u64) -> &'a str {
    list[(bits % list.len() as u64) as usize]
}

/// The seeded record of row `k`: its core fields.
pub(crate) fn record(schema: &Schema, k: u64, seed: u64, refs: Refs) -> Vec<Value> {
    let id = id_of(k);
    let h = splitmix(seed ^ splitmix(k));
    let created = 1_600_000_000 + k * 97;
    let (y, m, d) = crate::clock::civil_from_days((created / 86_400) as i64);
    let date = || format!("{y:04}-{m:02}-{d:02}T{:02}:00:00+03:00", (created / 3600) % 24);
    let user = |bits: u64| id_of(bits % refs.users.max(1));
    schema.fields[..schema.core]
        .iter()
        .map(|f| match f.upper.as_str() {
            "ID" => Value::from(id),
            "TITLE" => Value::from(format!("{} {id}", schema.title_prefix)),
            "STAGE_ID" => Value::from(pick(&STAGES, h)),
            "STATUS_ID" => Value::from(pick(&LEAD_STATUSES, h)),
            "OPPORTUNITY" | "REVENUE" => Value::from(((h >> 8) % 1_000_000) as f64 / 100.0),
            "CURRENCY_ID" => Value::from(pick(&CURRENCIES, h >> 16)),
            "ASSIGNED_BY_ID" | "RESPONSIBLE_ID" => Value::from(user(h >> 20)),
            "CATEGORY_ID" => Value::from((h >> 24) % 3),
            "STATUS" => Value::from(2 + (h >> 28) % 4),
            "PRIORITY" => Value::from((h >> 32) % 3),
            "NAME" => Value::from(pick(&FIRST_NAMES, h >> 36)),
            "LAST_NAME" => Value::from(pick(&LAST_NAMES, h >> 40)),
            "TYPE_ID" => Value::from(pick(&CONTACT_TYPES, h >> 44)),
            "COMPANY_TYPE" => Value::from(pick(&COMPANY_TYPES, h >> 44)),
            "COMPANY_ID" if refs.companies > 0 => Value::from(id_of((h >> 48) % refs.companies)),
            "COMPANY_ID" => Value::from(0),
            "EMAIL" => Value::from(format!("user{id}@example.invalid")),
            "ACTIVE" => Value::Bool(true),
            "WORK_POSITION" => Value::from(pick(&POSITIONS, h >> 52)),
            "UF_DEPARTMENT" => Value::from(vec![1 + (h >> 56) % 3]),
            _ if f.kind == Kind::Date => Value::from(date()),
            _ => Value::Null,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_referencing_seeded_rows() {
        let schema = Schema::build(CONTACTS, Some("crm.contact"), "Contact");
        let refs = Refs { users: 10, companies: 4 };
        let a = record(&schema, 7, 42, refs);
        assert_eq!(a, record(&schema, 7, 42, refs));
        assert_ne!(a, record(&schema, 7, 43, refs));
        let company = a[4].as_u64().expect("company id");
        assert!((0..4).map(id_of).any(|id| id == company), "{company} is a seeded company");
        let owner = a[5].as_u64().expect("owner");
        assert!((0..10).map(id_of).any(|id| id == owner));
    }
}
