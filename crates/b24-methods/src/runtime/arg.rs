//! What a generated setter accepts: [`IntoArg<K>`] for a kind `K` of value, so that a setter takes
//! the natural Rust values of its kind, and a batch [`Ref`] wherever a value is expected.
//!
//! | kind | the docs' types | accepts | sent as |
//! | --- | --- | --- | --- |
//! | [`Int`] | `integer`, ids (`user`, `crm_company`, `catalog_product.id`, …) | every integer type | a JSON number |
//! | [`Float`] | `double` | `f64`, `f32`, integers | a JSON number |
//! | [`Text`] | `string`, `text`, status and currency codes | `&str`, `String`, `char` | a JSON string |
//! | [`Flag`] | `boolean` | `bool` | `true`/`false` (`1`/`0` in a batch row) |
//! | [`YesNo`] | a `Y`/`N` value list | `bool` | `"Y"`/`"N"` |
//! | [`When`] | `date`, `datetime` | [`DateTime`], [`Date`], ISO 8601 text | a JSON string |
//! | [`Json`] | `object`, `any`, unions, `unknown` | anything `Into<serde_json::Value>` | as given |
//! | [`Upload`] | `file` | [`File`] | `{"fileData": [name, base64]}` |
//! | [`Content`] | `fileContent` | [`File`] | `[name, base64]` |
//! | a generated enum | a value list | the enum | its literal |
//!
//! Every kind also takes a [`Ref`], written as `$result[cmd][…]` for the portal to fill in inside
//! a v2 batch.

use std::borrow::Cow;

use b24_batch::Ref;
use base64::Engine as _;
use serde_json::Value;

use crate::datetime::{Date, DateTime};

/// A value a setter of kind `K` accepts.
pub trait IntoArg<K: ?Sized> {
    /// The value as it goes on the wire.
    fn into_arg(self) -> Value;
}

/// Integers: any primitive integer type.
#[derive(Debug)]
pub enum Int {}
/// Floating-point numbers: `f64`, `f32` and integers.
#[derive(Debug)]
pub enum Float {}
/// Text: `&str`, `String`, `char`.
#[derive(Debug)]
pub enum Text {}
/// Booleans sent as JSON booleans.
#[derive(Debug)]
pub enum Flag {}
/// Booleans sent as `"Y"` / `"N"`.
#[derive(Debug)]
pub enum YesNo {}
/// Dates and date-times: [`DateTime`], [`Date`] or ISO 8601 text.
#[derive(Debug)]
pub enum When {}
/// Any JSON: whatever converts into a `serde_json::Value` (`json!(…)` included).
#[derive(Debug)]
pub enum Json {}
/// A file sent inline as `{"fileData": [name, base64]}`.
#[derive(Debug)]
pub enum Upload {}
/// A file sent as the pair `[name, base64]` (the `fileContent` params of uploads).
#[derive(Debug)]
pub enum Content {}

macro_rules! into_arg {
    ($kind:ty => $($t:ty),*) => {$(
        impl IntoArg<$kind> for $t {
            fn into_arg(self) -> Value { Value::from(self) }
        }
    )*};
}

