//! The offline event queue: records of the changes offline bindings asked for, divided by source
//! (`auth_connector`). `event.offline.get` takes records (deleting them, or with `clear=0`
//! marking them with a process id until `event.offline.clear`), `event.offline.list` reads the
//! queue as it is, `event.offline.error` marks records failed. A change already waiting for the
//! same event and data only refreshes its record's time.

use serde_json::{Map, Value, json};

use super::Change;

/// One queued record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) id: u64,
    pub(crate) timestamp: String,
    pub(crate) event: String,
    pub(crate) data: Value,
    pub(crate) user_id: u64,
    pub(crate) message_id: String,
    pub(crate) process_id: Option<String>,
    pub(crate) error: bool,
    pub(crate) connector: Option<String>,
}

impl Record {
    /// As `event.offline.get` returns it (`full`: with `PROCESS_ID` and `ERROR`, as the list does).
    pub(crate) fn to_json(&self, full: bool) -> Value {
        let mut v = json!({
            "ID": self.id.to_string(),
            "TIMESTAMP_X": self.timestamp,
            "EVENT_NAME": self.event,
            "EVENT_DATA": self.data,
            "EVENT_ADDITIONAL": {"user_id": self.user_id.to_string()},
            "MESSAGE_ID": self.message_id,
        });
        if full {
            v["PROCESS_ID"] = json!(self.process_id);
            v["ERROR"] = json!(u8::from(self.error).to_string());
        }
        v
    }

    fn field(&self, name: &str) -> Value {
        match name {
            "ID" => json!(self.id),
            "TIMESTAMP_X" => json!(self.timestamp),
            "EVENT_NAME" => json!(self.event),
            "MESSAGE_ID" => json!(self.message_id),
            "PROCESS_ID" => json!(self.process_id.clone().unwrap_or_default()),
            "ERROR" => json!(u8::from(self.error)),
            _ => Value::Null,
        }
    }

    /// Whether the record passes a classic filter on `ID`, `TIMESTAMP_X`, `EVENT_NAME`,
    /// `MESSAGE_ID`, `PROCESS_ID`, `ERROR` (prefixes `= != ! > >= < <=`).
    fn passes(&self, filter: &Map<String, Value>) -> bool {
        filter.iter().all(|(key, wanted)| {
            let (op, name) = ["!=", ">=", "<=", "=", "!", ">", "<"]
                .iter()
                .find_map(|p| key.strip_prefix(p).map(|rest| (*p, rest)))
                .unwrap_or(("=", key.as_str()));
            let have = self.field(&name.to_ascii_uppercase());
            let ord = match (&have, wanted) {
                (Value::Number(a), w) => {
                    let w = w.as_f64().or_else(|| w.as_str().and_then(|s| s.parse().ok())).unwrap_or(f64::NAN);
                    a.as_f64().and_then(|a| a.partial_cmp(&w))
                }
                (a, w) => {
                    let w = w.as_str().map_or_else(|| w.to_string(), str::to_owned);
                    Some(a.as_str().unwrap_or("").cmp(w.as_str()))
                }
            };
            let Some(ord) = ord else { return false };
            match op {
                "=" => ord.is_eq(),
                "!=" | "!" => !ord.is_eq(),
                ">" => ord.is_gt(),
                ">=" => ord.is_ge(),
                "<" => ord.is_lt(),
                _ => ord.is_le(),
            }
        })
    }
}

/// What `event.offline.get` selects.
#[derive(Debug, Clone, Default)]
pub(crate) struct Take {
    pub(crate) filter: Map<String, Value>,
    /// Newest first.
    pub(crate) descending: bool,
    pub(crate) limit: usize,
    /// Delete what is taken (else mark it with the process id).
    pub(crate) clear: bool,
    pub(crate) process_id: Option<String>,
    pub(crate) connector: Option<String>,
    /// Take the records marked failed instead of the others.
    pub(crate) errors: bool,
}

/// The queue.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    records: Vec<Record>,
    next_id: u64,
    next_process: u64,
}

fn message_id(event: &str, data: &Value) -> String {
    let text = format!("{event}{data}");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}{:016x}", hash.rotate_left(29) ^ 0x9E37_79B9_7F4A_7C15)
}

