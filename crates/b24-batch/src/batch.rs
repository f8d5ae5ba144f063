//! Building batches: commands, validation, the v2 and v3 wire formats, chunking.

use b24_errors::{Code, Error};
use b24_transport::{php_query, validate_method};
use serde_json::{Map, Value, json};

/// A batch holds at most this many commands.
pub const MAX_COMMANDS: usize = 50;

/// One command: a method and its params. `Debug` shows the params redacted (they may carry a
/// credential: an `auth` param, an app's token).
#[derive(Clone, PartialEq)]
pub struct Command {
    /// The method.
    pub method: String,
    /// Its params (a JSON object).
    pub params: Value,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("method", &self.method)
            .field("params", &b24_errors::redact_params(&self.params))
            .finish()
    }
}

impl Command {
    /// A command.
    pub fn new(method: impl Into<String>, params: Value) -> Command {
        Command { method: method.into(), params }
    }
}

/// Commands by position or by name.
#[derive(Debug, Clone, PartialEq)]
pub enum Commands {
    /// Results by position.
    List(Vec<Command>),
    /// Results by name.
    Named(Vec<(String, Command)>),
}

/// A validated batch of at most 50 commands.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// (key, command) in order; list batches use keys `"0"`, `"1"`…
    entries: Vec<(String, Command)>,
    named: bool,
    halt: bool,
}

fn check_command(key: &str, command: &Command) -> Result<(), Error> {
    validate_method(&command.method)?;
    if !(command.params.is_object() || command.params.is_null()) {
        return Err(Error::sdk(
            Code::JssdkInvalidParams,
            format!("the params of batch command {key:?} ({}) must be a JSON object", command.method),
        ));
    }
    Ok(())
}

