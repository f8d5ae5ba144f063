//! The portal's tables by key: one per entity family (`crm.deal`, `crm.contact`, `tasks.task`,
//! `user`, `catalog.product`...), made on first use. The main entities are seeded with the
//! configured sizes; the others start empty. `crm.item` reaches the CRM tables by
//! `entityTypeId` (2 is `crm.deal`, 3 `crm.contact`...); smart processes get tables of their own.

use std::collections::HashMap;

use super::seed::{self, Refs};
use super::{Notification, Schema, Table};
use crate::events::Events;
use crate::settings::Settings;

/// A main entity: its table key, seeded fields and title prefix.
struct Main {
    key: &'static str,
    core: &'static [super::schema::Core],
    title: &'static str,
    /// Mixed into the data seed so that tables differ.
    salt: u64,
}

const MAIN: &[Main] = &[
    Main { key: "crm.deal", core: seed::DEALS, title: "Deal", salt: 0 },
    Main { key: "tasks.task", core: seed::TASKS, title: "Task", salt: 0xA5A5 },
    Main { key: "crm.contact", core: seed::CONTACTS, title: "Contact", salt: 0xC0 },
    Main { key: "crm.company", core: seed::COMPANIES, title: "Company", salt: 0xC1 },
    Main { key: "crm.lead", core: seed::LEADS, title: "Lead", salt: 0xC2 },
    Main { key: "user", core: seed::USERS, title: "User", salt: 0xD0 },
];

/// The table key of a CRM entity type, or `None` for an unknown type.
pub(crate) fn crm_type_key(entity_type_id: u64) -> Option<String> {
    Some(match entity_type_id {
        1 => "crm.lead".to_owned(),
        2 => "crm.deal".to_owned(),
        3 => "crm.contact".to_owned(),
        4 => "crm.company".to_owned(),
        7 => "crm.quote".to_owned(),
        31 | 128..=2047 => format!("crm.item#{entity_type_id}"),
        _ => return None,
    })
}

/// Every table, and the other state the methods change.
#[derive(Debug)]
pub(crate) struct Data {
    tables: HashMap<String, Table>,
    /// Notifications recorded by `im.notify.*`.
    pub(crate) notifications: Vec<Notification>,
    /// Bound event handlers and the offline queue.
    pub(crate) events: Events,
    /// Ids handed out by methods that are not tables (notifications, documented answers).
    sequence: u64,
    /// Seeded rows per main table key.
    sizes: HashMap<&'static str, u64>,
    seed: u64,
    refs: Refs,
}

impl Data {
    pub(crate) fn new(settings: &Settings) -> Data {
        let s = &settings.seeds;
        let sizes = HashMap::from([
            ("crm.deal", settings.rows),
            ("tasks.task", settings.rows),
            ("crm.contact", s.contacts),
            ("crm.company", s.companies),
            ("crm.lead", s.leads),
            ("user", s.users.max(1)),
        ]);
        let refs = Refs { users: s.users.max(1), companies: s.companies };
        let mut data = Data {
            tables: HashMap::new(),
            notifications: Vec::new(),
            events: Events::default(),
            sequence: 0,
            sizes,
            seed: settings.data_seed,
            refs,
        };
        // The deals are made now: the first list call should not pay for building a schema.
        data.table("crm.deal");
        data
    }

    /// The table of `key`, made on first use.
    pub(crate) fn table(&mut self, key: &str) -> &mut Table {
        let (sizes, seed, refs) = (&self.sizes, self.seed, self.refs);
        self.tables.entry(key.to_owned()).or_insert_with(|| make(sizes, seed, refs, key))
    }

    /// The table of `key` if it was ever used.
    pub(crate) fn existing(&self, key: &str) -> Option<&Table> {
        self.tables.get(key)
    }

    /// The next id of the portal-wide sequence.
    pub(crate) fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Rows seeded for `key`.
    pub(crate) fn seeded(&self, key: &str) -> u64 {
        self.sizes.get(key).copied().unwrap_or(0)
    }
}

fn make(sizes: &HashMap<&'static str, u64>, seed: u64, refs: Refs, key: &str) -> Table {
    if let Some(main) = MAIN.iter().find(|m| m.key == key) {
        let rows = sizes.get(key).copied().unwrap_or(0);
        return Table::new(Schema::build(main.core, Some(key), main.title), rows, seed ^ main.salt, refs);
    }
    // Smart processes and invoices of `crm.item` are shaped like deals.
    let (family, core) = if key.starts_with("crm.item#") { ("crm.deal", seed::DEALS) } else { (key, seed::ID_ONLY) };
    Table::new(Schema::build(core, Some(family), "Item"), 0, seed, refs)
}
