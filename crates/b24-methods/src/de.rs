//! Deserializers for Bitrix24's wire habits, for your own structs as much as for the generated
//! ones: put them on a field with `#[serde(deserialize_with = "…")]`.
//!
//! | habit | example on the wire | deserializer |
//! | --- | --- | --- |
//! | numbers as strings | `"ID": "37"`, `"OPPORTUNITY": "100.00"` | [`number`], [`opt_number`] |
//! | `Y`/`N` booleans (also `1`/`0`, `true`/`false`) | `"OPENED": "Y"` | [`flag`], [`opt_flag`] |
//! | empty string for null | `"CLOSEDATE": ""`, `"COMPANY_ID": ""` | every `opt_*`, [`empty_as_none`] |
//! | dates with offsets | `"2025-01-31T10:00:00+03:00"` | [`datetime`], [`opt_datetime`], [`date`], [`opt_date`] |
//! | text that may come as a number | `"XML_ID": 12` | [`string`], [`opt_string`] |
//! | an empty map written as `[]` (PHP) | `"FIELDS": []` | [`empty_list_as_default`] |
//!
//! Optional fields need `default` as well, so that a field the portal left out is `None`:
//!
//! ```
//! use b24_methods::{de, DateTime};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Deal {
//!     #[serde(rename = "ID", deserialize_with = "de::number")]
//!     id: u64,
//!     #[serde(rename = "OPPORTUNITY", default, deserialize_with = "de::opt_number")]
//!     opportunity: Option<f64>,
//!     #[serde(rename = "CLOSED", default, deserialize_with = "de::opt_flag")]
//!     closed: Option<bool>,
//!     #[serde(rename = "CLOSEDATE", default, deserialize_with = "de::opt_datetime")]
//!     close_date: Option<DateTime>,
//! }
//!
//! let deal: Deal = serde_json::from_str(
//!     r#"{"ID": "37", "OPPORTUNITY": "100.00", "CLOSED": "N", "CLOSEDATE": ""}"#,
//! ).unwrap();
//! assert_eq!((deal.id, deal.opportunity, deal.closed), (37, Some(100.0), Some(false)));
//! assert!(deal.close_date.is_none());
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, Error as _, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::datetime::{Date, DateTime};

mod sealed {
    pub trait Sealed {}
}

/// A primitive number [`number`] can produce: every integer type, `f32` and `f64`.
pub trait WireNumber: sealed::Sealed + Sized {
    #[doc(hidden)]
    fn from_i64(v: i64) -> Option<Self>;
    #[doc(hidden)]
    fn from_u64(v: u64) -> Option<Self>;
    #[doc(hidden)]
    fn from_f64(v: f64) -> Option<Self>;
    #[doc(hidden)]
    fn from_text(v: &str) -> Option<Self>;
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl WireNumber for $t {
            fn from_i64(v: i64) -> Option<Self> { <$t>::try_from(v).ok() }
            fn from_u64(v: u64) -> Option<Self> { <$t>::try_from(v).ok() }
            fn from_f64(v: f64) -> Option<Self> {
                // A whole number written with a fraction (`"5.00"`), in range.
                (v.fract() == 0.0 && v.is_finite()).then(|| v as i128).and_then(|v| <$t>::try_from(v).ok())
            }
            fn from_text(v: &str) -> Option<Self> {
                v.parse().ok().or_else(|| v.parse::<f64>().ok().and_then(Self::from_f64))
            }
        }
    )*};
}

macro_rules! wire_float {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl WireNumber for $t {
            fn from_i64(v: i64) -> Option<Self> { Some(v as $t) }
            fn from_u64(v: u64) -> Option<Self> { Some(v as $t) }
            fn from_f64(v: f64) -> Option<Self> { Some(v as $t) }
            fn from_text(v: &str) -> Option<Self> { v.parse().ok() }
        }
    )*};
}

wire_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
wire_float!(f32, f64);

/// What a visitor found: a value, or the portal's way of saying "none" (`null`, `""`).
type Found<T> = Option<T>;

