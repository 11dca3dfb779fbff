//! A minimal HTTP/1.1 request-boundary tracker shared by the HTTP toxics.
//!
//! It only finds where each request head starts and ends (Content-Length and chunked
//! bodies are skipped over), holding back at most one incomplete head. Anything that is
//! not recognisably HTTP/1.x — or upgrades (WebSocket, CONNECT) — switches the tracker to
//! pass-through for the rest of the connection, so non-HTTP traffic is never corrupted.

/// Longest request head we are willing to buffer before giving up on parsing.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug)]
pub enum Piece {
    /// A complete request head (request line + headers + blank line).
    Head {
        bytes: Vec<u8>,
        method: String,
        path: String,
    },
    /// Body bytes, framing bytes, or pass-through data.
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    Trailers,
    Passthrough,
}

#[derive(Debug)]
pub struct RequestTracker {
    state: State,
    head: Vec<u8>,
    line: Vec<u8>,
}

impl Default for RequestTracker {
    fn default() -> Self {
        RequestTracker {
            state: State::Head,
            head: Vec::new(),
            line: Vec::new(),
        }
    }
}

impl RequestTracker {
    /// How many bytes of an incomplete head are held back.
    pub fn held(&self) -> usize {
        self.head.len()
    }

    /// Bytes of an incomplete head held back so far (released on toxic removal).
    pub fn take_held(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.head)
    }

    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<Piece>) {
        while !data.is_empty() {
            match self.state {
                State::Passthrough => {
                    out.push(Piece::Bytes(data.to_vec()));
                    return;
                }
                State::Head => {
                    // Tolerate stray CRLFs between requests (RFC 9112 §2.2).
                    if self.head.is_empty() {
                        let skip = data
                            .iter()
                            .take_while(|b| **b == b'\r' || **b == b'\n')
                            .count();
                        if skip > 0 {
                            out.push(Piece::Bytes(data[..skip].to_vec()));
                            data = &data[skip..];
                            continue;
                        }
                    }
                    let search_from = self.head.len().saturating_sub(3);
                    self.head.extend_from_slice(data);
                    data = &[];
                    let end =
                        find(&self.head[search_from..], b"\r\n\r\n").map(|i| i + search_from + 4);
                    match end {
                        Some(end) => {
                            let rest = self.head.split_off(end);
                            let head = std::mem::take(&mut self.head);
                            self.on_head(head, out);
                            // Re-feed what followed the head.
                            self.feed(&rest, out);
                            return;
                        }
                        None => {
                            let first_line_bad = match find(&self.head, b"\r\n") {
                                Some(i) => parse_request_line(&self.head[..i]).is_none(),
                                None => self.head.len() > 8 * 1024 || !method_prefix(&self.head),
                            };
                            if first_line_bad || self.head.len() > MAX_HEAD {
                                self.state = State::Passthrough;
                                out.push(Piece::Bytes(std::mem::take(&mut self.head)));
                            }
                        }
                    }
                }
                State::Body(n) => {
                    let take = (n.min(data.len() as u64)) as usize;
                    out.push(Piece::Bytes(data[..take].to_vec()));
                    data = &data[take..];
                    let left = n - take as u64;
                    self.state = if left == 0 {
                        State::Head
                    } else {
                        State::Body(left)
                    };
                }
                State::ChunkData(n) => {
                    let take = (n.min(data.len() as u64)) as usize;
                    out.push(Piece::Bytes(data[..take].to_vec()));
                    data = &data[take..];
                    let left = n - take as u64;
                    self.state = if left == 0 {
                        State::ChunkSize
                    } else {
                        State::ChunkData(left)
                    };
                }
                State::ChunkSize | State::Trailers => {
                    let nl = data.iter().position(|b| *b == b'\n');
                    let take = nl.map(|i| i + 1).unwrap_or(data.len());
                    out.push(Piece::Bytes(data[..take].to_vec()));
                    self.line.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.line.len() > 8 * 1024 {
                        self.state = State::Passthrough;
                        continue;
                    }
                    if nl.is_none() {
                        continue;
                    }
                    let line = std::mem::take(&mut self.line);
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim();
                    if self.state == State::Trailers {
                        if text.is_empty() {
                            self.state = State::Head;
                        }
                        continue;
                    }
                    let hex = text.split(';').next().unwrap_or("").trim();
                    match u64::from_str_radix(hex, 16) {
                        Ok(0) => self.state = State::Trailers,
                        // Chunk data is followed by its own CRLF.
                        Ok(n) => self.state = State::ChunkData(n.saturating_add(2)),
                        Err(_) => self.state = State::Passthrough,
                    }
                }
            }
        }
    }

    fn on_head(&mut self, head: Vec<u8>, out: &mut Vec<Piece>) {
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut lines = text.split("\r\n");
        let Some((method, path)) = lines.next().and_then(|l| parse_request_line(l.as_bytes()))
        else {
            self.state = State::Passthrough;
            out.push(Piece::Bytes(head));
            return;
        };
        let mut length: u64 = 0;
        let mut chunked = false;
        let mut upgrade = method.eq_ignore_ascii_case("CONNECT");
        for l in lines {
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case("content-length") {
                length = v.parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.to_ascii_lowercase().contains("chunked");
            } else if k.eq_ignore_ascii_case("upgrade") {
                upgrade = true;
            }
        }
        self.state = if upgrade {
            State::Passthrough
        } else if chunked {
            State::ChunkSize
        } else if length > 0 {
            State::Body(length)
        } else {
            State::Head
        };
        out.push(Piece::Head {
            bytes: head,
            method,
            path,
        });
    }
}

