//! [`B24Response`]: a parsed success envelope, with the result kept as raw JSON so that it is
//! deserialized once, straight into the caller's type.

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use b24_errors::{ApiVersion, Code, Error};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::request::RequestId;

/// The `time` block of an envelope. Every field is optional; numbers may be ints or floats.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Time {
    /// Unix seconds when the portal started the call.
    #[serde(default, deserialize_with = "number")]
    pub start: Option<f64>,
    /// Unix seconds when it finished.
    #[serde(default, deserialize_with = "number")]
    pub finish: Option<f64>,
    /// `finish - start`.
    #[serde(default, deserialize_with = "number")]
    pub duration: Option<f64>,
    /// Time inside the method handler.
    #[serde(default, deserialize_with = "number")]
    pub processing: Option<f64>,
    /// ISO 8601 start.
    #[serde(default)]
    pub date_start: Option<String>,
    /// ISO 8601 finish.
    #[serde(default)]
    pub date_finish: Option<String>,
    /// Seconds this method has used of its operating-time budget in the last 10 minutes.
    #[serde(default, deserialize_with = "number")]
    pub operating: Option<f64>,
    /// Unix seconds when the oldest one-minute basket drops out.
    #[serde(default, deserialize_with = "number")]
    pub operating_reset_at: Option<f64>,
}

/// An int, a float, a numeric string, or null — read without building a `Value`.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(NumberVisitor)
}

struct NumberVisitor;

impl<'de> serde::de::Visitor<'de> for NumberVisitor {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse().ok())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(NumberVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A non-negative count (`next`, `total`) in any of the number shapes.
pub(crate) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(d.deserialize_any(NumberVisitor)?.filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct B24Response {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) result: Range<usize>,
    pub(crate) next: Option<u64>,
    pub(crate) total: Option<u64>,
    /// Where the `time` block is in `body`; it is read on first use (most callers never ask).
    pub(crate) time_at: Option<Range<usize>>,
    pub(crate) time: OnceLock<Option<Time>>,
    pub(crate) api: ApiVersion,
    pub(crate) method: Arc<str>,
    pub(crate) request_id: RequestId,
    /// From sending the request to having the whole answer (this attempt only).
    pub(crate) round_trip: Option<Duration>,
    /// Earlier attempts of this call refused for load or cut off by the attempt timeout.
    pub(crate) load_refusals: u32,
}

impl B24Response {
    /// The HTTP status (200).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The raw JSON of `result`.
    pub fn result_raw(&self) -> &str {
        std::str::from_utf8(self.body.get(self.result.clone()).unwrap_or_default()).unwrap_or("null")
    }

    /// The raw JSON of `result` as bytes.
    pub fn result_bytes(&self) -> &[u8] {
        self.body.get(self.result.clone()).unwrap_or_default()
    }

    /// Deserialize `result` into `T`. A mismatch is `JSSDK_RESPONSE_UNEXPECTED_SHAPE`, and the
    /// message names the JSON path.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        // The fast path has no path tracking; only a failure is parsed again to say where.
        if let Ok(value) = serde_json::from_slice(self.result_bytes()) {
            return Ok(value);
        }
        let mut de = serde_json::Deserializer::from_slice(self.result_bytes());
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let mut path = e.path().to_string();
            if path.len() > 120 {
                let cut = (0..=120).rev().find(|i| path.is_char_boundary(*i)).unwrap_or(0);
                path.truncate(cut);
                path.push('…');
            }
            Error::sdk_caused(
                Code::JssdkResponseUnexpectedShape,
                format!("the result of {} does not fit the requested type at `{path}`", self.method),
                e.into_inner(),
            )
        })
    }

    /// `result` as a `serde_json::Value`.
    pub fn value(&self) -> Result<Value, Error> {
        self.json()
    }

    /// `next`: the offset of the next page (v2 lists).
    pub fn next(&self) -> Option<u64> {
        self.next
    }

    /// `total`: the size of the filtered set (v2 lists).
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The `time` block (`None` when the answer has none, or one that is not an object).
    pub fn time(&self) -> Option<&Time> {
        self.time
            .get_or_init(|| {
                let raw = self.body.get(self.time_at.clone()?)?;
                serde_json::from_slice(raw).ok()
            })
            .as_ref()
    }

    /// The API version it came from.
    pub fn api(&self) -> ApiVersion {
        self.api
    }

    /// The method called.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request id.
    pub fn request_id(&self) -> &str {
        self.request_id.as_str()
    }

    /// The whole body as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// How long the attempt that brought this answer took on the wire, from sending the request
    /// to having the whole answer: no limiter wait and no earlier attempt is in it. Set by the
    /// wire service (`None` for an answer made elsewhere, e.g. by a test layer).
    pub fn round_trip(&self) -> Option<Duration> {
        self.round_trip
    }

    /// How many earlier attempts of this call the portal refused for load
    /// (`QUERY_LIMIT_EXCEEDED`, `OVERLOAD_LIMIT`) or the attempt timeout cut off: a sign of a
    /// busy portal that adaptive concurrency backs off from. Set by the retry layer.
    pub fn load_refusals(&self) -> u32 {
        self.load_refusals
    }
}
