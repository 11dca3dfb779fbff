//! A tiny authoritative DNS server on loopback, the upstream of the DNS proxy tests: a
//! real UDP and TCP server (same port) answering fixed records, written independently of
//! the proxy's own wire code so it checks rather than mirrors it.
//!
//! Zone (any case, trailing dot or not):
//! * `web.svc.test`: A 192.0.2.10, AAAA 2001:db8::10
//! * `api.svc.test`: A 192.0.2.20
//! * `big.svc.test`: TXT, 16 strings of 100 bytes (about 1.7 KB): over UDP the answer is
//!   truncated (TC set, no records), as a real server does past 512 bytes; over TCP whole.
//! * anything else: NXDOMAIN.
//!
//! Every question it receives is recorded as `(name, qtype, "udp" | "tcp")`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

pub const TYPE_A: u16 = 1;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const BIG_TXT_STRINGS: usize = 16;

/// One question the server received: name (lower case), type, `"udp"` or `"tcp"`.
pub type Question = (String, u16, &'static str);

#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<Question>>>);

impl Seen {
    pub fn all(&self) -> Vec<Question> {
        self.0.lock().expect("seen").clone()
    }
    /// How many questions for `name` (lower case) arrived.
    pub fn count(&self, name: &str) -> usize {
        self.all().iter().filter(|(n, _, _)| n == name).count()
    }
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Seen,
}

/// Starts the server on 127.0.0.1, UDP and TCP on one port.
pub async fn upstream() -> Upstream {
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = udp.local_addr().expect("addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().expect("addr");
    let seen = Seen::default();
    let s = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = udp.recv_from(&mut buf).await {
            if let Some(answer) = respond(&buf[..n], &s, "udp") {
                let _ = udp.send_to(&answer, from).await;
            }
        }
    });
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = tcp.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                loop {
                    let mut len = [0u8; 2];
                    if c.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                    if c.read_exact(&mut q).await.is_err() {
                        return;
                    }
                    if let Some(a) = respond(&q, &s, "tcp") {
                        let mut out = (a.len() as u16).to_be_bytes().to_vec();
                        out.extend_from_slice(&a);
                        if c.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Upstream { addr, seen }
}

/// The answer to one query, or None for a packet it cannot read.
fn respond(q: &[u8], seen: &Seen, transport: &'static str) -> Option<Vec<u8>> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    // The question's name: plain labels (stub resolvers do not compress a question).
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let n = *q.get(i)? as usize;
        if n == 0 {
            break;
        }
        if n > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(i + 1..i + 1 + n)?).to_ascii_lowercase());
        i += 1 + n;
    }
    let qend = i + 5;
    let question = q.get(12..qend)?;
    let qtype = u16::from_be_bytes([q[i + 1], q[i + 2]]);
    let name = labels.join(".");
    seen.0
        .lock()
        .expect("seen")
        .push((name.clone(), qtype, transport));
    let mut records: Vec<Vec<u8>> = Vec::new();
    let mut rcode = 0u8;
    match (name.as_str(), qtype) {
        ("web.svc.test", TYPE_A) => records.push(vec![192, 0, 2, 10]),
        ("api.svc.test", TYPE_A) => records.push(vec![192, 0, 2, 20]),
        ("web.svc.test", TYPE_AAAA) => {
            let ip: std::net::Ipv6Addr = "2001:db8::10".parse().expect("v6");
            records.push(ip.octets().to_vec())
        }
        ("big.svc.test", TYPE_TXT) => {
            let mut rdata = Vec::new();
            for k in 0..BIG_TXT_STRINGS {
                rdata.push(100);
                rdata.extend(std::iter::repeat_n(b'a' + k as u8, 100));
            }
            records.push(rdata);
        }
        ("web.svc.test" | "api.svc.test" | "big.svc.test", _) => {}
        _ => rcode = 3,
    }
    let build = |records: &[Vec<u8>], tc: bool| {
        let mut a = q[..2].to_vec();
        a.push(0x84 | (q[2] & 0x01) | if tc { 0x02 } else { 0 });
        a.push(rcode);
        a.extend_from_slice(&[0, 1, 0, records.len() as u8, 0, 0, 0, 0]);
        a.extend_from_slice(question);
        for r in records {
            a.extend_from_slice(&[0xc0, 12]);
            a.extend_from_slice(&qtype.to_be_bytes());
            a.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            a.extend_from_slice(&(r.len() as u16).to_be_bytes());
            a.extend_from_slice(r);
        }
        a
    };
    let full = build(&records, false);
    if transport == "udp" && full.len() > 512 {
        return Some(build(&[], true));
    }
    Some(full)
}

/// A query for `name` of `qtype` with `id` and RD set, as a stub resolver sends it.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.').filter(|l| !l.is_empty()) {
        p.push(l.len() as u8);
        p.extend_from_slice(l.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    p
}

/// An answer's id, flags, rcode and answer count.
#[derive(Debug, PartialEq)]
pub struct Head {
    pub id: u16,
    pub rcode: u8,
    pub tc: bool,
    pub answers: u16,
}

pub fn head(a: &[u8]) -> Head {
    assert!(a.len() >= 12, "short answer {a:?}");
    Head {
        id: u16::from_be_bytes([a[0], a[1]]),
        rcode: a[3] & 0x0f,
        tc: a[2] & 0x02 != 0,
        answers: u16::from_be_bytes([a[6], a[7]]),
    }
}

/// The rdata of the answer's records (assumes the question is the first record and
/// answers name it with a 2-byte pointer, as this server and the proxy write them).
pub fn rdatas(a: &[u8]) -> Vec<Vec<u8>> {
    let mut i = 12;
    while a[i] != 0 {
        i += 1 + a[i] as usize;
    }
    i += 5;
    let mut out = Vec::new();
    for _ in 0..head(a).answers {
        let len = u16::from_be_bytes([a[i + 10], a[i + 11]]) as usize;
        out.push(a[i + 12..i + 12 + len].to_vec());
        i += 12 + len;
    }
    out
}
