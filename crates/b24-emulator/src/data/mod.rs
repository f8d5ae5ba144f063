//! The portal's data: seeded, deterministic tables generated lazily, with an overlay for adds,
//! updates and deletes.
//!
//! Row `k` (0-based) of a table has id `1 + k + 3 * (k / 4)`: ids ascend with gaps, as real
//! data has, and a million rows cost no memory until they are changed.

pub(crate) mod filter;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// How a field is typed and rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Money,
    Str,
    Date,
}

/// One field: its legacy (upper-case) and camelCase names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) upper: &'static str,
    pub(crate) camel: &'static str,
    pub(crate) kind: Kind,
}

const fn field(upper: &'static str, camel: &'static str, kind: Kind) -> Field {
    Field { upper, camel, kind }
}

/// The fields of a table; field 0 is always the id.
#[derive(Debug)]
pub(crate) struct Schema {
    pub(crate) fields: &'static [Field],
    pub(crate) title_prefix: &'static str,
}

pub(crate) static DEALS: Schema = Schema {
    fields: &[
        field("ID", "id", Kind::Int),
        field("TITLE", "title", Kind::Str),
        field("STAGE_ID", "stageId", Kind::Str),
        field("OPPORTUNITY", "opportunity", Kind::Money),
        field("CURRENCY_ID", "currencyId", Kind::Str),
        field("ASSIGNED_BY_ID", "assignedById", Kind::Int),
        field("CATEGORY_ID", "categoryId", Kind::Int),
        field("DATE_CREATE", "createdTime", Kind::Date),
        field("COMMENTS", "comments", Kind::Str),
    ],
    title_prefix: "Deal",
};

pub(crate) static TASKS: Schema = Schema {
    fields: &[
        field("ID", "id", Kind::Int),
        field("TITLE", "title", Kind::Str),
        field("STATUS", "status", Kind::Int),
        field("PRIORITY", "priority", Kind::Int),
        field("RESPONSIBLE_ID", "responsibleId", Kind::Int),
        field("CREATED_DATE", "createdDate", Kind::Date),
        field("DESCRIPTION", "description", Kind::Str),
    ],
    title_prefix: "Task",
};

const STAGES: [&str; 5] = ["NEW", "PREPARATION", "EXECUTING", "WON", "LOSE"];
const CURRENCIES: [&str; 3] = ["USD", "EUR", "RUB"];

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The id of generated row `k`.
pub(crate) fn id_of(k: u64) -> u64 {
    1 + k + 3 * (k / 4)
}

/// A row: values aligned with the schema's fields.
pub(crate) type Record = Vec<Value>;

