//! HTTPS faults: a proxy given a `tls` object terminates TLS toward the client and opens
//! its own TLS session toward the upstream, so the link between them carries plaintext.
//!
//! Why terminate instead of peeking: the HTTP toxics (`http_abort`, `http_delay`) parse
//! request heads, and inside TLS there are none to parse. Terminating makes every toxic
//! act on the plaintext stream: HTTP toxics see requests, TCP toxics (latency, bandwidth,
//! slicer, …) delay or cut plaintext bytes, which the TLS layers then re-frame, so a
//! client never sees a corrupt record, only the fault.
//!
//! TLS is a stream wrapper chosen at connection set-up (`proxy::connection`): the link
//! code works on any [`crate::link::Source`] / [`crate::link::Sink`], so a proxy without
//! `tls` keeps its raw TCP path (and forwards TLS bytes untouched, as Toxiproxy does).
//!
//! The certificate shown to clients is either given (`cert` + `key`, PEM text or file
//! paths) or minted: `"generate": true` creates a CA for this proxy and signs leaves
//! with it, one for the loopback names, the listen host and the upstream host, and one
//! on demand for any other name a client asks for by SNI (cached, bounded). The CA's PEM
//! is in the proxy's JSON (`tls.ca_cert`) and at `GET /proxies/{name}/ca.pem`, so a test
//! can hand it to `curl --cacert`.
//!
//! Toward the upstream the proxy verifies the server against `upstream_ca` (PEM text or a
//! path) or the system roots, for the name the client asked for by SNI (passed on), or
//! `upstream_name` when given, else the upstream's host. `verify_upstream: false` turns
//! verification off, for test upstreams only. Both sides offer only ALPN `http/1.1`: the
//! HTTP toxics understand HTTP/1.1, and a client that would negotiate HTTP/2 falls back.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use journal::json_kind;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::error::ApiError;

/// Default bound on a TLS handshake (client side, then upstream side).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Leaves minted on demand for SNI names beyond the default leaf's (then the oldest goes).
const MAX_MINTED: usize = 256;
/// Largest request head read before answering a failed upstream with 502.
const MAX_HEAD: usize = 64 * 1024;
/// The keys a `tls` object may hold.
const KEYS: &[&str] = &[
    "cert",
    "key",
    "generate",
    "names",
    "upstream_ca",
    "verify_upstream",
    "upstream_name",
    "upstream_tls",
    "handshake_timeout_ms",
    "ca_cert",
];

/// Why a `tls` object was refused. Each names the field and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("tls.{field}: cannot read file {path:?}: {source} (give PEM text starting with -----BEGIN, or a readable file path)")]
    Read {
        field: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("tls.{field}: {what}: {source}")]
    Rustls {
        field: &'static str,
        what: &'static str,
        #[source]
        source: rustls::Error,
    },
    #[error("tls.{field}: cannot create the certificate: {source}")]
    Generate {
        field: &'static str,
        #[source]
        source: rcgen::Error,
    },
}

impl From<TlsError> for ApiError {
    fn from(e: TlsError) -> Self {
        ApiError::new(e.to_string(), 400)
    }
}

fn field_err(field: &'static str, reason: impl Into<String>) -> TlsError {
    TlsError::Field {
        field,
        reason: reason.into(),
    }
}

/// The `tls` object of a proxy as given on create or populate.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSpec {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub generate: bool,
    pub names: Vec<String>,
    pub upstream_ca: Option<String>,
    pub verify_upstream: bool,
    pub upstream_name: Option<String>,
    pub upstream_tls: bool,
    pub handshake_timeout: Duration,
}

fn opt_str(
    m: &Map<String, Value>,
    key: &'static str,
    what: &str,
) -> Result<Option<String>, TlsError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(field_err(key, format!("is empty (give {what})")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(field_err(
            key,
            format!("expected a string ({what}), got {}", json_kind(v)),
        )),
    }
}

fn opt_bool(m: &Map<String, Value>, key: &'static str) -> Result<Option<bool>, TlsError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(field_err(
            key,
            format!("expected true or false, got {}", json_kind(v)),
        )),
    }
}

