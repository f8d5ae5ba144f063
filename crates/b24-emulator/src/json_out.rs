//! Writing JSON the way PHP's `json_encode` does: `/` escaped as `\/` and every non-ASCII
//! character as `\uXXXX` (UTF-16 surrogate pairs above the BMP). Clients must read both.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

#[derive(Default)]
struct PhpFormatter;

impl Formatter for PhpFormatter {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if ch == '/' || !ch.is_ascii() {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                if ch == '/' {
                    writer.write_all(b"\\/")?;
                } else {
                    let mut units = [0u16; 2];
                    for unit in ch.encode_utf16(&mut units) {
                        write!(writer, "\\u{unit:04x}")?;
                    }
                }
                start = i + ch.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + Write>(&mut self, writer: &mut W, char_escape: CharEscape) -> io::Result<()> {
        serde_json::ser::CompactFormatter.write_char_escape(writer, char_escape)
    }
}

/// Serialize `value` PHP-style.
pub(crate) fn to_php_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut ser = Serializer::with_formatter(&mut out, PhpFormatter);
    if value.serialize(&mut ser).is_err() {
        return b"null".to_vec();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_escapes() {
        let out = to_php_json(&json!({"url": "a/b", "name": "Сделка €😀", "q": "\"\n"}));
        let text = String::from_utf8(out).expect("ascii");
        assert_eq!(
            text,
            r#"{"url":"a\/b","name":"\u0421\u0434\u0435\u043b\u043a\u0430 \u20ac\ud83d\ude00","q":"\"\n"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(back["name"], "Сделка €😀");
    }
}