fn required<T, E: serde::de::Error>(found: Found<T>, what: &str) -> Result<T, E> {
    found.ok_or_else(|| E::custom(format!("{what}, not an empty value")))
}

struct NumberVisitor<T>(PhantomData<T>);

impl<'de, T: WireNumber> Visitor<'de> for NumberVisitor<T> {
    type Value = Found<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, or a number written as a string")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Found<T>, E> {
        T::from_i64(v).map(Some).ok_or_else(|| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Found<T>, E> {
        T::from_u64(v).map(Some).ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Found<T>, E> {
        T::from_f64(v).map(Some).ok_or_else(|| E::invalid_value(Unexpected::Float(v), &self))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Found<T>, E> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        T::from_text(v).map(Some).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Found<T>, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Found<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Found<T>, D::Error> {
        d.deserialize_any(self)
    }
}

/// A number, also when written as a string (`"37"`, `" 37 "`, `"100.00"`); a whole-number
/// float (`"5.00"`) fits an integer type. Refuses `null` and `""` (use [`opt_number`]).
pub fn number<'de, D: Deserializer<'de>, T: WireNumber>(d: D) -> Result<T, D::Error> {
    required(d.deserialize_any(NumberVisitor(PhantomData))?, "a number")
}

/// Like [`number`], with `null` and `""` as `None`.
pub fn opt_number<'de, D: Deserializer<'de>, T: WireNumber>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_any(NumberVisitor(PhantomData))
}

struct FlagVisitor;

impl<'de> Visitor<'de> for FlagVisitor {
    type Value = Found<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean: true/false, \"Y\"/\"N\" or 1/0")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Found<bool>, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Found<bool>, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Found<bool>, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Found<bool>, E> {
        let t = v.trim();
        if t.is_empty() {
            Ok(None)
        } else if ["y", "1", "true"].iter().any(|w| t.eq_ignore_ascii_case(w)) {
            Ok(Some(true))
        } else if ["n", "0", "false"].iter().any(|w| t.eq_ignore_ascii_case(w)) {
            Ok(Some(false))
        } else {
            Err(E::invalid_value(Unexpected::Str(v), &self))
        }
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Found<bool>, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Found<bool>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Found<bool>, D::Error> {
        d.deserialize_any(self)
    }
}

/// A boolean from `true`/`false`, `"Y"`/`"N"` (any case), `1`/`0` or `"1"`/`"0"`. Refuses `null`
/// and `""` (use [`opt_flag`]).
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    required(d.deserialize_any(FlagVisitor)?, "a boolean")
}

/// Like [`flag`], with `null` and `""` as `None`.
pub fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(FlagVisitor)
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Found<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text (or a number or boolean, kept as text)")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Found<String>, E> {
        Ok(Some(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Found<String>, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Found<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Found<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Found<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Found<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Found<String>, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Found<String>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Found<String>, D::Error> {
        d.deserialize_any(self)
    }
}

/// Text; a number or boolean the portal wrote instead is kept as its text. Refuses `null`.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    required(d.deserialize_any(TextVisitor)?, "text")
}

/// Like [`string`], with `null` as `None`. An empty string stays `Some("")` (it may be a value
/// the user cleared); wrap the field in [`empty_as_none`] to read it as `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextVisitor)
}

fn parsed<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<Option<T>, D::Error>
where
    T::Err: fmt::Display,
{
    match d.deserialize_any(TextVisitor)? {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => text.parse().map(Some).map_err(D::Error::custom),
    }
}

/// A [`DateTime`] (ISO 8601 with or without an offset, a bare date, or `31.01.2025 10:00:00`).
/// Refuses `null` and `""` (use [`opt_datetime`]).
pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime, D::Error> {
    required(parsed(d)?, "a date-time")
}

/// Like [`datetime`], with `null` and `""` as `None`.
pub fn opt_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime>, D::Error> {
    parsed(d)
}

/// A [`Date`] (`2025-01-31`, `31.01.2025`, or a date-time, whose date is kept).
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    required(parsed(d)?, "a date")
}

