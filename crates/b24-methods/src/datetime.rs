//! [`Date`] and [`DateTime`]: the calendar values Bitrix24 writes, parsed without a time library.
//!
//! The portal writes ISO 8601 with an offset (`2025-01-31T10:00:00+03:00`), sometimes without one,
//! sometimes only a date (`2025-01-31`), and legacy pages the Russian order (`31.01.2025 10:00:00`).
//! Both types keep what was sent (the offset too) and print ISO 8601 again.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that is not a date or a date-time the portal writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    text: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.text.chars().take(40).collect();
        write!(f, "{shown:?} is not a date or date-time (expected ISO 8601 such as 2025-01-31T10:00:00+03:00)")
    }
}

impl std::error::Error for ParseError {}

/// A calendar date.
///
/// ```
/// use b24_methods::Date;
/// let d: Date = "2025-01-31".parse().unwrap();
/// assert_eq!((d.year(), d.month(), d.day()), (2025, 1, 31));
/// assert_eq!("31.01.2025".parse::<Date>().unwrap(), d);
/// assert_eq!(d.to_string(), "2025-01-31");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// A date and time of day, with the UTC offset the portal sent (if it sent one).
///
/// ```
/// use b24_methods::DateTime;
/// let t: DateTime = "2025-01-31T10:00:00+03:00".parse().unwrap();
/// assert_eq!(t.offset_seconds(), Some(3 * 3600));
/// assert_eq!(t.unix_timestamp(), Some(1_738_306_800));
/// assert_eq!(t.to_string(), "2025-01-31T10:00:00+03:00");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
    offset: Option<i32>,
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Date {
    /// A date from its parts, if it exists on the calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn parse_text(text: &str) -> Option<Date> {
        let iso: Vec<&str> = text.split('-').collect();
        if let [y, m, d] = iso.as_slice() {
            if y.len() == 4 {
                return Date::new(digits(y)? as i32, digits(m)? as u8, digits(d)? as u8);
            }
        }
        let dotted: Vec<&str> = text.split('.').collect();
        if let [d, m, y] = dotted.as_slice() {
            if y.len() == 4 && d.len() <= 2 && m.len() <= 2 {
                return Date::new(digits(y)? as i32, digits(m)? as u8, digits(d)? as u8);
            }
        }
        None
    }
}

impl DateTime {
    /// Parse what the portal writes: `2025-01-31T10:00:00+03:00`, `...Z`, `...+0300`, a space
    /// for the `T`, fractions of a second, no seconds, no offset, a bare date (midnight) or
    /// `31.01.2025 10:00:00`.
    pub fn parse(text: &str) -> Result<DateTime, ParseError> {
        DateTime::parse_text(text.trim()).ok_or_else(|| ParseError { text: text.to_owned() })
    }

    fn parse_text(text: &str) -> Option<DateTime> {
        let (date_part, rest) = match text.find(['T', 't', ' ']) {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let date = Date::parse_text(date_part)?;
        let Some(rest) = rest else {
            return Some(DateTime { date, hour: 0, minute: 0, second: 0, nanos: 0, offset: None });
        };
        let (clock, offset) = split_offset(rest.trim())?;
        let (clock, fraction) = match clock.split_once(['.', ',']) {
            Some((c, f)) => (c, Some(f)),
            None => (clock, None),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        let (hour, minute, second) = match parts.as_slice() {
            [h, m] => (digits(h)?, digits(m)?, 0),
            [h, m, s] => (digits(h)?, digits(m)?, digits(s)?),
            _ => return None,
        };
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let nanos = match fraction {
            Some(f) if !f.is_empty() && f.len() <= 9 => digits(f)? * 10u32.pow(9 - f.len() as u32),
            Some(_) => return None,
            None => 0,
        };
        Some(DateTime { date, hour: hour as u8, minute: minute as u8, second: second as u8, nanos, offset })
    }

    /// The date part.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Hour, minute and second.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// Nanoseconds past the second.
    pub fn nanosecond(&self) -> u32 {
        self.nanos
    }

    /// The UTC offset in seconds (`+03:00` is 10800), `None` when the portal sent none.
    pub fn offset_seconds(&self) -> Option<i32> {
        self.offset
    }

    /// Seconds since 1970-01-01 UTC; `None` without an offset (the instant is then unknown).
    pub fn unix_timestamp(&self) -> Option<i64> {
        let local = self.date.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        self.offset.map(|o| local - i64::from(o))
    }
}

/// `10:00:00+03:00` → (`10:00:00`, Some(10800)); `Z` is 0; no sign → no offset.
fn split_offset(text: &str) -> Option<(&str, Option<i32>)> {
    if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        return Some((clock, Some(0)));
    }
    let Some(i) = text.rfind(['+', '-']) else { return Some((text, None)) };
    let (clock, offset) = (&text[..i], &text[i..]);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let body = &offset[1..];
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h, m),
        None if body.len() == 4 => (&body[..2], &body[2..]),
        None if body.len() == 2 => (body, "00"),
        None => return None,
    };
    let (h, m) = (digits(h)?, digits(m)?);
    if h > 23 || m > 59 {
        return None;
    }
    Some((clock.trim_end(), Some(sign * (h * 3600 + m * 60) as i32)))
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{:02}:{:02}:{:02}", self.date, self.hour, self.minute, self.second)?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        match self.offset {
            None => Ok(()),
            Some(o) => {
                let sign = if o < 0 { '-' } else { '+' };
                let o = o.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
            }
        }
    }
}