impl TlsSpec {
    /// Read a proxy's `tls` value (`null` = no TLS). Unknown keys are refused, naming the
    /// accepted ones, so a typo such as `verify_upsteam` cannot silently weaken a test.
    pub fn parse(v: &Value) -> Result<Option<TlsSpec>, TlsError> {
        let m = match v {
            Value::Null => return Ok(None),
            Value::Object(m) => m,
            other => {
                return Err(TlsError::Field {
                    field: "",
                    reason: format!(
                        "expected an object such as {{\"generate\": true}} or {{\"cert\": …, \"key\": …}}, got {}",
                        json_kind(other)
                    ),
                })
            }
        };
        if let Some(k) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(TlsError::Field {
                field: "",
                reason: format!("unknown key {k:?} (accepted: {})", KEYS.join(", ")),
            });
        }
        let pem_or_path = "PEM text or a file path";
        let cert = opt_str(m, "cert", pem_or_path)?;
        let key = opt_str(m, "key", pem_or_path)?;
        let generate = opt_bool(m, "generate")?.unwrap_or(false);
        let names = match m.get("names") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|n| match n {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    other => Err(field_err(
                        "names",
                        format!(
                            "expected host names or IP addresses as strings, got {}",
                            json_kind(other)
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(v) => {
                return Err(field_err(
                    "names",
                    format!("expected an array of host names, got {}", json_kind(v)),
                ))
            }
        };
        let handshake_timeout = match m.get("handshake_timeout_ms") {
            None | Some(Value::Null) => HANDSHAKE_TIMEOUT,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(ms) if (1..=600_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(field_err(
                        "handshake_timeout_ms",
                        format!("{n} is out of range (1 to 600000 milliseconds)"),
                    ))
                }
            },
            Some(v) => {
                return Err(field_err(
                    "handshake_timeout_ms",
                    format!("expected milliseconds as a number, got {}", json_kind(v)),
                ))
            }
        };
        let spec = TlsSpec {
            cert,
            key,
            generate,
            names,
            upstream_ca: opt_str(m, "upstream_ca", pem_or_path)?,
            verify_upstream: opt_bool(m, "verify_upstream")?.unwrap_or(true),
            upstream_name: opt_str(m, "upstream_name", "the host name to verify")?,
            upstream_tls: opt_bool(m, "upstream_tls")?.unwrap_or(true),
            handshake_timeout,
        };
        match (&spec.cert, &spec.key, spec.generate) {
            (Some(_), _, true) | (_, Some(_), true) => Err(field_err(
                "generate",
                "cannot be combined with cert/key (give either cert and key, or \"generate\": true)",
            )),
            (None, None, false) => Err(TlsError::Field {
                field: "",
                reason: "give \"cert\" and \"key\" (PEM text or file paths), or \"generate\": true"
                    .into(),
            }),
            (Some(_), None, false) => Err(field_err(
                "key",
                "missing: the private key of tls.cert (PEM text or a file path)",
            )),
            (None, Some(_), false) => Err(field_err(
                "cert",
                "missing: the certificate chain for tls.key (PEM text or a file path)",
            )),
            _ if !spec.names.is_empty() && !spec.generate => Err(field_err(
                "names",
                "only applies with \"generate\": true (a given certificate has its own names)",
            )),
            _ => Ok(Some(spec)),
        }
    }
}

/// PEM text as given, or the contents of the file it names.
fn pem_text(field: &'static str, v: &str) -> Result<Vec<u8>, TlsError> {
    if v.trim_start().starts_with("-----BEGIN") {
        return Ok(v.as_bytes().to_vec());
    }
    std::fs::read(v).map_err(|source| TlsError::Read {
        field,
        path: v.to_string(),
        source,
    })
}

fn certs(field: &'static str, v: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = pem_text(field, v)?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| field_err(field, format!("malformed PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(field_err(
            field,
            "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    for (i, c) in certs.iter().enumerate() {
        rustls::server::ParsedCertificate::try_from(c).map_err(|e| {
            field_err(
                field,
                format!(
                    "certificate {} of {} is not valid X.509: {e}",
                    i + 1,
                    certs.len()
                ),
            )
        })?;
    }
    Ok(certs)
}

fn private_key(v: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = pem_text("key", v)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| {
        field_err(
            "key",
            format!(
                "no usable PEM private key ({e}; expected -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)"
            ),
        )
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The host part of `host:port` (brackets removed from IPv6).
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// A CA minted for one proxy, and the leaves it signs.
struct Minter {
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    default: Arc<CertifiedKey>,
    default_names: Vec<String>,
    minted: Mutex<Cache>,
}

/// Leaves minted on demand by SNI name; the oldest goes first past `MAX_MINTED`.
#[derive(Default)]
struct Cache {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    order: VecDeque<String>,
}

/// A minted CA: its certificate (PEM, DER), its key (PEM) and the issuer that signs leaves.
pub struct Ca {
    pub pem: String,
    pub der: CertificateDer<'static>,
    pub key_pem: String,
    pub issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("default_names", &self.default_names)
            .finish()
    }
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
}

/// A new CA (ECDSA P-256, valid one year, may sign leaves only).
pub fn new_ca(common_name: &str) -> Result<Ca, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Shakedown chaos proxy (test CA)");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    validity(&mut params, 365);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let key_pem = key.serialize_pem();
    Ok(Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        key_pem,
        issuer: Issuer::new(params, key),
    })
}