impl Queue {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Queue a change for an offline binding of source `connector`.
    pub(crate) fn push(&mut self, change: &Change, connector: Option<String>, now_iso: &str) {
        let message_id = message_id(&change.event, &change.data);
        let waiting = self
            .records
            .iter_mut()
            .find(|r| r.process_id.is_none() && !r.error && r.message_id == message_id && r.connector == connector);
        if let Some(record) = waiting {
            now_iso.clone_into(&mut record.timestamp);
            return;
        }
        self.next_id += 1;
        self.records.push(Record {
            id: self.next_id,
            timestamp: now_iso.to_owned(),
            event: change.event.clone(),
            data: change.data.clone(),
            user_id: change.user_id,
            message_id,
            process_id: None,
            error: false,
            connector,
        });
    }

    fn new_process_id(&mut self) -> String {
        self.next_process += 1;
        let mix = self.next_process.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!("{:016x}{:016x}", mix, mix.rotate_left(17) ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// `event.offline.get`: the process id and the records taken.
    pub(crate) fn take(&mut self, t: &Take) -> (String, Vec<Record>) {
        let process_id = t.process_id.clone().unwrap_or_else(|| self.new_process_id());
        let mut picked: Vec<usize> = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.connector == t.connector
                    && r.error == t.errors
                    && r.process_id.as_ref().is_none_or(|p| Some(p) == t.process_id.as_ref())
                    && r.passes(&t.filter)
            })
            .map(|(i, _)| i)
            .collect();
        if t.descending {
            picked.reverse();
        }
        picked.truncate(t.limit);
        let taken: Vec<Record> = picked.iter().map(|&i| self.records[i].clone()).collect();
        if t.clear {
            let ids: Vec<u64> = taken.iter().map(|r| r.id).collect();
            self.records.retain(|r| !ids.contains(&r.id));
        } else {
            for &i in &picked {
                self.records[i].process_id = Some(process_id.clone());
            }
        }
        (process_id, taken)
    }

    /// `event.offline.clear`: delete the process's records (only `ids`, or only `message_ids`,
    /// when given); how many went.
    pub(crate) fn clear(&mut self, process_id: &str, ids: &[u64], message_ids: &[String]) -> usize {
        let before = self.records.len();
        self.records.retain(|r| {
            let mine = r.process_id.as_deref() == Some(process_id);
            let chosen = if !ids.is_empty() {
                ids.contains(&r.id)
            } else if !message_ids.is_empty() {
                message_ids.contains(&r.message_id)
            } else {
                true
            };
            !(mine && chosen)
        });
        before - self.records.len()
    }

    /// `event.offline.error`: mark the process's records with these message ids failed.
    pub(crate) fn fail(&mut self, process_id: &str, message_ids: &[String]) {
        for r in self.records.iter_mut().filter(|r| r.process_id.as_deref() == Some(process_id)) {
            if message_ids.is_empty() || message_ids.contains(&r.message_id) {
                r.error = true;
            }
        }
    }

    /// `event.offline.list`: the queue of a source as it is.
    pub(crate) fn list(&self, connector: Option<&str>, filter: &Map<String, Value>) -> Vec<&Record> {
        self.records.iter().filter(|r| r.connector.as_deref() == connector && r.passes(filter)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: u64) -> Change {
        Change { event: "ONCRMDEALUPDATE".into(), data: json!({"FIELDS": {"ID": id}}), connector: None, user_id: 1 }
    }

    #[test]
    fn take_mark_clear() {
        let mut q = Queue::default();
        q.push(&change(1), None, "t1");
        q.push(&change(1), None, "t2");
        q.push(&change(2), None, "t3");
        q.push(&change(3), Some("other".into()), "t4");
        assert_eq!(q.len(), 3, "the same waiting change refreshes its record");
        let (pid, taken) = q.take(&Take { limit: 1, ..Take::default() });
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].timestamp, "t2");
        let (_, others) = q.take(&Take { limit: 50, ..Take::default() });
        assert_eq!(others.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2], "a marked record is not taken again");
        let (_, again) = q.take(&Take { limit: 50, process_id: Some(pid.clone()), ..Take::default() });
        assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1], "the same process sees its own again");
        assert_eq!(q.clear(&pid, &[], &[]), 1);
        let (_, cleared) = q.take(&Take { limit: 50, clear: true, connector: Some("other".into()), ..Take::default() });
        assert_eq!(cleared.len(), 1);
        assert_eq!(q.len(), 1, "the record the other process reserved stays");
    }

    #[test]
    fn filters() {
        let mut q = Queue::default();
        (1..=5).for_each(|i| q.push(&change(i), None, "t"));
        let filter: Map<String, Value> =
            serde_json::from_value(json!({">=ID": 3, "EVENT_NAME": "ONCRMDEALUPDATE"})).unwrap_or_default();
        assert_eq!(q.list(None, &filter).len(), 3);
    }
}