/// Whether `head` (no line end yet) can still start a request line: a method of ASCII
/// letters (as `parse_request_line` wants; at most 32), then a space. A TLS ClientHello (first byte 0x16) or
/// any binary protocol fails at its first byte, so it passes through at once instead of
/// being held until a line end that never comes.
fn method_prefix(head: &[u8]) -> bool {
    let method = head.split(|&b| b == b' ').next().unwrap_or_default();
    method.len() <= 32 && method.iter().all(u8::is_ascii_alphabetic)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `GET /path HTTP/1.1` → (method, path). The path of an absolute-form target is used.
fn parse_request_line(line: &[u8]) -> Option<(String, String)> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    if parts.next().is_some()
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_alphabetic())
        || !version.starts_with("HTTP/1.")
    {
        return None;
    }
    let path = match target.find("://") {
        Some(i) => {
            let after = &target[i + 3..];
            after.find('/').map(|j| &after[j..]).unwrap_or("/")
        }
        None => target,
    };
    Some((method.to_string(), path.to_string()))
}

/// Request filter shared by the HTTP toxics: method ("" = any, case-insensitive) and
/// path prefix ("" = any).
pub fn matches(method_filter: &str, prefix: &str, method: &str, path: &str) -> bool {
    (method_filter.is_empty() || method_filter.eq_ignore_ascii_case(method))
        && path.starts_with(prefix)
}

/// The canonical reason phrase for common statuses (empty for others is allowed).
pub fn reason(status: i64) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Injected Fault",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heads(chunks: &[&[u8]]) -> (Vec<(String, String)>, usize) {
        let mut t = RequestTracker::default();
        let mut out = Vec::new();
        for c in chunks {
            t.feed(c, &mut out);
        }
        let mut total = 0;
        let mut hs = Vec::new();
        for p in out {
            match p {
                Piece::Head {
                    bytes,
                    method,
                    path,
                } => {
                    total += bytes.len();
                    hs.push((method, path));
                }
                Piece::Bytes(b) => total += b.len(),
            }
        }
        (hs, total)
    }

    #[test]
    fn a_tls_client_hello_passes_through_at_once() {
        // The first bytes of a ClientHello: no line end will ever come.
        let hello = [
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ];
        let mut t = RequestTracker::default();
        let mut out = Vec::new();
        t.feed(&hello, &mut out);
        assert_eq!(t.held(), 0);
        assert!(
            matches!(&out[..], [Piece::Bytes(b)] if b[..] == hello[..]),
            "{out:?}"
        );
        // A method arriving in pieces is still held.
        let mut t = RequestTracker::default();
        t.feed(b"GE", &mut out);
        assert_eq!(t.held(), 2);
    }

    #[test]
    fn finds_pipelined_requests_with_bodies() {
        let a = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b?x=1 HTTP/1.1\r\n\r\n";
        let b = b"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nDELETE http://h/d HTTP/1.1\r\n\r\n";
        let (hs, total) = heads(&[&a[..10], &a[10..], &b[..20], &b[20..]]);
        assert_eq!(total, a.len() + b.len());
        let names: Vec<_> = hs.iter().map(|(m, p)| format!("{m} {p}")).collect();
        assert_eq!(names, ["POST /a", "GET /b?x=1", "PUT /c", "DELETE /d"]);
    }

    #[test]
    fn non_http_passes_through() {
        let (hs, total) = heads(&[b"\x00\x01binary\r\nstuff", b"more"]);
        assert!(hs.is_empty());
        assert_eq!(total, 19);
    }
}
