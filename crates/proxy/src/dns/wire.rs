//! The few parts of the DNS wire format (RFC 1035 §4) a faulting forwarder needs: the
//! header, the first question, and the answers it writes itself.
//!
//! Hand-written rather than hickory-proto: the proxy never needs to understand the
//! records it forwards (answers are relayed byte for byte, only the id is rewritten), so
//! a full message model would be parsed and thrown away on every query; and hickory-proto
//! is only an optional dependency of the static build (`crates/dns`), so using it here
//! would add it to every build. Everything is bounded: a name is at most 255 bytes of
//! labels of at most 63 bytes, a compression pointer must point strictly backwards (so a
//! chain of them ends) and at most [`MAX_POINTERS`] are followed; a packet shorter than
//! it claims is an error, never an out-of-bounds read.

use std::net::IpAddr;

/// The fixed header's length.
pub const HEADER_LEN: usize = 12;
/// Compression pointers followed in one name before it counts as a loop.
pub const MAX_POINTERS: usize = 64;
/// The longest name in wire form (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;

pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
pub const CLASS_IN: u16 = 1;

/// Response codes the proxy answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
}

/// Why a packet could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("shorter than a DNS header ({0} bytes)")]
    ShortHeader(usize),
    #[error("a response where a query was expected")]
    NotAQuery,
    #[error("the question runs past the end of the packet")]
    Truncated,
    #[error("a name longer than 255 bytes")]
    LongName,
    #[error("a compression pointer that does not point backwards (a loop)")]
    PointerLoop,
    /// A length byte of 64 or more: a label over 63 bytes is not expressible, so it
    /// reads as the reserved (0x40, 0x80) label types.
    #[error("a reserved label type (or a label longer than 63 bytes)")]
    BadLabel,
}

/// The first question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The labels as sent (case kept, so an answer echoes 0x20-randomised names).
    pub labels: Vec<Vec<u8>>,
    pub qtype: u16,
    pub qclass: u16,
}

impl Question {
    /// The name in lower case, dot-separated, without the root's trailing dot (`""` for
    /// the root). Bytes outside printable ASCII are kept as `\DDD`, so they match nothing.
    pub fn name(&self) -> String {
        let mut out = String::new();
        for (i, l) in self.labels.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            for &b in l {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    out.push(b.to_ascii_lowercase() as char);
                } else {
                    out.push_str(&format!("\\{b:03}"));
                }
            }
        }
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        for l in &self.labels {
            out.push(l.len() as u8);
            out.extend_from_slice(l);
        }
        out.push(0);
        out.extend_from_slice(&self.qtype.to_be_bytes());
        out.extend_from_slice(&self.qclass.to_be_bytes());
    }
}

/// What the proxy keeps of a query: enough to match it and to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    /// The header's flags word as sent.
    pub flags: u16,
    /// The first question; `None` when the query has none (a DNS cookie refresh), which
    /// no toxic matches.
    pub question: Option<Question>,
}

impl Query {
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
}

fn u16_at(p: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(i)?, *p.get(i + 1)?]))
}

/// The message id (first two bytes), if there are two.
pub fn id(packet: &[u8]) -> Option<u16> {
    u16_at(packet, 0)
}

/// `packet` with its id replaced.
pub fn set_id(packet: &mut [u8], id: u16) {
    if packet.len() >= 2 {
        packet[..2].copy_from_slice(&id.to_be_bytes());
    }
}

/// Read a query's header and first question.
///
/// `Err(ShortHeader | NotAQuery)` means the packet cannot be answered at all (drop it);
/// the other errors leave a header to answer FORMERR to (see [`formerr`]).
pub fn parse_query(packet: &[u8]) -> Result<Query, WireError> {
    if packet.len() < HEADER_LEN {
        return Err(WireError::ShortHeader(packet.len()));
    }
    let id = u16_at(packet, 0).ok_or(WireError::Truncated)?;
    let flags = u16_at(packet, 2).ok_or(WireError::Truncated)?;
    if flags & 0x8000 != 0 {
        return Err(WireError::NotAQuery);
    }
    let qdcount = u16_at(packet, 4).ok_or(WireError::Truncated)?;
    if qdcount == 0 {
        return Ok(Query {
            id,
            flags,
            question: None,
        });
    }
    let (labels, end) = read_name(packet, HEADER_LEN)?;
    let qtype = u16_at(packet, end).ok_or(WireError::Truncated)?;
    let qclass = u16_at(packet, end + 2).ok_or(WireError::Truncated)?;
    Ok(Query {
        id,
        flags,
        question: Some(Question {
            labels,
            qtype,
            qclass,
        }),
    })
}