/// Like [`date`], with `null` and `""` as `None`.
pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    parsed(d)
}

/// Any `T`, with `null`, `""`, `[]` and `{}` read as `None` (the portal's ways of writing
/// "nothing here").
pub fn empty_as_none<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::Array(a)) if a.is_empty() => Ok(None),
        Some(Value::Object(o)) if o.is_empty() => Ok(None),
        Some(v) => serde_json::from_value(v).map(Some).map_err(D::Error::custom),
    }
}

/// Any `T: Default`, with `[]` (PHP's empty map) and `null` read as `T::default()`.
pub fn empty_list_as_default<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(T::default()),
        Value::Array(a) if a.is_empty() => Ok(T::default()),
        v => serde_json::from_value(v).map_err(D::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize, Debug, PartialEq, Default)]
    struct Row {
        #[serde(default, deserialize_with = "opt_number")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "opt_number")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "opt_flag")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_datetime")]
        t: Option<DateTime>,
        #[serde(default, deserialize_with = "empty_as_none")]
        e: Option<Vec<u32>>,
    }

    fn row(v: Value) -> Result<Row, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn numbers() {
        assert_eq!(
            row(json!({"n": "37", "f": "100.00"})).ok(),
            Some(Row { n: Some(37), f: Some(100.0), ..Row::default() })
        );
        assert_eq!(row(json!({"n": 37, "f": 1})).ok().map(|r| (r.n, r.f)), Some((Some(37), Some(1.0))));
        assert_eq!(row(json!({"n": " 5.00 "})).ok().map(|r| r.n), Some(Some(5)));
        assert_eq!(row(json!({"n": "", "f": null})).ok(), Some(Row::default()));
        assert!(row(json!({"n": "5.5"})).is_err());
        assert!(row(json!({"n": "abc"})).is_err());
        assert!(row(json!({"n": [1]})).is_err());
        let small: Result<u8, _> = number(json!(300));
        assert!(small.is_err());
        let id: Result<u64, _> = number(json!("-1"));
        assert!(id.is_err(), "a negative id is refused");
        let required: Result<u64, _> = number(json!(""));
        assert!(required.err().map(|e| e.to_string()).unwrap_or_default().contains("a number, not an empty value"));
    }

    #[test]
    fn flags() {
        for (wire, want) in
            [(json!("Y"), true), (json!("n"), false), (json!(1), true), (json!("0"), false), (json!(true), true)]
        {
            assert_eq!(row(json!({ "b": wire })).ok().and_then(|r| r.b), Some(want), "{wire}");
        }
        assert_eq!(row(json!({"b": ""})).ok().map(|r| r.b), Some(None));
        assert!(row(json!({"b": "maybe"})).is_err());
        assert!(row(json!({"b": 2})).is_err());
        assert!(flag(json!(null)).is_err());
    }

    #[test]
    fn text_dates_and_empties() {
        assert_eq!(row(json!({"s": 12})).ok().and_then(|r| r.s), Some("12".to_owned()));
        assert_eq!(row(json!({"s": ""})).ok().and_then(|r| r.s), Some(String::new()));
        let t = row(json!({"t": "2025-01-31T10:00:00+03:00"})).ok().and_then(|r| r.t);
        assert_eq!(t.and_then(|t| t.unix_timestamp()), Some(1_738_306_800));
        assert_eq!(row(json!({"t": ""})).ok().map(|r| r.t), Some(None));
        assert!(row(json!({"t": "tomorrow"})).is_err());
        assert_eq!(row(json!({"e": []})).ok().map(|r| r.e), Some(None));
        assert_eq!(row(json!({"e": [1, 2]})).ok().and_then(|r| r.e), Some(vec![1, 2]));
        let map: Result<std::collections::BTreeMap<String, u8>, _> = empty_list_as_default(json!([]));
        assert_eq!(map.ok().map(|m| m.len()), Some(0));
        let d: Result<Date, _> = date(json!("31.01.2025"));
        assert_eq!(d.ok().map(|d| d.to_string()), Some("2025-01-31".to_owned()));
    }
}
