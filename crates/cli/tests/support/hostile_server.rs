//! Loopback TCP servers that behave as hostile targets do: one that never answers, one that
//! drips its answer a byte at a time, one whose answer never ends. Each connection is served
//! by its own thread, which ends when the client goes away, so a test leaves nothing behind.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// How a [`HostileServer`] answers a request.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Reads the request and never answers; the connection stays open until the client
    /// closes it.
    Silent,
    /// Sends `response`, one byte every `every` (all at once for zero): each read gets
    /// something, so only a limit on the whole exchange ends it.
    Drip { response: Vec<u8>, every: Duration },
    /// `200 OK` with `content_type` and a body of spaces after `prefix` that never ends,
    /// sent as fast as the client reads.
    Endless {
        content_type: &'static str,
        prefix: &'static [u8],
    },
}

/// A server on `127.0.0.1:<port>` that answers every connection with its [`Behaviour`].
pub struct HostileServer {
    port: u16,
}

impl HostileServer {
    pub fn start(behaviour: Behaviour) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let behaviour = behaviour.clone();
                thread::spawn(move || serve(stream, &behaviour));
            }
        });
        HostileServer { port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// An HTTP/1.1 response with a `Content-Length`, for [`Behaviour::Drip`].
pub fn http_response(content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn serve(mut stream: TcpStream, behaviour: &Behaviour) {
    read_request(&mut stream);
    match behaviour {
        Behaviour::Silent => {
            // Returns when the client closes the connection.
            let mut rest = [0u8; 1024];
            while matches!(stream.read(&mut rest), Ok(n) if n > 0) {}
        }
        Behaviour::Drip { response, every } if every.is_zero() => {
            let _ = stream.write_all(response);
        }
        Behaviour::Drip { response, every } => {
            for byte in response {
                if stream.write_all(&[*byte]).is_err() {
                    return;
                }
                thread::sleep(*every);
            }
        }
        Behaviour::Endless {
            content_type,
            prefix,
        } => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n");
            if stream.write_all(head.as_bytes()).is_err() || stream.write_all(prefix).is_err() {
                return;
            }
            let chunk = [b' '; 64 * 1024];
            while stream.write_all(&chunk).is_ok() {}
        }
    }
}

/// Reads up to the end of the request's headers (requests here have no body).
fn read_request(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") && seen.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => return,
        }
    }
}
