//! The dates `when`, `start` and `end` accept, and how they are sent to Prometheus.
//!
//! Upstream hands these strings to `dateparser` (a natural-language date parser with
//! dozens of languages) and formats the result with `maya`. Experiments use a handful of
//! forms, so a small parser covers them without a dependency:
//!
//! | form | examples | meaning |
//! |---|---|---|
//! | now | `now`, `today` | the current instant (`today` is "now" for dateparser too) |
//! | relative words | `yesterday`, `tomorrow` | now ± one day |
//! | past | `30 seconds ago`, `5 minutes ago`, `an hour ago`, `1.5 hours ago` | now minus the amount |
//! | bare amount | `1d`, `5m`, `10s`, `2w`, `15 minutes`, `-5m`, `now-5m` | the past too (dateparser reads a bare amount as "ago") |
//! | future | `in 5 minutes` | now plus the amount |
//! | absolute | `2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.123+02:00`, `2024-01-02 03:04`, `2024-01-02` | RFC 3339 / ISO 8601; no offset means UTC |
//! | epoch | `1700000000` | a Unix timestamp (9 digits or more, as dateparser needs) |
//!
//! Units: seconds (`s`, `sec`, `second`), minutes (`m`, `min`, `minute`), hours (`h`,
//! `hr`, `hour`), days (`d`, `day`), weeks (`w`, `week`), months (`month`) and years
//! (`y`, `year`), singular or plural; months and years move the calendar date (clamped to
//! the month's last day), as dateparser does. Anything else is `None`, which the probes
//! turn into upstream's `failed to parse '<text>'`.
//!
//! [`rfc3339`] writes what `maya`'s `rfc3339()` writes: UTC, a `Z`, and one digit of
//! fractional seconds, truncated (`2024-01-02T03:04:05.1Z`).

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// `text` as an instant, relative forms taken from `now`; `None` when not understood.
pub fn parse(text: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let lower = text.trim().to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        [] => None,
        ["now"] | ["today"] => Some(now),
        ["yesterday"] => now.checked_sub(Duration::DAY),
        ["tomorrow"] => now.checked_add(Duration::DAY),
        ["in", rest @ ..] => shift(now, &amount(rest)?, 1),
        [rest @ .., "ago"] => shift(now, &amount(rest)?, -1),
        [one] => {
            if let Some(t) = absolute(one).or_else(|| epoch(one)) {
                return Some(t);
            }
            let past = one
                .strip_prefix("now-")
                .or_else(|| one.strip_prefix('-'))
                .unwrap_or(one);
            shift(now, &amount(&[past])?, -1)
        }
        // `2024-01-02 03:04:05`
        [date, clock] if date.contains('-') && clock.contains(':') => {
            absolute(&format!("{date}T{clock}"))
        }
        rest => shift(now, &amount(rest)?, -1),
    }
}

/// An amount of some unit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Amount {
    count: f64,
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    fn of(word: &str) -> Option<Unit> {
        let singular = match word.strip_suffix('s') {
            Some(s) if s.len() > 1 => s,
            _ => word,
        };
        Some(match singular {
            "s" | "sec" | "second" => Unit::Second,
            "m" | "min" | "minute" => Unit::Minute,
            "h" | "hr" | "hour" => Unit::Hour,
            "d" | "day" => Unit::Day,
            "w" | "wk" | "week" => Unit::Week,
            "mo" | "month" => Unit::Month,
            "y" | "yr" | "year" => Unit::Year,
            _ => return None,
        })
    }

    fn seconds(self) -> Option<f64> {
        Some(match self {
            Unit::Second => 1.0,
            Unit::Minute => 60.0,
            Unit::Hour => 3600.0,
            Unit::Day => 86_400.0,
            Unit::Week => 604_800.0,
            Unit::Month | Unit::Year => return None,
        })
    }
}

/// `5 minutes`, `5m`, `5 m`, `an hour`, `1.5 hours`.
fn amount(words: &[&str]) -> Option<Amount> {
    let (count, unit) = match words {
        [one] => {
            let split = one.find(|c: char| c.is_ascii_alphabetic())?;
            let (count, unit) = one.split_at(split);
            (number(count)?, Unit::of(unit)?)
        }
        ["a" | "an", unit] => (1.0, Unit::of(unit)?),
        [count, unit] => (number(count)?, Unit::of(unit)?),
        _ => return None,
    };
    Some(Amount { count, unit })
}

fn number(text: &str) -> Option<f64> {
    let digits = text.chars().all(|c| c.is_ascii_digit() || c == '.');
    let n: f64 = text.parse().ok().filter(|_| digits && !text.is_empty())?;
    n.is_finite().then_some(n)
}

/// `now` moved by `amount` in `direction` (+1 or -1).
fn shift(now: OffsetDateTime, amount: &Amount, direction: i32) -> Option<OffsetDateTime> {
    if let Some(unit) = amount.unit.seconds() {
        let seconds = amount.count * unit * f64::from(direction);
        let delta = Duration::checked_seconds_f64(seconds)?;
        return now.checked_add(delta);
    }
    // Months and years move the calendar; a fraction of one is not a date dateparser makes.
    if amount.count.fract() != 0.0 || amount.count > 100_000.0 {
        return None;
    }
    let months = amount.count as i32
        * match amount.unit {
            Unit::Year => 12,
            _ => 1,
        }
        * direction;
    let date = now.date();
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(now.replace_date(date))
}

