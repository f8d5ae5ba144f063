//! How generated result structs deserialize: one map visitor hands each key to the struct's
//! generated `match` (instead of a serde derive per struct and a wrapper per field, which cost
//! most of the layer's compile time), and every field is read leniently (`crate::de`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::datetime::{Date, DateTime};

/// A generated result struct: it takes the value of one key.
pub(crate) trait Fields: Default {
    /// The struct's name, for errors.
    const NAME: &'static str;
    /// Read the value of `key` from `map` (a documented field) or skip it.
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// A field type read leniently: `Option` of a number, flag, text, date, JSON or nested struct.
pub(crate) trait Lenient: Sized {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

macro_rules! lenient {
    ($($t:ty => $f:path),* $(,)?) => {$(
        impl Lenient for Option<$t> {
            fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> { $f(d) }
        }
    )*};
}

lenient!(
    i64 => crate::de::opt_number,
    f64 => crate::de::opt_number,
    bool => crate::de::opt_flag,
    String => crate::de::opt_string,
    DateTime => crate::de::opt_datetime,
    Date => crate::de::opt_date,
);

impl Lenient for Option<Value> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Value>::deserialize(d)
    }
}

impl<T: Fields> Lenient for Option<Box<T>> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(d.deserialize_any(StructVisitor::<T> { optional: true, marker: PhantomData })?.map(Box::new))
    }
}

struct Seed<T>(PhantomData<T>);

impl<'de, T: Lenient> DeserializeSeed<'de> for Seed<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::read(d)
    }
}

/// The value of the current key, read leniently; an error names the field.
pub(crate) fn value<'de, A: MapAccess<'de>, T: Lenient>(map: &mut A, key: &str) -> Result<T, A::Error> {
    map.next_value_seed(Seed(PhantomData)).map_err(|e| A::Error::custom(format!("field {key:?}: {e}")))
}

/// Skip the value of an undocumented key (custom `UF_*` fields: read them with `send_as`).
pub(crate) fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Deserialize a generated struct.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: Fields>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(StructVisitor::<T> { optional: false, marker: PhantomData })?
        .ok_or_else(|| D::Error::custom(format!("{}: an object, not null", T::NAME)))
}

struct StructVisitor<T> {
    optional: bool,
    marker: PhantomData<T>,
}

impl<'de, T: Fields> Visitor<'de> for StructVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object ({})", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut out = T::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            out.field(&key, &mut map)?;
        }
        Ok(Some(out))
    }

    /// PHP writes an empty map as `[]`.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None if self.optional => Ok(None),
            None => Ok(Some(T::default())),
            Some(_) => Err(A::Error::invalid_type(de::Unexpected::Seq, &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
        if v.is_empty() && self.optional { Ok(None) } else { Err(E::invalid_type(de::Unexpected::Str(v), &self)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Default, Debug, PartialEq)]
    struct Row {
        id: Option<i64>,
        open: Option<bool>,
        child: Option<Box<Row>>,
    }

    impl Fields for Row {
        const NAME: &'static str = "Row";
        fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
            match key {
                "ID" => self.id = value(map, key)?,
                "OPEN" => self.open = value(map, key)?,
                "CHILD" => self.child = value(map, key)?,
                _ => skip(map)?,
            }
            Ok(())
        }
    }

    fn row(v: Value) -> Result<Row, serde_json::Error> {
        deserialize(v)
    }

    #[test]
    fn lenient_fields_nesting_and_php_habits() {
        let r = row(json!({"ID": "5", "OPEN": "Y", "UF_CRM_1": [1], "CHILD": {"ID": 6}}));
        let want = Row { id: Some(5), open: Some(true), child: Some(Box::new(Row { id: Some(6), ..Row::default() })) };
        assert_eq!(r.ok(), Some(want));
        assert_eq!(row(json!([])).ok(), Some(Row::default()), "PHP's empty map");
        assert_eq!(row(json!({"CHILD": []})).ok(), Some(Row::default()));
        assert_eq!(row(json!({"CHILD": ""})).ok(), Some(Row::default()));
        let e = row(json!({"ID": "five"})).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("field \"ID\""), "{e}");
        assert!(row(json!(null)).is_err());
        assert!(row(json!([1])).is_err());
    }
}
