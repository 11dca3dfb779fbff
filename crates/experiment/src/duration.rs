//! Seconds as the reference's Python waits for them: pauses, timeouts and the continuous
//! hypothesis's frequency.
//!
//! Python converts a wait to a signed 64-bit count of nanoseconds, so `time.sleep`,
//! `Event.wait`, `socket.settimeout` and `selectors` raise `OverflowError` beyond
//! [`MAX_SECONDS`] (about 292 years). The reference then aborts the run (rollbacks run, the
//! journal is written). Shakedown keeps that limit, so the same experiments end the same
//! way, and turns the overflow into an [`OutOfRange`] error that names the value and the
//! limit instead of a panic.

use std::time::Duration;

/// The longest wait the reference accepts: `i64::MAX` nanoseconds, in seconds.
pub const MAX_SECONDS: f64 = 9_223_372_036.854_775;

/// A number of seconds beyond [`MAX_SECONDS`] (or not a number at all).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{} seconds is out of range: a wait can last at most {} seconds (about 292 years)", crate::pyrepr::py_float(*secs), MAX_SECONDS as u64)]
pub struct OutOfRange {
    pub secs: f64,
}

/// `secs` (zero or more, finite) as a [`Duration`]; an error past [`MAX_SECONDS`] or for
/// NaN. Callers decide beforehand what a negative or absent value means.
pub fn from_secs(secs: f64) -> Result<Duration, OutOfRange> {
    if secs.is_nan() || secs > MAX_SECONDS {
        return Err(OutOfRange { secs });
    }
    Duration::try_from_secs_f64(secs.max(0.0)).map_err(|_| OutOfRange { secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_pythons() {
        assert_eq!(from_secs(1.5), Ok(Duration::from_millis(1500)));
        assert_eq!(from_secs(-3.0), Ok(Duration::ZERO));
        assert!(from_secs(9.2e9).is_ok());
        for bad in [9.3e9, 1e20, f64::INFINITY, f64::NAN, f64::MAX] {
            let e = from_secs(bad).unwrap_err();
            assert!(e.to_string().contains("at most 9223372036 seconds"), "{e}");
        }
        assert_eq!(
            from_secs(1e20).unwrap_err().to_string(),
            "1e+20 seconds is out of range: a wait can last at most 9223372036 seconds (about 292 years)"
        );
    }
}
