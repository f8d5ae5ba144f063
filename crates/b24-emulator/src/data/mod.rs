//! The portal's data: seeded, deterministic tables generated lazily, with an overlay for adds,
//! updates and deletes.
//!
//! Row `k` (0-based) of a table has id `1 + k + 3 * (k / 4)`: ids ascend with gaps, as real
//! data has, and a million rows cost no memory until they are changed.

pub(crate) mod filter;
mod notification;
pub(crate) mod schema;
pub(crate) mod seed;
pub(crate) mod tables;

use std::collections::BTreeMap;

use serde_json::Value;

pub use notification::Notification;
pub(crate) use schema::{Kind, Schema};
pub(crate) use tables::Data;

/// The id of generated row `k`.
pub(crate) fn id_of(k: u64) -> u64 {
    1 + k + 3 * (k / 4)
}

/// A row: values aligned with the schema's fields (shorter when the last fields are unset).
pub(crate) type Record = Vec<Value>;

/// One table: `rows` generated records plus the overlay of changes.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) schema: Schema,
    rows: u64,
    seed: u64,
    refs: seed::Refs,
    /// Changed ids: `Some` for added or updated rows, `None` for deleted ones.
    overlay: BTreeMap<u64, Option<Record>>,
}

impl Table {
    pub(crate) fn new(schema: Schema, rows: u64, seed: u64, refs: seed::Refs) -> Table {
        Table { schema, rows, seed, refs, overlay: BTreeMap::new() }
    }

    fn generate(&self, k: u64) -> Record {
        seed::record(&self.schema, k, self.seed, self.refs)
    }

    /// The first generated index whose id is greater than `after` (or 0).
    fn first_k_after(&self, after: Option<u64>) -> u64 {
        let Some(after) = after else { return 0 };
        let (mut lo, mut hi) = (0u64, self.rows);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if id_of(mid) > after { hi = mid } else { lo = mid + 1 }
        }
        lo
    }

    /// The last generated index whose id is less than `before`, if any.
    fn last_k_before(&self, before: Option<u64>) -> Option<u64> {
        let first_not_below = match before {
            Some(b) => self.first_k_after(Some(b.saturating_sub(1))),
            None => self.rows,
        };
        first_not_below.checked_sub(1)
    }

    fn is_generated(&self, id: u64) -> bool {
        let k = self.first_k_after(Some(id.saturating_sub(1)));
        k < self.rows && id_of(k) == id
    }

    /// The record with this id, if it exists.
    pub(crate) fn get(&self, id: u64) -> Option<Record> {
        match self.overlay.get(&id) {
            Some(entry) => entry.clone(),
            None if self.is_generated(id) => Some(self.generate(self.first_k_after(Some(id - 1)))),
            None => None,
        }
    }

    /// The next existing record with id greater than `after`, ascending.
    pub(crate) fn next_after(&self, mut after: Option<u64>) -> Option<Record> {
        loop {
            let k = self.first_k_after(after);
            let generated = (k < self.rows).then(|| id_of(k));
            let lower = after.map_or(0, |a| a.saturating_add(1));
            let overlaid = self.overlay.range(lower..).next().map(|(id, _)| *id);
            let id = match (generated, overlaid) {
                (Some(g), Some(o)) => g.min(o),
                (Some(g), None) => g,
                (None, Some(o)) => o,
                (None, None) => return None,
            };
            match self.overlay.get(&id) {
                Some(Some(record)) => return Some(record.clone()),
                Some(None) => after = Some(id),
                None => return Some(self.generate(k)),
            }
        }
    }

    /// The previous existing record with id less than `before`, descending.
    pub(crate) fn prev_before(&self, mut before: Option<u64>) -> Option<Record> {
        loop {
            let generated = self.last_k_before(before).map(|k| (k, id_of(k)));
            let overlaid = match before {
                Some(b) => self.overlay.range(..b).next_back(),
                None => self.overlay.iter().next_back(),
            }
            .map(|(id, _)| *id);
            let id = match (generated.map(|g| g.1), overlaid) {
                (Some(g), Some(o)) => g.max(o),
                (Some(g), None) => g,
                (None, Some(o)) => o,
                (None, None) => return None,
            };
            match self.overlay.get(&id) {
                Some(Some(record)) => return Some(record.clone()),
                Some(None) => before = Some(id),
                None => return generated.map(|(k, _)| self.generate(k)),
            }
        }
    }

    /// The number of existing records with `lo <= id <= hi`, without generating any.
    pub(crate) fn count_in_range(&self, lo: u64, hi: u64) -> u64 {
        if lo > hi {
            return 0;
        }
        let first = self.first_k_after(Some(lo.saturating_sub(1)).filter(|_| lo > 0));
        let end = self.first_k_after(Some(hi));
        let mut count = end.saturating_sub(first);
        for (id, entry) in self.overlay.range(lo..=hi) {
            match (self.is_generated(*id), entry.is_some()) {
                (true, false) => count -= 1,
                (false, true) => count += 1,
                _ => {}
            }
        }
        count
    }

    fn max_id(&self) -> u64 {
        let generated = self.rows.checked_sub(1).map_or(0, id_of);
        let overlaid = self.overlay.keys().next_back().copied().unwrap_or(0);
        generated.max(overlaid)
    }

    /// Add a record built from `fields` (by field index); returns its id. The core fields
    /// not given get defaults (dates: now, numbers: 0, strings: empty).
    pub(crate) fn add(&mut self, fields: Vec<(usize, Value)>, now_iso: &str) -> u64 {
        let id = self.max_id() + 1;
        let mut record: Record = self.schema.fields[..self.schema.core]
            .iter()
            .map(|f| match f.kind {
                Kind::Date => Value::from(now_iso),
                Kind::Int | Kind::Money => Value::from(0),
                Kind::Str => Value::from(""),
                Kind::Raw => Value::Null,
            })
            .collect();
        record[0] = Value::from(id);
        set(&mut record, fields);
        self.overlay.insert(id, Some(record));
        id
    }

    /// Update fields of an existing record; false when it does not exist.
    pub(crate) fn update(&mut self, id: u64, fields: Vec<(usize, Value)>) -> bool {
        let Some(mut record) = self.get(id) else { return false };
        set(&mut record, fields.into_iter().filter(|(i, _)| *i != 0).collect());
        self.overlay.insert(id, Some(record));
        true
    }

    /// Delete a record; false when it does not exist.
    pub(crate) fn delete(&mut self, id: u64) -> bool {
        if self.get(id).is_none() {
            return false;
        }
        self.overlay.insert(id, None);
        true
    }
}