impl Batch {
    fn build(entries: Vec<(String, Command)>, named: bool) -> Result<Batch, Error> {
        if entries.is_empty() {
            return Err(Error::sdk(Code::JssdkBatchEmpty, "a batch needs at least one command"));
        }
        if entries.len() > MAX_COMMANDS {
            return Err(Error::sdk(
                Code::JssdkBatchTooLarge,
                format!("{} commands; a batch holds at most {MAX_COMMANDS} (use batch_by_chunk)", entries.len()),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (key, command) in &entries {
            if key.is_empty() || key.contains(['[', ']', '&', '=', '?']) {
                return Err(Error::sdk(Code::JssdkInvalidParams, format!("{key:?} cannot name a batch command")));
            }
            if !seen.insert(key.as_str()) {
                return Err(Error::sdk(Code::JssdkInvalidParams, format!("two batch commands are named {key:?}")));
            }
            check_command(key, command)?;
        }
        Ok(Batch { entries, named, halt: false })
    }

    /// Commands whose results come back by position.
    pub fn list(commands: Vec<Command>) -> Result<Batch, Error> {
        Batch::build(commands.into_iter().enumerate().map(|(i, c)| (i.to_string(), c)).collect(), false)
    }

    /// Commands whose results come back by name.
    pub fn named(commands: Vec<(String, Command)>) -> Result<Batch, Error> {
        Batch::build(commands, true)
    }

    /// From [`Commands`].
    pub fn from_commands(commands: Commands) -> Result<Batch, Error> {
        match commands {
            Commands::List(list) => Batch::list(list),
            Commands::Named(named) => Batch::named(named),
        }
    }

    /// Commands keyed explicitly (chunks of a larger list keep their global positions).
    pub(crate) fn keyed(entries: Vec<(String, Command)>, named: bool) -> Result<Batch, Error> {
        Batch::build(entries, named)
    }

    /// Stop at the first failing command (later commands do not run).
    pub fn halt(mut self, halt: bool) -> Batch {
        self.halt = halt;
        self
    }

    /// Whether the batch halts on the first failure.
    pub fn halts(&self) -> bool {
        self.halt
    }

    /// (key, command) in order.
    pub fn entries(&self) -> &[(String, Command)] {
        &self.entries
    }

    /// Whether results are by name.
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// The number of commands.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Never true: a batch holds at least one command.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The v2 params: `{"halt": 0|1, "cmd": {key: "method?query"}}` (a list when the keys are
    /// `0..n-1`).
    pub fn v2_params(&self) -> Result<Value, Error> {
        encode_v2(&self.entries, self.halt)
    }

    /// The v3 body: `[{"method", "query"}]` with `query` always present.
    pub fn v3_body(&self) -> Result<Value, Error> {
        encode_v3(&self.entries)
    }
}

/// The v2 wire format of `entries`.
pub fn encode_v2(entries: &[(String, Command)], halt: bool) -> Result<Value, Error> {
    if entries.is_empty() {
        return Err(Error::sdk(Code::JssdkInteractionBatchStrategyV2EmptyCommands, "the v2 batch has no commands"));
    }
    let sequential = entries.iter().enumerate().all(|(i, (k, _))| *k == i.to_string());
    let row = |c: &Command| {
        let query = php_query::encode(&c.params);
        if query.is_empty() { c.method.clone() } else { format!("{}?{query}", c.method) }
    };
    let cmd = if sequential {
        Value::Array(entries.iter().map(|(_, c)| Value::String(row(c))).collect())
    } else {
        Value::Object(entries.iter().map(|(k, c)| (k.clone(), Value::String(row(c)))).collect::<Map<_, _>>())
    };
    Ok(json!({"halt": u8::from(halt), "cmd": cmd}))
}

/// The v3 wire format of `entries`.
pub fn encode_v3(entries: &[(String, Command)]) -> Result<Value, Error> {
    if entries.is_empty() {
        return Err(Error::sdk(
            Code::JssdkInteractionBatchBuildStrategyV3EmptyCommands,
            "the v3 batch has no commands",
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (key, c) in entries {
        if c.method.trim().is_empty() {
            return Err(Error::sdk(
                Code::JssdkInteractionBatchBuildStrategyV3EmptyCommand,
                format!("v3 batch command {key:?} has no method"),
            ));
        }
        let query = if c.params.is_null() { json!({}) } else { c.params.clone() };
        out.push(json!({"method": c.method, "query": query, "as": key}));
    }
    Ok(Value::Array(out))
}

/// Split any number of commands into batches of at most 50, keeping each command's global key
/// (its position for a list, its name otherwise) so results never collide across chunks.
pub fn chunk(commands: Commands, halt: bool) -> Result<Vec<Batch>, Error> {
    let (entries, named): (Vec<(String, Command)>, bool) = match commands {
        Commands::List(list) => (list.into_iter().enumerate().map(|(i, c)| (i.to_string(), c)).collect(), false),
        Commands::Named(named) => (named, true),
    };
    if entries.is_empty() {
        return Err(Error::sdk(Code::JssdkBatchEmpty, "batch_by_chunk needs at least one command"));
    }
    let mut names = std::collections::HashSet::new();
    if let Some((dup, _)) = entries.iter().find(|(k, _)| !names.insert(k.clone())) {
        return Err(Error::sdk(Code::JssdkInvalidParams, format!("two batch commands are named {dup:?}")));
    }
    let mut batches = Vec::with_capacity(entries.len().div_ceil(MAX_COMMANDS));
    let mut rest = entries.into_iter().peekable();
    while rest.peek().is_some() {
        let part: Vec<(String, Command)> = rest.by_ref().take(MAX_COMMANDS).collect();
        batches.push(Batch::keyed(part, named)?.halt(halt));
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(m: &str) -> Command {
        Command::new(m, json!({}))
    }

    #[test]
    fn debug_hides_credentials() {
        let c = Command::new("crm.deal.list", json!({"auth": "fake-token-91", "filter": {"ID": 1}}));
        let shown = format!("{c:?}");
        assert!(!shown.contains("fake-token-91") && shown.contains("crm.deal.list"), "{shown}");
    }

    #[test]
    fn sizes_and_names() {
        assert_eq!(Batch::list(vec![]).err().map(|e| e.code()), Some(Code::JssdkBatchEmpty.into()));
        let too_many = Batch::list((0..51).map(|_| cmd("server.time")).collect());
        assert_eq!(too_many.err().map(|e| e.code()), Some(Code::JssdkBatchTooLarge.into()));
        assert!(Batch::list((0..50).map(|_| cmd("server.time")).collect()).is_ok());
        let dup = Batch::named(vec![("a".into(), cmd("x.y")), ("a".into(), cmd("x.z"))]);
        assert_eq!(dup.err().map(|e| e.code()), Some(Code::JssdkInvalidParams.into()));
        let bad = Batch::list(vec![Command::new("crm.deal list", json!({}))]);
        assert_eq!(bad.err().map(|e| e.code()), Some(Code::JssdkInvalidMethod.into()));
        let bad = Batch::list(vec![Command::new("crm.deal.list", json!([1]))]);
        assert_eq!(bad.err().map(|e| e.code()), Some(Code::JssdkInvalidParams.into()));
    }

    #[test]
    fn wire_formats() {
        let b =
            Batch::list(vec![cmd("server.time"), Command::new("crm.deal.get", json!({"id": 5}))]).map(|b| b.halt(true));
        let p = b.and_then(|b| b.v2_params()).unwrap_or_default();
        assert_eq!(p, json!({"halt": 1, "cmd": ["server.time", "crm.deal.get?id=5"]}));
        let v3 = Batch::named(vec![("x".into(), cmd("crm.item.list"))]).and_then(|b| b.v3_body()).unwrap_or_default();
        assert_eq!(v3, json!([{"method": "crm.item.list", "query": {}, "as": "x"}]));
        assert_eq!(
            encode_v2(&[], false).err().map(|e| e.code()),
            Some(Code::JssdkInteractionBatchStrategyV2EmptyCommands.into())
        );
        assert_eq!(
            encode_v3(&[]).err().map(|e| e.code()),
            Some(Code::JssdkInteractionBatchBuildStrategyV3EmptyCommands.into())
        );
        let empty_method = encode_v3(&[("a".into(), Command::new(" ", json!({})))]).err().map(|e| e.code());
        assert_eq!(empty_method, Some(Code::JssdkInteractionBatchBuildStrategyV3EmptyCommand.into()));
    }

    #[test]
    fn chunks_keep_global_keys() {
        let chunks = chunk(Commands::List((0..120).map(|_| cmd("server.time")).collect()), false).unwrap_or_default();
        assert_eq!(chunks.iter().map(Batch::len).collect::<Vec<_>>(), vec![50, 50, 20]);
        assert_eq!(chunks[1].entries()[0].0, "50");
        assert!(chunks[1].v2_params().map(|p| p["cmd"].is_object()).unwrap_or(false), "keys 50..99 go as an object");
        assert!(chunks[0].v2_params().map(|p| p["cmd"].is_array()).unwrap_or(false));
    }
}