/// A leaf for `names` signed by `issuer`: its chain (leaf, CA) and key in DER.
pub fn new_leaf(
    names: &[String],
    issuer: &Issuer<'static, KeyPair>,
    ca_der: &CertificateDer<'static>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), rcgen::Error> {
    let mut params = CertificateParams::new(names.to_vec())?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(DnType::CommonName, first.as_str());
    }
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, 90);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((vec![cert.der().clone(), ca_der.clone()], key_der))
}

fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, rustls::Error> {
    CertifiedKey::from_der(chain, key, &provider())
}

impl Minter {
    fn new(names: Vec<String>) -> Result<(Minter, String), TlsError> {
        let gen = |source| TlsError::Generate {
            field: "generate",
            source,
        };
        let Ca {
            pem: ca_pem,
            der: ca_der,
            issuer,
            ..
        } = new_ca("Shakedown proxy CA").map_err(gen)?;
        let (chain, key) =
            new_leaf(&names, &issuer, &ca_der).map_err(|source| TlsError::Generate {
                field: "names",
                source,
            })?;
        let default = certified(chain, key).map_err(|source| TlsError::Rustls {
            field: "generate",
            what: "the minted certificate is unusable",
            source,
        })?;
        Ok((
            Minter {
                issuer,
                ca_der,
                default: Arc::new(default),
                default_names: names,
                minted: Mutex::new(Cache::default()),
            },
            ca_pem,
        ))
    }

    fn covers(&self, sni: &str) -> bool {
        self.default_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(sni))
    }

    fn leaf_for(&self, sni: &str) -> Option<Arc<CertifiedKey>> {
        let name = sni.to_ascii_lowercase();
        let mut m = crate::proxy::lock(&self.minted);
        if let Some(k) = m.by_name.get(&name) {
            return Some(k.clone());
        }
        let (chain, key) = new_leaf(std::slice::from_ref(&name), &self.issuer, &self.ca_der)
            .map_err(|e| log::warn!("cannot mint a certificate for {name:?}: {e}"))
            .ok()?;
        let ck = Arc::new(certified(chain, key).ok()?);
        if m.order.len() >= MAX_MINTED {
            if let Some(old) = m.order.pop_front() {
                m.by_name.remove(&old);
            }
        }
        m.order.push_back(name.clone());
        m.by_name.insert(name, ck.clone());
        Some(ck)
    }
}

impl ResolvesServerCert for Minter {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match hello.server_name() {
            Some(sni) if !self.covers(sni) => {
                self.leaf_for(sni).or_else(|| Some(self.default.clone()))
            }
            _ => Some(self.default.clone()),
        }
    }
}

/// Accepts any upstream certificate (`verify_upstream: false`), still checking that the
/// handshake is signed by the key of the certificate shown.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A proxy's TLS set-up, built once when the proxy is created.
pub struct TlsProxy {
    pub spec: TlsSpec,
    acceptor: TlsAcceptor,
    connector: Option<TlsConnector>,
    /// The upstream's host, the name verified when neither `upstream_name` nor the client's
    /// SNI gives one.
    upstream_host: String,
    /// Names that address the proxy itself (`localhost`, the listen host): a client SNI
    /// among them is not passed on.
    own_names: Vec<String>,
    /// The minted CA's certificate, PEM (`generate` only).
    pub ca_pem: Option<String>,
    /// The names the default minted leaf covers (`generate` only).
    pub names: Vec<String>,
}

impl std::fmt::Debug for TlsProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsProxy")
            .field("generate", &self.spec.generate)
            .field("names", &self.names)
            .finish()
    }
}

const ALPN_HTTP1: &[u8] = b"http/1.1";