/// A name at `start`: its labels and the offset just past it in the packet.
fn read_name(p: &[u8], start: usize) -> Result<(Vec<Vec<u8>>, usize), WireError> {
    let mut labels = Vec::new();
    let mut pos = start;
    let mut end = None;
    let mut total = 1usize;
    let mut pointers = 0usize;
    loop {
        let len = *p.get(pos).ok_or(WireError::Truncated)? as usize;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok((labels, end.unwrap_or(pos + 1)));
                }
                let label = p.get(pos + 1..pos + 1 + len).ok_or(WireError::Truncated)?;
                total += len + 1;
                if total > MAX_NAME {
                    return Err(WireError::LongName);
                }
                labels.push(label.to_vec());
                pos += 1 + len;
            }
            0xc0 => {
                let target = (u16_at(p, pos).ok_or(WireError::Truncated)? & 0x3fff) as usize;
                pointers += 1;
                if target >= pos || pointers > MAX_POINTERS {
                    return Err(WireError::PointerLoop);
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(WireError::BadLabel),
        }
    }
}

/// The header of an answer to `q`: QR set, opcode and RD echoed, RA set.
fn header(q: &Query, rcode: Rcode, qd: u16, an: u16) -> Vec<u8> {
    let flags = 0x8000 | (q.flags & 0x7900) | 0x0080 | rcode as u16;
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&q.id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    for n in [qd, an, 0, 0] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    out
}

/// An answer with `rcode` and no records (NXDOMAIN, SERVFAIL, or NOERROR with no data),
/// echoing the question.
pub fn answer_rcode(q: &Query, rcode: Rcode) -> Vec<u8> {
    let qd = u16::from(q.question.is_some());
    let mut out = header(q, rcode, qd, 0);
    if let Some(question) = &q.question {
        question.write(&mut out);
    }
    out
}

/// FORMERR for a query whose header could be read but not its question.
pub fn formerr(packet: &[u8]) -> Option<Vec<u8>> {
    let q = Query {
        id: u16_at(packet, 0)?,
        flags: u16_at(packet, 2)?,
        question: None,
    };
    Some(answer_rcode(&q, Rcode::FormErr))
}

