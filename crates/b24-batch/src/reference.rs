//! Typed v2 batch references: `$result[name][49][ID]`, `$next[name]`, `$total[name]`,
//! `$time[name][…]`, `$error[name][…]`.

use std::fmt;

/// A reference to an earlier command's answer, written into a later command's params.
///
/// ```
/// use b24_batch::Ref;
/// assert_eq!(Ref::result("prev").index(49).field("ID").to_string(), "$result[prev][49][ID]");
/// assert_eq!(Ref::result("p").field("items").index(49).field("id").to_string(), "$result[p][items][49][id]");
/// assert_eq!(Ref::next("list").to_string(), "$next[list]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    kind: &'static str,
    path: Vec<String>,
}

impl Ref {
    fn new(kind: &'static str, name: &str) -> Ref {
        Ref { kind, path: vec![name.to_owned()] }
    }

    /// `$result[name]`: the command's result.
    pub fn result(name: &str) -> Ref {
        Ref::new("result", name)
    }

    /// `$next[name]`: the command's `next` offset.
    pub fn next(name: &str) -> Ref {
        Ref::new("next", name)
    }

    /// `$total[name]`: the command's `total`.
    pub fn total(name: &str) -> Ref {
        Ref::new("total", name)
    }

    /// `$time[name]`: the command's `time` block.
    pub fn time(name: &str) -> Ref {
        Ref::new("time", name)
    }

    /// `$error[name]`: the command's error.
    pub fn error(name: &str) -> Ref {
        Ref::new("error", name)
    }

    /// One level down by key.
    pub fn field(mut self, key: &str) -> Ref {
        self.path.push(key.to_owned());
        self
    }

    /// One level down by list index.
    pub fn index(mut self, index: usize) -> Ref {
        self.path.push(index.to_string());
        self
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.kind)?;
        for segment in &self.path {
            write!(f, "[{segment}]")?;
        }
        Ok(())
    }
}

/// A reference serializes as its wire text, so it can sit anywhere in params, `json!` included:
///
/// ```
/// use b24_batch::Ref;
/// let params = serde_json::json!({"filter": {">ID": Ref::result("prev").index(49).field("ID")}});
/// assert_eq!(params["filter"][">ID"], "$result[prev][49][ID]");
/// ```
impl serde::Serialize for Ref {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl From<Ref> for serde_json::Value {
    fn from(r: Ref) -> Self {
        serde_json::Value::String(r.to_string())
    }
}
