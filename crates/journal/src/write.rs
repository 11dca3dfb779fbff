//! Writing JSON text the way the reference's `json.dump(indent=2, ensure_ascii=False)`
//! does: serde_json's pretty printer already matches it byte for byte, except for floats,
//! which Python writes with `repr()`: `5.3e-05` where serde_json writes `0.000053`.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io;

/// A formatter that writes floats like Python's `repr(float)` and everything else like `F`.
struct PythonFloats<F>(F);

/// The reference's indentation: 2 spaces.
pub(crate) fn pretty() -> PrettyFormatter<'static> {
    PrettyFormatter::with_indent(b"  ")
}

pub(crate) fn compact() -> CompactFormatter {
    CompactFormatter
}

pub(crate) fn to_writer<W: io::Write, F: Formatter, T: Serialize + ?Sized>(
    writer: W,
    formatter: F,
    value: &T,
) -> Result<(), serde_json::Error> {
    let mut ser = serde_json::Serializer::with_formatter(writer, PythonFloats(formatter));
    value.serialize(&mut ser)
}

pub(crate) fn to_string<F: Formatter, T: Serialize + ?Sized>(
    formatter: F,
    value: &T,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(4096);
    to_writer(&mut out, formatter, value)?;
    // serde_json writes UTF-8 only: this never fails, but no panic if it did
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Python's `repr()` of a finite float: the shortest digits that read back as the same
/// float, in fixed notation when the decimal exponent is in `-4..16` (with `.0` for
/// integral values), else in scientific notation with a signed exponent of at least two
/// digits (`1e-05`, `1.5e+16`).
pub fn python_float_repr(x: f64) -> String {
    if !x.is_finite() {
        // never reached through serde_json, which writes `null` for these
        return if x.is_nan() {
            "NaN"
        } else if x > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip: `-1.2345e-5`, `1e16`.
    // When two such strings are equally short, Python takes the one nearest to the exact
    // value (ties to even): formatting with that many digits, correctly rounded, gives
    // it; keep it when it round-trips (it may not, next to a power of two).
    let shortest = format!("{x:e}");
    let n = shortest
        .split_once('e')
        .map_or(shortest.as_str(), |(m, _)| m)
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    let nearest = format!("{x:.*e}", n.saturating_sub(1));
    let sci = if nearest.parse::<f64>().ok() == Some(x) {
        nearest
    } else {
        shortest
    };
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    // value = 0.DIGITS × 10^decpt
    let decpt = exp + 1;
    let body = if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            format!("0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt >= n {
            format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let m = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{esign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

impl<F: Formatter> Formatter for PythonFloats<F> {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python_repr() {
        // (value, Python's repr) — checked against CPython 3.11 (and, once, 199 955 random
        // floats: random bit patterns, microsecond durations, random magnitudes)
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.5, "0.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1e-5, "1e-05"),
            (1.2e-5, "1.2e-05"),
            (5.3e-5, "5.3e-05"),
            (5e-6, "5e-06"),
            (-3.9e-5, "-3.9e-05"),
            (1e-100, "1e-100"),
            (0.24099159240722656, "0.24099159240722656"),
            (0.012345, "0.012345"),
            (0.003917694091796875, "0.003917694091796875"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1e21, "1e+21"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (1_795_653_414.198_563, "1795653414.198563"),
        ];
        // equally short candidates: Python takes the nearest (Rust's `{:e}` the other)
        let ties: &[(u64, &str)] = &[
            (4835876022465145917, "2004305480993551.2"),
            (4830545725493890762, "898815572511193.2"),
            (4828487782250417858, "641572667077080.2"),
        ];
        let ties: Vec<(f64, &str)> = ties.iter().map(|&(b, s)| (f64::from_bits(b), s)).collect();
        for &(x, py) in cases.iter().chain(&ties) {
            assert_eq!(python_float_repr(x), py, "{x:e}");
            assert_eq!(python_float_repr(x).parse::<f64>().ok(), Some(x));
        }
        assert_eq!(python_float_repr(f64::NAN), "NaN");
        assert_eq!(python_float_repr(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn integers_are_not_floats() {
        let v = serde_json::json!({"a": 3, "b": 3.0, "c": -7, "d": 5.3e-05, "e": [1e16]});
        let text = to_string(compact(), &v).unwrap();
        assert_eq!(text, r#"{"a":3,"b":3.0,"c":-7,"d":5.3e-05,"e":[1e+16]}"#);
        let pretty = to_string(pretty(), &serde_json::json!({"a": [], "b": {}, "c": [1]})).unwrap();
        assert_eq!(
            pretty,
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1\n  ]\n}"
        );
    }
}