impl TlsProxy {
    /// Load or mint the certificate and build both TLS configurations; every failure
    /// names its field.
    pub fn build(spec: TlsSpec, listen: &str, upstream: &str) -> Result<TlsProxy, TlsError> {
        let upstream_host = host_of(upstream).to_string();
        let (resolver, ca_pem, names): (Arc<dyn ResolvesServerCert>, _, _) = if spec.generate {
            let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
            for extra in [host_of(listen), upstream_host.as_str()]
                .into_iter()
                .map(str::to_string)
                .chain(spec.names.iter().cloned())
            {
                let unspecified = extra.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
                if !extra.is_empty()
                    && !unspecified
                    && !names.iter().any(|n| n.eq_ignore_ascii_case(&extra))
                {
                    names.push(extra);
                }
            }
            let (minter, ca_pem) = Minter::new(names.clone())?;
            (Arc::new(minter), Some(ca_pem), names)
        } else {
            let chain = certs("cert", spec.cert.as_deref().unwrap_or_default())?;
            let key = private_key(spec.key.as_deref().unwrap_or_default())?;
            provider()
                .key_provider
                .load_private_key(key.clone_key())
                .map_err(|source| TlsError::Rustls {
                    field: "key",
                    what: "not a usable private key (RSA, ECDSA P-256/P-384 or Ed25519)",
                    source,
                })?;
            let ck = certified(chain, key).map_err(|source| TlsError::Rustls {
                field: "key",
                what:
                    "does not fit tls.cert (give the private key of the certificate's first entry)",
                source,
            })?;
            (
                Arc::new(rustls::sign::SingleCertAndKey::from(ck)),
                None,
                Vec::new(),
            )
        };
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                field: "cert",
                what: "no TLS version available",
                source,
            })?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        server.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
        let connector = if spec.upstream_tls {
            Some(TlsConnector::from(Arc::new(client_config(&spec)?)))
        } else {
            None
        };
        Ok(TlsProxy {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector,
            upstream_host,
            own_names: ["localhost", host_of(listen)]
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| n.to_ascii_lowercase())
                .collect(),
            ca_pem,
            names,
            spec,
        })
    }

    /// The `tls` object of the proxy's JSON. Never the key; the certificate only when it
    /// was minted (its CA, for clients to trust).
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("generate".into(), self.spec.generate.into());
        if self.spec.generate {
            m.insert("names".into(), self.names.clone().into());
        }
        if let Some(ca) = &self.ca_pem {
            m.insert("ca_cert".into(), ca.clone().into());
        }
        m.insert("upstream_tls".into(), self.spec.upstream_tls.into());
        m.insert("verify_upstream".into(), self.spec.verify_upstream.into());
        if let Some(n) = &self.spec.upstream_name {
            m.insert("upstream_name".into(), n.clone().into());
        }
        m.insert(
            "handshake_timeout_ms".into(),
            (self.spec.handshake_timeout.as_millis() as u64).into(),
        );
        Value::Object(m)
    }

    pub fn handshake_timeout(&self) -> Duration {
        self.spec.handshake_timeout
    }

    /// TLS toward the client (the caller bounds it with `handshake_timeout`).
    pub async fn accept(
        &self,
        client: TcpStream,
    ) -> io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
        self.acceptor.accept(client).await
    }

    /// The name to verify the upstream for (and send as SNI): `upstream_name`, else the
    /// client's SNI unless it names the proxy itself (`localhost`, the listen host: the
    /// client addressed the proxy, not the service), else the upstream's host.
    fn upstream_server_name(&self, sni: Option<&str>) -> io::Result<ServerName<'static>> {
        let passed_on = sni.filter(|n| !self.own_names.iter().any(|o| o.eq_ignore_ascii_case(n)));
        let name = self
            .spec
            .upstream_name
            .as_deref()
            .or(passed_on)
            .unwrap_or(&self.upstream_host);
        ServerName::try_from(name.to_string()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a valid TLS server name: {e}"),
            )
        })
    }

    /// TLS toward the upstream (`None` when `upstream_tls` is false: plaintext).
    pub fn connector(&self) -> Option<&TlsConnector> {
        self.connector.as_ref()
    }

    /// Open TLS on a dialled upstream connection, for the client's SNI.
    pub async fn connect(
        &self,
        connector: &TlsConnector,
        sni: Option<&str>,
        up: TcpStream,
    ) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = self.upstream_server_name(sni)?;
        connector.connect(name, up).await
    }
}