impl FromStr for Date {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Date, ParseError> {
        let text = text.trim();
        // A date-time whose clock is midnight is accepted as a date (the portal writes both).
        Date::parse_text(text)
            .or_else(|| DateTime::parse_text(text).map(|t| t.date))
            .ok_or_else(|| ParseError { text: text.to_owned() })
    }
}

impl FromStr for DateTime {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<DateTime, ParseError> {
        DateTime::parse(text)
    }
}

macro_rules! serde_as_text {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(Date);
serde_as_text!(DateTime);

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime {
        DateTime::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_forms_the_portal_writes() {
        assert_eq!(t("2025-01-31T10:00:00+03:00").to_string(), "2025-01-31T10:00:00+03:00");
        assert_eq!(t("2025-01-31T10:00:00Z").offset_seconds(), Some(0));
        assert_eq!(t("2025-01-31T10:00:00-0530").offset_seconds(), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(t("2025-01-31 10:00").time(), (10, 0, 0));
        assert_eq!(t("2025-01-31T10:00:00.250+00:00").nanosecond(), 250_000_000);
        assert_eq!(t("2025-01-31T10:00:00.250+00:00").to_string(), "2025-01-31T10:00:00.25+00:00");
        assert_eq!(t("31.01.2025 10:00:00").to_string(), "2025-01-31T10:00:00");
        assert_eq!(t("2025-01-31").time(), (0, 0, 0));
        assert_eq!(t("2025-01-31").offset_seconds(), None);
    }

    #[test]
    fn instants() {
        assert_eq!(t("1970-01-01T00:00:00Z").unix_timestamp(), Some(0));
        assert_eq!(t("1970-01-01T03:00:00+03:00").unix_timestamp(), Some(0));
        assert_eq!(t("2000-03-01T00:00:00Z").unix_timestamp(), Some(951_868_800));
        assert_eq!(t("1969-12-31T23:59:59Z").unix_timestamp(), Some(-1));
        assert_eq!(t("2025-01-31T10:00:00").unix_timestamp(), None);
    }

    #[test]
    fn refusals() {
        for bad in ["", "yesterday", "2025-13-01", "2025-02-29", "2025-01-31T25:00", "2025-01-31T10:00+3", "1.2.25"] {
            assert!(DateTime::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!("2025-01-31T00:00:00+03:00".parse::<Date>().is_ok());
        let e = DateTime::parse("soon").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("\"soon\" is not a date"), "{e}");
    }

    #[test]
    fn serde_round_trip() {
        let v: DateTime = serde_json::from_str("\"2025-01-31T10:00:00+03:00\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serde_json::to_string(&v).unwrap_or_default(), "\"2025-01-31T10:00:00+03:00\"");
        assert!(serde_json::from_str::<Date>("\"no\"").is_err());
    }
}