/// A NOERROR answer to `q` with one record per address of the question's type (A for
/// IPv4, AAAA for IPv6), each named by a pointer to the question, with `ttl` seconds.
pub fn answer_addresses(q: &Query, addrs: &[IpAddr], ttl: u32) -> Vec<u8> {
    let Some(question) = &q.question else {
        return answer_rcode(q, Rcode::NoError);
    };
    let rdatas: Vec<Vec<u8>> = addrs
        .iter()
        .filter_map(|a| match (a, question.qtype) {
            (IpAddr::V4(v4), TYPE_A) => Some(v4.octets().to_vec()),
            (IpAddr::V6(v6), TYPE_AAAA) => Some(v6.octets().to_vec()),
            _ => None,
        })
        .collect();
    let mut out = header(q, Rcode::NoError, 1, rdatas.len() as u16);
    question.write(&mut out);
    for rdata in rdatas {
        out.extend_from_slice(&0xc00cu16.to_be_bytes());
        out.extend_from_slice(&question.qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name` (dot-separated) of `qtype`, as a stub resolver writes it.
    pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for l in name.split('.').filter(|l| !l.is_empty()) {
            p.push(l.len() as u8);
            p.extend_from_slice(l.as_bytes());
        }
        p.push(0);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&CLASS_IN.to_be_bytes());
        p
    }

    #[test]
    fn reads_a_query_and_lowercases_the_name() {
        let q = parse_query(&query(0x1234, "WWW.Example.COM", TYPE_AAAA)).expect("query");
        assert_eq!(q.id, 0x1234);
        let question = q.question.expect("question");
        assert_eq!(question.name(), "www.example.com");
        assert_eq!(question.qtype, TYPE_AAAA);
        assert_eq!(question.labels[0], b"WWW");
    }

    #[test]
    fn short_and_response_packets_are_refused() {
        assert_eq!(parse_query(&[0; 5]), Err(WireError::ShortHeader(5)));
        let mut p = query(1, "a.b", TYPE_A);
        p[2] |= 0x80;
        assert_eq!(parse_query(&p), Err(WireError::NotAQuery));
    }

    #[test]
    fn truncated_questions_are_errors_at_every_length() {
        let p = query(1, "host.example.org", TYPE_A);
        for n in HEADER_LEN..p.len() {
            assert_eq!(parse_query(&p[..n]), Err(WireError::Truncated), "{n}");
        }
        assert!(parse_query(&p).is_ok());
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_refused() {
        let mut p = query(1, "", TYPE_A);
        p.truncate(HEADER_LEN);
        // A pointer to itself.
        p.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(parse_query(&p), Err(WireError::PointerLoop));
        // A pointer forwards, to a pointer back to the first: a two-step loop.
        let mut p = query(1, "", TYPE_A);
        p.truncate(HEADER_LEN);
        p.extend_from_slice(&[0xc0, 14, 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(parse_query(&p), Err(WireError::PointerLoop));
    }

    #[test]
    fn a_backward_pointer_is_followed() {
        // Header whose bytes 4..12 hold a name fragment is not realistic; instead put a
        // name after the question and point back at the question's name from a second
        // question: the first question is what the proxy reads, so test read_name itself.
        let mut p = query(1, "a.example", TYPE_A);
        let second = p.len();
        p.extend_from_slice(&[1, b'b', 0xc0, 12]);
        let (labels, end) = read_name(&p, second).expect("name");
        assert_eq!(
            labels,
            vec![b"b".to_vec(), b"a".to_vec(), b"example".to_vec()]
        );
        assert_eq!(end, p.len());
    }

    #[test]
    fn long_labels_long_names_and_reserved_label_types_are_refused() {
        let mut p = query(1, "", TYPE_A);
        p.truncate(HEADER_LEN);
        p.push(64);
        p.extend_from_slice(&[b'a'; 64]);
        p.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(parse_query(&p), Err(WireError::BadLabel));
        let long = vec!["a".repeat(63); 5].join(".");
        assert_eq!(
            parse_query(&query(1, &long, TYPE_A)),
            Err(WireError::LongName)
        );
        let mut p = query(1, "", TYPE_A);
        p[HEADER_LEN] = 0x40;
        assert_eq!(parse_query(&p), Err(WireError::BadLabel));
    }

    #[test]
    fn answers_echo_id_question_and_rd() {
        let q = parse_query(&query(7, "Svc.Test", TYPE_A)).expect("query");
        let a = answer_rcode(&q, Rcode::NxDomain);
        assert_eq!(&a[..4], &[0, 7, 0x81, 0x83]);
        assert_eq!(&a[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&a[12..], &query(7, "Svc.Test", TYPE_A)[12..]);
        let a = answer_addresses(&q, &["10.1.2.3".parse().expect("ip")], 30);
        assert_eq!(&a[6..8], &[0, 1]);
        assert_eq!(
            &a[a.len() - 16..],
            &[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 1, 2, 3]
        );
        let f = formerr(&[0, 9, 1, 0, 0, 1]).expect("header");
        assert_eq!(&f[..4], &[0, 9, 0x81, 0x81]);
        assert_eq!(formerr(&[1]), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 12345;
        for n in 0..4000usize {
            let len = n % 300;
            let p: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = parse_query(&p);
            let _ = formerr(&p);
        }
    }
}