/// Write values by field index, growing the record as needed.
fn set(record: &mut Record, fields: Vec<(usize, Value)>) {
    for (i, v) in fields {
        if record.len() <= i {
            record.resize(i + 1, Value::Null);
        }
        record[i] = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deals(rows: u64) -> Table {
        Table::new(
            Schema::build(seed::DEALS, Some("crm.deal"), "Deal"),
            rows,
            1,
            seed::Refs { users: 10, companies: 0 },
        )
    }

    #[test]
    fn ids_have_gaps_and_walk_both_ways() {
        let t = deals(10);
        let ids: Vec<u64> = (0..10).map(id_of).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 8, 9, 10, 11, 15, 16]);
        let mut seen = Vec::new();
        let mut after = None;
        while let Some(r) = t.next_after(after) {
            let id = r[0].as_u64().unwrap_or(0);
            seen.push(id);
            after = Some(id);
        }
        assert_eq!(seen, ids);
        let mut back = Vec::new();
        let mut before = None;
        while let Some(r) = t.prev_before(before) {
            let id = r[0].as_u64().unwrap_or(0);
            back.push(id);
            before = Some(id);
        }
        back.reverse();
        assert_eq!(back, ids);
        assert_eq!(t.count_in_range(0, u64::MAX), 10);
        assert_eq!(t.count_in_range(5, 11), 4);
    }

    #[test]
    fn overlay_changes() {
        let mut t = deals(10);
        assert!(t.delete(8));
        assert!(!t.delete(5));
        let id = t.add(vec![(1, Value::from("new"))], "2024-01-01T00:00:00+00:00");
        assert_eq!(id, 17);
        assert!(t.update(2, vec![(1, Value::from("changed"))]));
        assert_eq!(t.get(2).map(|r| r[1].clone()), Some(Value::from("changed")));
        assert_eq!(t.count_in_range(0, u64::MAX), 10);
        assert_eq!(t.next_after(Some(4)).map(|r| r[0].clone()), Some(Value::from(9)));
        assert_eq!(t.prev_before(None).map(|r| r[0].clone()), Some(Value::from(17)));
    }
}