fn client_config(spec: &TlsSpec) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Rustls {
            field: "upstream_ca",
            what: "no TLS version available",
            source,
        })?;
    let mut config = if !spec.verify_upstream {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        match &spec.upstream_ca {
            Some(ca) => {
                for c in certs("upstream_ca", ca)? {
                    roots.add(c).map_err(|source| TlsError::Rustls {
                        field: "upstream_ca",
                        what: "not a usable CA certificate",
                        source,
                    })?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for e in &native.errors {
                    log::warn!("system root certificates: {e}");
                }
                let (added, _ignored) = roots.add_parsable_certificates(native.certs);
                if added == 0 {
                    return Err(field_err(
                        "upstream_ca",
                        "no system root certificates found to verify the upstream (give the upstream's CA as PEM text or a file path)",
                    ));
                }
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// After the client's handshake, when the upstream cannot be reached: read the request
/// head (bounded in size and time) and, if it is HTTP, answer 502 naming the cause, then
/// close the TLS session cleanly. A client that sends something else is only closed.
pub async fn bad_gateway<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut S,
    proxy: &str,
    reason: &str,
    wait: Duration,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(wait, async {
        while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let is_http = head
        .iter()
        .position(|&b| b == b' ')
        .is_some_and(|i| i > 0 && head[..i].iter().all(u8::is_ascii_uppercase));
    if read.is_ok() && is_http {
        let body = format!("shakedown proxy {proxy}: {reason}\n");
        let resp = format!(
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nX-Shakedown-Proxy-Error: upstream\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(wait, client.write_all(resp.as_bytes())).await;
    }
    let _ = tokio::time::timeout(wait, client.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        TlsSpec::parse(&v).expect_err("refused").to_string()
    }

    #[test]
    fn specs_are_checked_field_by_field() {
        assert_eq!(TlsSpec::parse(&Value::Null).expect("null"), None);
        let s = TlsSpec::parse(&json!({"generate": true}))
            .expect("ok")
            .expect("some");
        assert!(s.generate && s.verify_upstream && s.upstream_tls);
        assert_eq!(s.handshake_timeout, HANDSHAKE_TIMEOUT);
        assert!(err(json!({})).contains("give \"cert\" and \"key\""));
        assert!(err(json!({"cert": "x"})).starts_with("tls.key: missing"));
        assert!(err(json!({"key": "x"})).starts_with("tls.cert: missing"));
        assert!(err(json!({"generate": true, "cert": "x"})).starts_with("tls.generate:"));
        assert!(err(json!({"generate": 1})).starts_with("tls.generate: expected true or false"));
        assert!(err(json!({"generate": true, "verify_upsteam": false}))
            .contains("unknown key \"verify_upsteam\""));
        assert!(err(json!({"generate": true, "handshake_timeout_ms": 0}))
            .starts_with("tls.handshake_timeout_ms"));
        assert!(err(json!({"cert": "a", "key": "b", "names": ["x"]})).starts_with("tls.names"));
        assert!(err(json!("yes")).contains("expected an object"));
    }

    #[test]
    fn bad_certificates_and_keys_name_their_field() {
        let build = |v: Value| {
            let spec = TlsSpec::parse(&v).expect("parse").expect("some");
            TlsProxy::build(spec, "127.0.0.1:0", "127.0.0.1:1")
                .expect_err("refused")
                .to_string()
        };
        let e = build(
            json!({"cert": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "key": "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"}),
        );
        assert!(e.starts_with("tls.cert: "), "{e}");
        let e = build(json!({"cert": "/nonexistent/cert.pem", "key": "/nonexistent/key.pem"}));
        assert!(
            e.starts_with("tls.cert: cannot read file \"/nonexistent/cert.pem\""),
            "{e}"
        );
        // A real certificate with another certificate's key.
        let key = KeyPair::generate().expect("key");
        let pem = CertificateParams::new(vec!["a.test".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert")
            .pem();
        let other = KeyPair::generate().expect("key");
        let e = build(json!({"cert": pem, "key": other.serialize_pem()}));
        assert!(e.starts_with("tls.key: does not fit tls.cert"), "{e}");
        let e = build(
            json!({"cert": pem, "key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
        );
        assert!(e.starts_with("tls.key: "), "{e}");
        // The right key works.
        let spec = TlsSpec::parse(
            &json!({"cert": pem, "key": key.serialize_pem(), "verify_upstream": false}),
        )
        .expect("parse")
        .expect("some");
        TlsProxy::build(spec, "127.0.0.1:0", "127.0.0.1:1").expect("accepted");
    }

    #[test]
    fn hosts_are_split_from_ports() {
        assert_eq!(host_of("127.0.0.1:443"), "127.0.0.1");
        assert_eq!(host_of("[::1]:443"), "::1");
        assert_eq!(host_of("api.test:8443"), "api.test");
    }
}