/// RFC 3339 / ISO 8601: `YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|±HH[:]MM]`; no offset is UTC.
fn absolute(text: &str) -> Option<OffsetDateTime> {
    let text = text.to_ascii_uppercase();
    let (date, rest) = match text.split_once('T') {
        Some((d, r)) => (d, Some(r)),
        None => (text.as_str(), None),
    };
    let mut parts = date.split('-');
    let year: i32 = digits(parts.next()?, 4)?;
    let month: u8 = digits(parts.next()?, 2)?;
    let day: u8 = digits(parts.next()?, 2)?;
    if parts.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let Some(rest) = rest else {
        return Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc());
    };
    let (clock, offset) = match rest.find(['Z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let offset = match offset {
        "" | "Z" => UtcOffset::UTC,
        signed => {
            let sign: i8 = if signed.starts_with('-') { -1 } else { 1 };
            let hm = signed[1..].replace(':', "");
            if hm.len() != 4 {
                return None;
            }
            let hours: i8 = digits(&hm[..2], 2)?;
            let minutes: i8 = digits(&hm[2..], 2)?;
            UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let mut fields = hms.split(':');
    let hour: u8 = digits(fields.next()?, 2)?;
    let minute: u8 = digits(fields.next()?, 2)?;
    let second: u8 = match fields.next() {
        Some(s) => digits(s, 2)?,
        None => 0,
    };
    if fields.next().is_some() {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.chars().all(|c| c.is_ascii_digit()) => {
            format!("{f:0<9}").parse().ok()?
        }
        Some(_) => return None,
    };
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn digits<T: std::str::FromStr>(text: &str, len: usize) -> Option<T> {
    (text.len() == len && text.chars().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// A Unix timestamp, as dateparser reads a long run of digits.
fn epoch(text: &str) -> Option<OffsetDateTime> {
    if text.len() < 9 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(text.parse().ok()?).ok()
}

/// What `maya.MayaDT.rfc3339()` writes: UTC, one truncated digit of fractional seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 07:33:57.345678 UTC);

    fn at(text: &str) -> Option<String> {
        parse(text, NOW).map(rfc3339)
    }

    #[test]
    fn the_forms_experiments_use_match_dateparser_and_maya() {
        // Expected values are what dateparser 1.5.0 + maya 0.6.1 (the reference venv)
        // print for the same texts at the same instant.
        let cases = [
            ("now", "2026-12-02T07:33:57.3Z"),
            ("today", "2026-12-02T07:33:57.3Z"),
            ("30 seconds ago", "2026-12-02T07:33:27.3Z"),
            ("5 minutes ago", "2026-12-02T07:28:57.3Z"),
            ("2 hours ago", "2026-12-02T05:33:57.3Z"),
            ("1 week ago", "2026-11-25T07:33:57.3Z"),
            ("3 days ago", "2026-11-29T07:33:57.3Z"),
            ("1d", "2026-12-01T07:33:57.3Z"),
            ("yesterday", "2026-12-01T07:33:57.3Z"),
            ("tomorrow", "2026-12-03T07:33:57.3Z"),
            ("in 5 minutes", "2026-12-02T07:38:57.3Z"),
            ("5m", "2026-12-02T07:28:57.3Z"),
            ("1h", "2026-12-02T06:33:57.3Z"),
            ("10s", "2026-12-02T07:33:47.3Z"),
            ("2w", "2026-11-18T07:33:57.3Z"),
            ("15 minutes", "2026-12-02T07:18:57.3Z"),
            ("an hour ago", "2026-12-02T06:33:57.3Z"),
            ("a minute ago", "2026-12-02T07:32:57.3Z"),
            ("5 min ago", "2026-12-02T07:28:57.3Z"),
            ("5 mins ago", "2026-12-02T07:28:57.3Z"),
            ("30 sec ago", "2026-12-02T07:33:27.3Z"),
            ("1.5 hours ago", "2026-12-02T06:03:57.3Z"),
            ("-5m", "2026-12-02T07:28:57.3Z"),
            ("now-5m", "2026-12-02T07:28:57.3Z"),
            ("1 month ago", "2026-11-02T07:33:57.3Z"),
            ("1 year ago", "2025-12-02T07:33:57.3Z"),
            ("  Now ", "2026-12-02T07:33:57.3Z"),
            ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.0Z"),
            ("2024-01-02T03:04:05+02:00", "2024-01-02T01:04:05.0Z"),
            ("2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05.1Z"),
            (
                "2024-01-02t03:04:05.987654321-0130",
                "2024-01-02T04:34:05.9Z",
            ),
            ("2024-01-02", "2024-01-02T00:00:00.0Z"),
            ("2024-01-02 03:04", "2024-01-02T03:04:00.0Z"),
            ("1700000000", "2023-11-14T22:13:20.0Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(at(text).as_deref(), Some(expected), "{text:?}");
        }
    }

    #[test]
    fn months_clamp_to_the_last_day_of_the_month() {
        let march = datetime!(2024-03-31 12:00 UTC);
        assert_eq!(
            parse("1 month ago", march).map(rfc3339).as_deref(),
            Some("2024-02-29T12:00:00.0Z")
        );
        assert_eq!(
            parse("13 months ago", march).map(rfc3339).as_deref(),
            Some("2023-02-28T12:00:00.0Z")
        );
        assert_eq!(
            parse("in 1 year", march).map(rfc3339).as_deref(),
            Some("2025-03-31T12:00:00.0Z")
        );
    }

    #[test]
    fn anything_else_is_not_understood() {
        for text in [
            "",
            "not a date at all",
            "5 parsecs ago",
            "ago",
            "five minutes ago",
            "1.5 months ago",
            "2024-13-01",
            "2024-02-30",
            "2024-01-02T25:00:00Z",
            "2024-01-02T03:04:05+2",
            "2024-01-02T03:04:05.Z",
            "1e3 seconds ago",
            "12345",
            "--5m",
            "5",
            "9999999999999999999999 days ago",
        ] {
            assert_eq!(at(text), None, "{text:?}");
        }
    }
}
