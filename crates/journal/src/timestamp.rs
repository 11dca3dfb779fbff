//! Timestamps: kept as the text the journal holds, parsed on demand.

use crate::JournalError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A journal timestamp (`start`, `end`), kept exactly as written.
///
/// The reference writes Python's `datetime.isoformat()` of a UTC time:
/// `2026-11-26T00:36:54.198563+00:00`, without the `.ffffff` part when the microseconds
/// are exactly zero, and (before chaostoolkit-lib 1.43.1) without the `+00:00` offset.
/// The text is never rewritten; [`Timestamp::unix_seconds`] parses it when a report needs
/// a number, and fails (it never panics) on text that is not such a timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(String);

impl Timestamp {
    /// A timestamp with this exact text (not checked; see [`Timestamp::unix_seconds`]).
    pub fn new(text: impl Into<String>) -> Self {
        Timestamp(text.into())
    }

    /// The text, as in the journal.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, consuming the timestamp.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The instant `micros` microseconds after the Unix epoch, written like Python's
    /// `datetime.now(timezone.utc).isoformat()` (the form chaostoolkit-lib 1.44 writes).
    pub fn from_unix_micros(micros: i64) -> Self {
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let fraction = if frac == 0 {
            String::new()
        } else {
            format!(".{frac:06}")
        };
        Timestamp(format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{fraction}+00:00",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        ))
    }

    /// Seconds since the Unix epoch (fractional), for durations and charts in reports.
    ///
    /// Accepts `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits, and an
    /// optional offset `+HH:MM`, `-HH:MM`, `+HH:MM:SS` or `Z`; without an offset the time
    /// is taken as UTC (what the reference meant before it wrote offsets). A space is
    /// accepted instead of the `T`.
    pub fn unix_seconds(&self) -> Result<f64, JournalError> {
        parse(&self.0).map(|p| p.secs as f64 + f64::from(p.nanos) / 1e9)
    }

    /// Microseconds since the Unix epoch (exact; a finer fraction is truncated).
    pub fn unix_micros(&self) -> Result<i64, JournalError> {
        parse(&self.0).map(|p| p.secs * 1_000_000 + i64::from(p.nanos / 1_000))
    }
}

/// Seconds since the Unix epoch of a timestamp in the journal's shape; see
/// [`Timestamp::unix_seconds`].
pub fn parse_timestamp(text: &str) -> Result<f64, JournalError> {
    Timestamp::new(text).unix_seconds()
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Timestamp {
    fn from(s: String) -> Self {
        Timestamp(s)
    }
}

impl From<&str> for Timestamp {
    fn from(s: &str) -> Self {
        Timestamp(s.to_string())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Timestamp)
    }
}

struct Parsed {
    secs: i64,
    nanos: u32,
}

const SHAPE: &str = "expected YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]";

fn parse(text: &str) -> Result<Parsed, JournalError> {
    let err = |reason: &'static str| JournalError::Timestamp {
        value: text.to_string(),
        reason,
    };
    let b = text.as_bytes();
    let mut cur = Cursor { b, pos: 0 };
    let year = cur.digits(4).ok_or_else(|| err(SHAPE))?;
    cur.eat(b'-').ok_or_else(|| err(SHAPE))?;
    let month = cur.digits(2).ok_or_else(|| err(SHAPE))?;
    cur.eat(b'-').ok_or_else(|| err(SHAPE))?;
    let day = cur.digits(2).ok_or_else(|| err(SHAPE))?;
    if !(cur.eat(b'T').is_some() || cur.eat(b' ').is_some()) {
        return Err(err(SHAPE));
    }
    let hour = cur.digits(2).ok_or_else(|| err(SHAPE))?;
    cur.eat(b':').ok_or_else(|| err(SHAPE))?;
    let minute = cur.digits(2).ok_or_else(|| err(SHAPE))?;
    cur.eat(b':').ok_or_else(|| err(SHAPE))?;
    let second = cur.digits(2).ok_or_else(|| err(SHAPE))?;
    let mut nanos: u32 = 0;
    if cur.eat(b'.').is_some() {
        let start = cur.pos;
        while cur.pos < b.len() && b[cur.pos].is_ascii_digit() {
            cur.pos += 1;
        }
        let n = cur.pos - start;
        if n == 0 || n > 9 {
            return Err(err("the fraction of a second must have 1 to 9 digits"));
        }
        for (i, &c) in b[start..cur.pos].iter().enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
    }
    let offset: i64 = match b.get(cur.pos) {
        None => 0,
        Some(b'Z') => {
            cur.pos += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            cur.pos += 1;
            let oh = cur.digits(2).ok_or_else(|| err("malformed UTC offset"))?;
            cur.eat(b':').ok_or_else(|| err("malformed UTC offset"))?;
            let om = cur.digits(2).ok_or_else(|| err("malformed UTC offset"))?;
            let os = if cur.eat(b':').is_some() {
                cur.digits(2).ok_or_else(|| err("malformed UTC offset"))?
            } else {
                0
            };
            if oh > 23 || om > 59 || os > 59 {
                return Err(err("UTC offset out of range"));
            }
            let o = i64::from(oh * 3600 + om * 60 + os);
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        Some(_) => return Err(err(SHAPE)),
    };
    if cur.pos != b.len() {
        return Err(err("unexpected text after the timestamp"));
    }
    if year == 0 {
        return Err(err("year out of range"));
    }
    if !(1..=12).contains(&month) {
        return Err(err("month out of range"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(err("day out of range for the month"));
    }
    if hour > 23 {
        return Err(err("hour out of range"));
    }
    if minute > 59 {
        return Err(err("minute out of range"));
    }
    if second > 59 {
        return Err(err("second out of range"));
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Ok(Parsed { secs, nanos })
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.pos..self.pos + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(s.iter().fold(0, |acc, &c| acc * 10 + u32::from(c - b'0')))
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        if self.b.get(self.pos) == Some(&c) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }
}

fn is_leap(y: u32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> f64 {
        match parse_timestamp(s) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn python_isoformat_with_microseconds_and_offset() {
        let t = secs("2026-11-26T00:36:54.198563+00:00");
        assert!((t - 1_795_653_414.198_563).abs() < 1e-6, "{t}");
        assert_eq!(
            Timestamp::new("2026-11-26T00:36:54.198563+00:00")
                .unix_micros()
                .ok(),
            Some(1_795_653_414_198_563)
        );
    }

    #[test]
    fn no_microseconds_form() {
        assert_eq!(secs("2000-02-29T00:00:00+00:00"), 951_782_400.0);
        assert_eq!(secs("1970-01-01T00:00:00+00:00"), 0.0);
    }

    #[test]
    fn naive_form_of_older_libs_is_utc() {
        assert_eq!(
            secs("2026-11-26T00:36:54.198563"),
            secs("2026-11-26T00:36:54.198563+00:00")
        );
        assert_eq!(secs("2000-02-29 00:00:00"), 951_782_400.0);
        assert_eq!(secs("2000-02-29T00:00:00Z"), 951_782_400.0);
    }

    #[test]
    fn offsets_are_applied() {
        assert_eq!(secs("2000-02-29T02:30:00+02:30"), 951_782_400.0);
        assert_eq!(secs("2000-02-28T22:00:00-02:00"), 951_782_400.0);
        assert_eq!(secs("2000-02-29T00:00:10+00:00:10"), 951_782_400.0);
    }

    #[test]
    fn short_fractions() {
        assert_eq!(secs("1970-01-01T00:00:00.5+00:00"), 0.5);
        assert_eq!(secs("1970-01-01T00:00:01.123456789"), 1.123_456_789);
    }

    #[test]
    fn malformed_timestamps_are_errors() {
        for bad in [
            "",
            "<timestamp>",
            "2026-11-26",
            "2026-11-26T00:36",
            "2026-13-01T00:00:00",
            "2026-02-29T00:00:00",
            "2026-11-31T00:00:00",
            "2026-11-26T24:00:00",
            "2026-11-26T00:60:00",
            "2026-11-26T00:00:60",
            "0000-01-01T00:00:00",
            "2026-11-26T00:36:54.+00:00",
            "2026-11-26T00:36:54.1234567890",
            "2026-11-26T00:36:54+0000",
            "2026-11-26T00:36:54+24:00",
            "2026-11-26T00:36:54+00:00 ",
            "2026-11-26T00:36:54+00:00x",
            "2026-1-26T00:36:54",
            "２０２６-11-26T00:36:54",
            "2026-11-26T00:36:5é",
            "-026-11-26T00:36:54",
        ] {
            let e = match parse_timestamp(bad) {
                Ok(v) => panic!("{bad:?} parsed as {v}"),
                Err(e) => e,
            };
            let msg = e.to_string();
            assert!(msg.starts_with("malformed timestamp `"), "{msg}");
        }
    }

    #[test]
    fn formats_like_python_isoformat() {
        let t = Timestamp::from_unix_micros(1_795_653_414_198_563);
        assert_eq!(t.as_str(), "2026-11-26T00:36:54.198563+00:00");
        assert_eq!(
            Timestamp::from_unix_micros(951_782_400_000_000).as_str(),
            "2000-02-29T00:00:00+00:00"
        );
        assert_eq!(
            Timestamp::from_unix_micros(1_000).as_str(),
            "1970-01-01T00:00:00.001000+00:00"
        );
        assert_eq!(
            Timestamp::from_unix_micros(-1).as_str(),
            "1969-12-31T23:59:59.999999+00:00"
        );
    }

    #[test]
    fn format_and_parse_agree() {
        let mut micros: i64 = -86_400_000_000 * 400;
        while micros < 253_402_300_799_000_000 {
            let t = Timestamp::from_unix_micros(micros);
            assert_eq!(t.unix_micros().ok(), Some(micros), "{t}");
            micros += 7_919_999_999_937;
        }
    }
}
