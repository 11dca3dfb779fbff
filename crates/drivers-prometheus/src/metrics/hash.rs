//! chaoslib's `experiment_hash`: BLAKE2b with a 12-byte digest of the experiment's
//! canonical JSON (`json.dumps(sort_keys=True)`), the default `experiment_ref` and hence
//! the default grouping key of the pushed metrics. The same experiment then groups under
//! the same key whichever toolkit ran it. BLAKE2b is written out here (RFC 7693, some
//! sixty lines) rather than pulled in as a crate for one call per run.

use experiment::pyjson::{dumps, Style};
use experiment::Value;

/// `chaoslib.experiment_hash(experiment)`: 24 hex digits.
pub fn experiment_hash(experiment: &Value) -> String {
    let digest = blake2b(12, canonical_json(experiment).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `json.dumps(v, sort_keys=True)`, what chaoslib hashes.
pub fn canonical_json(value: &Value) -> String {
    dumps(value, Style::PYTHON.sorted())
}

const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// Unkeyed BLAKE2b with an `out_len`-byte digest (1 to 64).
pub fn blake2b(out_len: usize, data: &[u8]) -> Vec<u8> {
    let mut h = IV;
    h[0] ^= 0x0101_0000 ^ out_len as u64;
    if data.is_empty() {
        compress(&mut h, &[0; 128], 0, true);
    }
    let mut counter: u128 = 0;
    let mut chunks = data.chunks(128).peekable();
    while let Some(chunk) = chunks.next() {
        counter += chunk.len() as u128;
        let mut block = [0u8; 128];
        block[..chunk.len()].copy_from_slice(chunk);
        compress(&mut h, &block, counter, chunks.peek().is_none());
    }
    h.iter()
        .flat_map(|word| word.to_le_bytes())
        .take(out_len)
        .collect()
}

fn compress(h: &mut [u64; 8], block: &[u8; 128], counter: u128, last: bool) {
    let mut m = [0u64; 16];
    for (i, word) in m.iter_mut().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&block[i * 8..i * 8 + 8]);
        *word = u64::from_le_bytes(bytes);
    }
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= counter as u64;
    v[13] ^= (counter >> 64) as u64;
    if last {
        v[14] = !v[14];
    }
    for round in 0..12 {
        let s = &SIGMA[round % 10];
        mix(&mut v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
        mix(&mut v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
        mix(&mut v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
        mix(&mut v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
        mix(&mut v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
        mix(&mut v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
        mix(&mut v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
        mix(&mut v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

fn mix(v: &mut [u64; 16], [a, b, c, d]: [usize; 4], x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn blake2b_matches_hashlib() {
        // hashlib.blake2b(data, digest_size=12).hexdigest()
        assert_eq!(hex(&blake2b(12, b"abc")), "48b4f1f9042a2d5033b382b5");
        assert_eq!(hex(&blake2b(12, b"")), "b8e1dda3ac0aa3820ad2990b");
        assert_eq!(hex(&blake2b(12, &[b'a'; 300])), "c0df67c2392dd2c7e19da482");
        // RFC 7693 appendix A: BLAKE2b-512("abc").
        assert!(hex(&blake2b(64, b"abc")).starts_with("ba80a53f981c4d0d6a2797b69f12f6e9"));
    }

    #[test]
    fn canonical_json_and_hash_match_chaoslib() {
        let experiment: Value = serde_json::from_str(
            r#"{"title": "Ünïcode \"q\" \n\t\u0001 😀", "b": [1, 2.5, 1e20, 1.0, null, true, false, -0.0, 123456789012345678], "a": {"z": 1, "y": {}}}"#,
        )
        .unwrap_or(Value::Null);
        assert_eq!(
            canonical_json(&experiment),
            r#"{"a": {"y": {}, "z": 1}, "b": [1, 2.5, 1e+20, 1.0, null, true, false, -0.0, 123456789012345678], "title": "\u00dcn\u00efcode \"q\" \n\t\u0001 \ud83d\ude00"}"#
        );
        assert_eq!(experiment_hash(&experiment), "19b5785b63fcf8158c4cf187");
        // chaosprometheus' own test fixture hash, PrometheusCollector(..., {"title": "t", "method": []}).
        assert_eq!(
            experiment_hash(&json!({"title": "t", "method": []})),
            "e36976047d9a739accdc8744"
        );
    }
}
