//! A log-linear latency histogram, HDR-style: exact below 256 µs, then 128 buckets per
//! power of two, so any recorded value is reported within 0.8 % (one bucket's width), in a
//! fixed 58 KiB whatever the number of requests.
//!
//! Why our own and not the `hdrhistogram` crate: the load generator needs to record,
//! merge and read percentiles, about 80 lines; the crate brings serialisation, compression
//! and its dependencies for features we do not use. Percentiles are reported as the
//! highest value of their bucket, as HdrHistogram's `value_at_percentile` (and so wrk)
//! report them, so the two can be compared directly.

/// Exact values below this; also the number of buckets per power of two above it, twice.
const EXACT: u64 = 256;
const SUB_BITS: u32 = 7; // 128 buckets per power of two from 256 up
const SUB: u64 = 1 << SUB_BITS;
/// Buckets: 256 exact ones, then 128 for each power of two from 2^8 to 2^63.
const BUCKETS: usize = EXACT as usize + (64 - 8) * SUB as usize;

/// Latencies in microseconds.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros(); // >= 8
    let shift = msb - SUB_BITS;
    let sub = (v >> shift) - SUB; // 0..128
    EXACT as usize + (msb as usize - 8) * SUB as usize + sub as usize
}

/// The highest value that lands in bucket `i`.
fn highest(i: usize) -> u64 {
    if i < EXACT as usize {
        return i as u64;
    }
    let k = i - EXACT as usize;
    let msb = (k / SUB as usize) as u32 + 8;
    let sub = (k % SUB as usize) as u64 + SUB;
    let shift = msb - SUB_BITS;
    let low = sub << shift;
    low.saturating_add((1u64 << shift) - 1)
}

impl Histogram {
    pub fn record(&mut self, micros: u64) {
        self.counts[index(micros)] += 1;
        self.total += 1;
        self.min = self.min.min(micros);
        self.max = self.max.max(micros);
        self.sum += u128::from(micros);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn min(&self) -> Option<u64> {
        (self.total > 0).then_some(self.min)
    }

    /// The exact largest value recorded.
    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    /// The value at or below which `percentile` % of the recorded values are (0 < p <= 100),
    /// as the highest value of its bucket, never above the largest value recorded.
    pub fn percentile(&self, percentile: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let wanted = ((percentile / 100.0) * self.total as f64).ceil() as u64;
        let wanted = wanted.clamp(1, self.total);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return Some(highest(i).min(self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 40) + 12345, u64::MAX]) {
            let i = index(v);
            assert!(i < BUCKETS, "{v} -> {i}");
            assert!(highest(i) >= v, "{v} above its bucket's top {}", highest(i));
            if v < 5000 {
                assert!(i >= last);
                last = i;
            }
            // Within one bucket's width: 0.8 %.
            assert!(
                (highest(i) - v) as f64 <= (v as f64 / 128.0).max(0.0) + 0.5,
                "{v}"
            );
        }
        assert_eq!(index(255), 255);
        assert_eq!(index(256), 256);
        assert_eq!(index(257), 256);
        assert_eq!(highest(256), 257);
    }

    #[test]
    fn percentiles_agree_with_the_sorted_values() {
        // A skewed set: many fast, a slow tail.
        let mut values: Vec<u64> = (0..10_000u64)
            .map(|i| 200 + (i * 7919) % 3000 + if i % 100 == 0 { 250_000 } else { 0 })
            .collect();
        let mut h = Histogram::default();
        for v in &values {
            h.record(*v);
        }
        values.sort_unstable();
        for p in [50.0, 90.0, 99.0, 99.9, 100.0] {
            let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
            let exact = values[rank.clamp(1, values.len()) - 1];
            let got = h.percentile(p).unwrap();
            assert!(got >= exact, "p{p}: {got} < {exact}");
            assert!(
                got as f64 <= exact as f64 * 1.008 + 1.0,
                "p{p}: {got} vs {exact}"
            );
        }
        assert_eq!(h.max(), values.last().copied());
        assert_eq!(h.min(), values.first().copied());
        assert_eq!(h.count(), 10_000);
    }

    #[test]
    fn merging_is_recording_both() {
        let (mut a, mut b, mut both) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in 0..1000u64 {
            let v = v * v;
            if v % 3 == 0 {
                a.record(v)
            } else {
                b.record(v)
            }
            both.record(v);
        }
        a.merge(&b);
        for p in [1.0, 50.0, 90.0, 99.0, 100.0] {
            assert_eq!(a.percentile(p), both.percentile(p));
        }
        assert_eq!(
            (a.count(), a.min(), a.max(), a.mean()),
            (both.count(), both.min(), both.max(), both.mean())
        );
        assert_eq!(Histogram::default().percentile(50.0), None);
    }
}
