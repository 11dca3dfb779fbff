//! Shakedown's fault-injection proxy: a Toxiproxy 2.12 wire-compatible server (HTTP API,
//! toxics, metrics), HTTP-aware and connect-time extensions, and a client for the CLI.
//!
//! Layout follows Toxiproxy: `proxy` (listener + connections), `link` (one direction of
//! one connection running a chain of toxic stages), `toxics/` (one file per toxic),
//! `collection` (API operations) and `api` (routes). `guard` keeps the server safe from
//! itself: proxy loops are refused and connections are capped per proxy and in total;
//! `origin` refuses foreign `Host`/`Origin` headers on a loopback API (DNS rebinding), and
//! `server` gives API clients a header-read timeout. `stats` counts what every toxic
//! actually did (proof of injection). `udp` runs UDP proxies (per-client sessions,
//! datagram-preserving toxics). `dns` runs DNS proxies (a forwarder whose `dns_*` toxics
//! answer NXDOMAIN/SERVFAIL, drop, delay or redirect queries by name). `tls` terminates
//! and re-encrypts TLS so HTTP toxics work on HTTPS. With no toxic active, `splice` moves
//! the bytes of a link between two plain TCP sockets without copying them through user
//! space (TLS links copy), and `timer` releases delayed chunks at their instant to the
//! tens of microseconds rather than tokio's rounded-up millisecond.

pub mod api;
pub mod client;
pub mod collection;
pub mod dns;
pub mod dropin;
pub mod error;
pub mod guard;
pub mod link;
pub mod metrics;
pub mod model;
pub mod origin;
pub mod proxy;
pub mod rng;
pub mod server;
pub mod splice;
pub mod stats;
pub mod timer;
pub mod tls;
pub mod toxics;
pub mod udp;

pub use error::{ApiError, ProxyError};
pub use server::{run_serve_command, serve, start, ServeConfig, ServerHandle};