into_arg!(Int => i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
into_arg!(Float => f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);
into_arg!(Text => &str, String, Cow<'_, str>);
into_arg!(Flag => bool);
into_arg!(When => &str, String);

impl IntoArg<Text> for &String {
    fn into_arg(self) -> Value {
        Value::from(self.as_str())
    }
}

impl IntoArg<Text> for char {
    fn into_arg(self) -> Value {
        Value::from(self.to_string())
    }
}

impl IntoArg<YesNo> for bool {
    fn into_arg(self) -> Value {
        Value::from(if self { "Y" } else { "N" })
    }
}

impl IntoArg<When> for DateTime {
    fn into_arg(self) -> Value {
        Value::from(self.to_string())
    }
}

impl IntoArg<When> for Date {
    fn into_arg(self) -> Value {
        Value::from(self.to_string())
    }
}

impl<T: Into<Value>> IntoArg<Json> for T {
    fn into_arg(self) -> Value {
        self.into()
    }
}

impl IntoArg<Upload> for File {
    fn into_arg(self) -> Value {
        serde_json::json!({ "fileData": self.pair() })
    }
}

impl IntoArg<Content> for File {
    fn into_arg(self) -> Value {
        self.pair()
    }
}

macro_rules! ref_arg {
    ($($kind:ty),*) => {$(
        impl IntoArg<$kind> for Ref {
            fn into_arg(self) -> Value { Value::String(self.to_string()) }
        }
    )*};
}

ref_arg!(Int, Float, Text, Flag, YesNo, When);

/// A value list the docs give for a param, as a Rust enum (generated). Each has an `Other`
/// variant for values the docs do not list.
pub trait WireEnum: Sized {
    /// The literal sent to the portal.
    fn to_wire(&self) -> Value;
}

impl<E: WireEnum> IntoArg<E> for E {
    fn into_arg(self) -> Value {
        self.to_wire()
    }
}

impl<E: WireEnum> IntoArg<E> for Ref {
    fn into_arg(self) -> Value {
        Value::String(self.to_string())
    }
}

/// A list of values of one kind.
pub(crate) fn list<K: ?Sized, T: IntoArg<K>>(items: impl IntoIterator<Item = T>) -> Value {
    Value::Array(items.into_iter().map(IntoArg::into_arg).collect())
}

/// A file to send inline: a name and its bytes, base64-encoded on the wire.
///
/// ```
/// use b24_methods::{File, IntoArg, Upload, Content};
/// let file = File::new("hello.txt", b"hello".to_vec());
/// assert_eq!(IntoArg::<Upload>::into_arg(file.clone()), serde_json::json!({"fileData": ["hello.txt", "aGVsbG8="]}));
/// assert_eq!(IntoArg::<Content>::into_arg(file), serde_json::json!(["hello.txt", "aGVsbG8="]));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct File {
    name: String,
    bytes: Vec<u8>,
}

impl File {
    /// A file named `name` (with its extension: the portal keeps it) holding `bytes`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> File {
        File { name: name.into(), bytes: bytes.into() }
    }

    /// The file's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn pair(&self) -> Value {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.bytes);
        Value::Array(vec![Value::String(self.name.clone()), Value::String(encoded)])
    }
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File").field("name", &self.name).field("len", &self.bytes.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arg<K: ?Sized>(v: impl IntoArg<K>) -> Value {
        v.into_arg()
    }

    #[test]
    fn kinds() {
        assert_eq!(arg::<Int>(5u8), json!(5));
        assert_eq!(arg::<Float>(2), json!(2));
        assert_eq!(arg::<Text>("a"), json!("a"));
        assert_eq!(arg::<Text>('x'), json!("x"));
        assert_eq!(arg::<Flag>(true), json!(true));
        assert_eq!(arg::<YesNo>(true), json!("Y"));
        assert_eq!(arg::<YesNo>(false), json!("N"));
        assert_eq!(arg::<Json>(json!({"a": [1]})), json!({"a": [1]}));
        let when = DateTime::parse("2025-01-31T10:00:00+03:00").map(arg::<When>).unwrap_or_default();
        assert_eq!(when, json!("2025-01-31T10:00:00+03:00"));
        assert_eq!(arg::<Int>(Ref::result("d").index(0).field("ID")), json!("$result[d][0][ID]"));
        assert_eq!(list::<Int, _>([1, 2]), json!([1, 2]));
    }

    #[test]
    fn files_are_base64() {
        let f = File::new("a.bin", vec![0u8, 255, 16]);
        assert_eq!(arg::<Upload>(f.clone()), json!({"fileData": ["a.bin", "AP8Q"]}));
        assert_eq!(format!("{f:?}"), "File { name: \"a.bin\", len: 3 }");
    }
}
