//! The success envelope `{"result", "next"?, "total"?, "time"}` in JSON (PHP-style) or XML
//! (`.xml` paths), and the `time` block, whose every figure is real wall-clock seconds.

use serde_json::{Value, json};

use crate::clock::{Clock, iso8601};
use crate::json_out::to_php_json;
use crate::limits::OperatingState;
use crate::portal::Api;

/// What the `time` block reports, in the model's virtual time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Virtual unix seconds when the call started.
    pub(crate) start: f64,
    /// Virtual unix seconds when it finished.
    pub(crate) finish: f64,
    /// Handler time, virtual seconds.
    pub(crate) processing: f64,
    /// The method's operating-time state after the call, when the limit is on.
    pub(crate) operating: Option<OperatingState>,
}

/// The `time` block: wall-clock instants, real-second spans (v3 writes `start`/`finish` as
/// integers).
pub(crate) fn time_json(clock: &Clock, api: Api, t: Timing) -> Value {
    let (start, finish) = (clock.wall(t.start), clock.wall(t.finish));
    let (s, f) = match api {
        Api::V2 => (json!(start), json!(finish)),
        Api::V3 => (json!(start.floor() as i64), json!(finish.floor() as i64)),
    };
    let mut time = json!({
        "start": s,
        "finish": f,
        "duration": finish - start,
        "processing": clock.real_secs(t.processing),
        "date_start": iso8601(start),
        "date_finish": iso8601(finish),
    });
    if let Some(state) = t.operating {
        time["operating"] = json!(clock.real_secs(state.operating));
        if let Some(reset) = state.reset_at {
            time["operating_reset_at"] = json!(clock.wall(reset));
        }
    }
    time
}

/// The JSON envelope around a result already written.
pub(crate) fn json_body(result_json: &[u8], next: Option<u64>, total: Option<u64>, time: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(result_json.len() + 320);
    out.extend_from_slice(b"{\"result\":");
    out.extend_from_slice(result_json);
    if let Some(n) = next {
        out.extend_from_slice(b",\"next\":");
        out.extend_from_slice(n.to_string().as_bytes());
    }
    if let Some(t) = total {
        out.extend_from_slice(b",\"total\":");
        out.extend_from_slice(t.to_string().as_bytes());
    }
    out.extend_from_slice(b",\"time\":");
    out.extend_from_slice(&to_php_json(time));
    out.push(b'}');
    out
}

/// The XML form of an envelope, as the portal writes it for `.xml` paths: `<response>` around
/// one element per key, list entries as `<item>`, scalars as PHP prints them.
pub(crate) fn xml_body(envelope: &Value) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>");
    write_xml(&mut out, envelope);
    out.push_str("</response>");
    out.into_bytes()
}

fn element(out: &mut String, name: &str, value: &Value) {
    let numeric = name.chars().all(|c| c.is_ascii_digit());
    let tag = if numeric || name.is_empty() { "item" } else { name };
    out.push('<');
    out.push_str(tag);
    out.push('>');
    write_xml(out, value);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

fn write_xml(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| element(out, k, v)),
        Value::Array(items) => items.iter().for_each(|v| element(out, "item", v)),
        Value::String(s) => escape(out, s),
        Value::Bool(true) => out.push('1'),
        Value::Bool(false) | Value::Null => {}
        Value::Number(n) => out.push_str(&n.to_string()),
    }
}

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_shape() {
        let v = json!({"result": [{"ID": "1", "TITLE": "a<b"}], "total": 1, "ok": true});
        let text = String::from_utf8(xml_body(&v)).expect("utf-8");
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response><result><item><ID>1</ID><TITLE>a&lt;b</TITLE></item></result><total>1</total><ok>1</ok></response>"
        );
    }

    #[test]
    fn json_envelope() {
        let body = json_body(b"[1]", Some(50), Some(70), &json!({"start": 1}));
        assert_eq!(body, br#"{"result":[1],"next":50,"total":70,"time":{"start":1}}"#.to_vec());
    }
}