/// Normalize a field name for lookups: lower case, no underscores (`STAGE_ID` = `stageId`).
pub(crate) fn norm(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

impl Schema {
    /// The index of a field by any of its names.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        let n = norm(name);
        self.fields.iter().position(|f| norm(f.upper) == n || norm(f.camel) == n)
    }

    /// Render a record for legacy methods (upper-case keys, every value a string) or for
    /// camelCase methods (native numbers), keeping only `select` (all when None).
    pub(crate) fn render(&self, record: &Record, camel: bool, select: Option<&[usize]>) -> Value {
        let mut map = Map::new();
        let mut put = |i: usize| {
            let f = &self.fields[i];
            let v = &record[i];
            let key = if camel { f.camel } else { f.upper };
            let value = if camel {
                v.clone()
            } else {
                match (f.kind, v) {
                    (_, Value::Null) => Value::Null,
                    (Kind::Money, Value::Number(n)) => Value::String(format!("{:.2}", n.as_f64().unwrap_or(0.0))),
                    (_, Value::Number(n)) => Value::String(n.to_string()),
                    (_, other) => other.clone(),
                }
            };
            map.insert(key.to_owned(), value);
        };
        match select {
            Some(cols) => {
                put(0);
                for &i in cols.iter().filter(|&&i| i != 0) {
                    put(i);
                }
            }
            None => (0..self.fields.len()).for_each(&mut put),
        }
        Value::Object(map)
    }

    fn generate(&self, k: u64, seed: u64) -> Record {
        let id = id_of(k);
        let h = splitmix(seed ^ splitmix(k));
        let created = 1_600_000_000 + k * 97;
        let (y, m, d) = crate::clock::civil_from_days((created / 86_400) as i64);
        let date = format!("{y:04}-{m:02}-{d:02}T{:02}:00:00+03:00", (created / 3600) % 24);
        self.fields
            .iter()
            .map(|f| match f.upper {
                "ID" => Value::from(id),
                "TITLE" => Value::from(format!("{} {id}", self.title_prefix)),
                "STAGE_ID" => Value::from(STAGES[(h % 5) as usize]),
                "OPPORTUNITY" => Value::from(((h >> 8) % 1_000_000) as f64 / 100.0),
                "CURRENCY_ID" => Value::from(CURRENCIES[((h >> 16) % 3) as usize]),
                "ASSIGNED_BY_ID" | "RESPONSIBLE_ID" => Value::from(1 + (h >> 20) % 10),
                "CATEGORY_ID" => Value::from((h >> 24) % 3),
                "STATUS" => Value::from(2 + (h >> 28) % 4),
                "PRIORITY" => Value::from((h >> 32) % 3),
                _ if f.kind == Kind::Date => Value::from(date.clone()),
                _ => Value::Null,
            })
            .collect()
    }
}

/// One table: `rows` generated records plus the overlay of changes.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) schema: &'static Schema,
    rows: u64,
    seed: u64,
    /// Changed ids: `Some` for added or updated rows, `None` for deleted ones.
    overlay: BTreeMap<u64, Option<Record>>,
}

impl Table {
    pub(crate) fn new(schema: &'static Schema, rows: u64, seed: u64) -> Table {
        Table { schema, rows, seed, overlay: BTreeMap::new() }
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
            None if self.is_generated(id) => Some(self.schema.generate(self.first_k_after(Some(id - 1)), self.seed)),
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
                None => return Some(self.schema.generate(k, self.seed)),
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
                None => return generated.map(|(k, _)| self.schema.generate(k, self.seed)),
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

    /// Add a record built from `fields` (by field index); returns its id.
    pub(crate) fn add(&mut self, fields: Vec<(usize, Value)>, now_iso: &str) -> u64 {
        let id = self.max_id() + 1;
        let mut record: Record = self
            .schema
            .fields
            .iter()
            .map(|f| match f.kind {
                Kind::Date => Value::from(now_iso),
                Kind::Int | Kind::Money => Value::from(0),
                Kind::Str => Value::from(""),
            })
            .collect();
        record[0] = Value::from(id);
        for (i, v) in fields {
            record[i] = v;
        }
        self.overlay.insert(id, Some(record));
        id
    }

    /// Update fields of an existing record; false when it does not exist.
    pub(crate) fn update(&mut self, id: u64, fields: Vec<(usize, Value)>) -> bool {
        let Some(mut record) = self.get(id) else { return false };
        for (i, v) in fields.into_iter().filter(|(i, _)| *i != 0) {
            record[i] = v;
        }
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

    /// Coerce an input value to the field's type (form input arrives as strings).
    pub(crate) fn coerce(&self, index: usize, value: &Value) -> Value {
        match (self.schema.fields[index].kind, value) {
            (Kind::Int, Value::String(s)) => s.trim().parse::<i64>().map_or(Value::from(0), Value::from),
            (Kind::Money, Value::String(s)) => s.trim().parse::<f64>().map_or(Value::from(0.0), Value::from),
            (Kind::Str | Kind::Date, Value::Number(n)) => Value::from(n.to_string()),
            (_, v) => v.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_gaps_and_walk_both_ways() {
        let t = Table::new(&DEALS, 10, 1);
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
        let mut t = Table::new(&DEALS, 10, 1);
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
