//! Bounded capture of what a provider reads: a process's stdout and stderr, an HTTP body.
//!
//! The reference keeps everything it reads, so 100 MB of process output or a 1 GB body
//! sits whole in memory, in the journal and in the log. Shakedown keeps the first
//! [`limit`] bytes of each (4 MiB unless `CHAOS_MAX_OUTPUT_BYTES` says otherwise; `0`
//! keeps everything, as the reference) and still reads the rest, so a process never blocks
//! on a full pipe; the kept text ends with a marker saying how much was left out, which
//! the journal and the log then show.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The environment variable that sets the limit, in bytes (`0`: no limit).
pub const LIMIT_ENV: &str = "CHAOS_MAX_OUTPUT_BYTES";
/// The limit when the environment does not set one.
pub const DEFAULT_LIMIT: usize = 4 << 20;

/// The number of bytes kept of each output; `None` for no limit. Read once per process; a
/// value that is not a number of bytes is a WARNING naming it, and the default applies.
pub fn limit() -> Option<usize> {
    static LIMIT: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| parse_limit(std::env::var(LIMIT_ENV).ok().as_deref()))
}

fn parse_limit(text: Option<&str>) -> Option<usize> {
    let Some(text) = text else {
        return Some(DEFAULT_LIMIT);
    };
    match text.trim().parse::<usize>() {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(_) => {
            log::warn!(
                "{LIMIT_ENV} must be a number of bytes (0 for no limit), not '{text}': outputs are cut at {DEFAULT_LIMIT} bytes"
            );
            Some(DEFAULT_LIMIT)
        }
    }
}

/// What was kept of one output, and how much was not.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// Bytes read past the limit and dropped.
    pub dropped: u64,
    /// Reading stopped at the limit: how much more there was is not known.
    pub stopped: bool,
}

impl Captured {
    /// Keeps what fits of `chunk` under `limit`, counts the rest.
    pub fn push(&mut self, chunk: &[u8], limit: Option<usize>) {
        let room = limit.map_or(chunk.len(), |l| l.saturating_sub(self.bytes.len()));
        let kept = room.min(chunk.len());
        self.bytes.extend_from_slice(&chunk[..kept]);
        self.dropped += (chunk.len() - kept) as u64;
    }

    /// When bytes were dropped: the kept bytes cut back to whole UTF-8 characters (a cut
    /// must not turn the text into Latin-1), and the marker to append to their text.
    pub fn truncation(&self) -> Option<(&[u8], String)> {
        if self.dropped == 0 && !self.stopped {
            return None;
        }
        let kept = match std::str::from_utf8(&self.bytes) {
            Err(e) if e.error_len().is_none() => &self.bytes[..e.valid_up_to()],
            _ => &self.bytes[..],
        };
        let dropped = self.dropped + (self.bytes.len() - kept.len()) as u64;
        let cut = self.bytes.len();
        let marker = if self.stopped {
            format!("\n… [cut at {cut} bytes, the rest not read ({LIMIT_ENV})]")
        } else {
            format!(
                "\n… [{dropped} more bytes not kept: outputs are cut at {cut} bytes ({LIMIT_ENV})]"
            )
        };
        Some((kept, marker))
    }
}

/// Reads `reader` to its end, keeping at most `limit` bytes.
pub async fn read_all<R: AsyncRead + Unpin>(
    reader: Option<R>,
    limit: Option<usize>,
) -> std::io::Result<Captured> {
    let mut captured = Captured::default();
    let Some(mut reader) = reader else {
        return Ok(captured);
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(captured);
        }
        captured.push(&buf[..n], limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_past_the_limit_are_counted_not_kept() {
        let mut c = Captured::default();
        c.push(b"hello ", Some(8));
        c.push(b"world", Some(8));
        assert_eq!(c.bytes, b"hello wo");
        assert_eq!(c.dropped, 3);
        let (kept, marker) = c.truncation().expect("truncated");
        assert_eq!(kept, b"hello wo");
        assert!(marker.contains("3 more bytes not kept"), "{marker}");

        let mut all = Captured::default();
        all.push(b"hello world", None);
        assert_eq!(all.truncation(), None);
    }

    #[test]
    fn a_cut_inside_a_character_keeps_whole_characters() {
        let mut c = Captured::default();
        c.push("aé€".as_bytes(), Some(3)); // a (1) é (2) € (3 bytes): cut inside €
        let (kept, marker) = c.truncation().expect("truncated");
        assert_eq!(kept, "aé".as_bytes());
        assert!(marker.contains("3 more bytes"), "{marker}");
    }

    #[test]
    fn the_limit_comes_from_the_environment_and_a_bad_value_keeps_the_default() {
        assert_eq!(parse_limit(None), Some(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some(" 1000 ")), Some(1000));
        assert_eq!(parse_limit(Some("0")), None);
        assert_eq!(parse_limit(Some("4 MiB")), Some(DEFAULT_LIMIT));
    }

    #[tokio::test]
    async fn a_reader_is_read_to_its_end() {
        let data = vec![b'x'; 200_000];
        let c = read_all(Some(&data[..]), Some(100_000))
            .await
            .expect("read");
        assert_eq!(c.bytes.len(), 100_000);
        assert_eq!(c.dropped, 100_000);
    }
}
