//! Credentials and the API client, as upstream's `create_k8s_api_client(secrets)` resolves
//! them, plus thin raw-JSON request helpers.
//!
//! Upstream builds a fresh client for every activity; Shakedown builds one per set of
//! credentials and reuses it for the whole run (connection reuse matters when an
//! experiment runs dozens of probes). Requests and responses stay raw JSON so failure
//! messages can quote the API's own `Status` body byte for byte, as upstream does.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use experiment::pyrepr::py_str;
use experiment::{Map, Value};
use futures::{Stream, StreamExt};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, AttachedProcess, WatchEvent};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Config;
use providers::{FailureKind, ProviderError};

/// A client plus the URL it talks to (for error messages).
#[derive(Clone)]
pub struct Kube {
    client: kube::Client,
    url: String,
}

/// An API answer that is not 2xx: upstream's `ApiException`.
#[derive(Debug, Clone)]
pub struct ApiStatus {
    pub code: u16,
    pub body: String,
}

impl ApiStatus {
    pub fn reason(&self) -> &'static str {
        StatusCode::from_u16(self.code)
            .ok()
            .and_then(|c| c.canonical_reason())
            .unwrap_or("Unknown")
    }

    /// The `message` of the `Status` body, or the body itself.
    pub fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(String::from))
            .unwrap_or_else(|| self.body.clone())
    }

    /// `kubernetes.client.exceptions.ApiException: (404)` … as the Python client prints it.
    pub fn exception(&self) -> ProviderError {
        ProviderError::failed(
            FailureKind::Remote,
            format!(
            "kubernetes.client.exceptions.ApiException: ({})\nReason: {}\nHTTP response body: {}",
            self.code,
            self.reason(),
            self.body.trim_end()
        ),
        )
    }
}

/// The result of one request: transport failures are `Err`, API refusals `Ok(Err)`.
pub type Answer = Result<Result<Value, ApiStatus>, ProviderError>;

/// `builder` with the running activity's trace context (`providers::outbound`: set by a
/// tracing control around each activity, empty otherwise). Taken here, in the activity's
/// own task, because kube's client hands the request to a worker task of its own (a tower
/// `Buffer`) where the activity's task-local is no longer visible.
fn with_trace_context(mut builder: http::request::Builder) -> http::request::Builder {
    for (name, value) in providers::outbound::current() {
        builder = builder.header(name, value);
    }
    builder
}

/// Content types for PATCH.
pub const STRATEGIC: &str = "application/strategic-merge-patch+json";

impl Kube {
    /// The underlying kube-rs client, for code that uses kube's typed API and runtime (the
    /// operator) with the same credentials and connector as every `chaosk8s` function.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The API server's URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One request with a JSON body (if any): the status and the raw body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, &Value)>,
    ) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        self.send_accepting(method, path, body, None).await
    }

    /// [`Kube::send`] with an optional `Accept` header.
    async fn send_accepting(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, &Value)>,
        accept: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        let (status, _, bytes) = self.exchange(method, path, body, accept).await?;
        Ok((status, bytes))
    }

    /// One request with a JSON body (if any) and an optional `Accept` header: the status,
    /// the response headers and the raw body. For callers whose upstream returns all three
    /// (`chaosistio` answers `{status, body, headers}`).
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, &Value)>,
        accept: Option<&str>,
    ) -> Result<(StatusCode, http::HeaderMap, Vec<u8>), ProviderError> {
        let mut builder = with_trace_context(Request::builder().method(method).uri(path));
        if let Some(accept) = accept {
            builder = builder.header(http::header::ACCEPT, accept);
        }
        let bytes = match body {
            Some((content_type, value)) => {
                builder = builder.header(http::header::CONTENT_TYPE, content_type);
                serde_json::to_vec(value).map_err(|e| {
                    ProviderError::failed(
                        FailureKind::Declaration,
                        format!("ValueError: cannot encode request body: {e}"),
                    )
                })?
            }
            None => Vec::new(),
        };
        let request = builder.body(kube::client::Body::from(bytes)).map_err(|e| {
            ProviderError::failed(
                FailureKind::Declaration,
                format!("ValueError: bad request {path}: {e}"),
            )
        })?;
        let response = self
            .client
            .send(request)
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| self.unreachable(&e))?
            .to_bytes();
        Ok((status, parts.headers, bytes.to_vec()))
    }

    /// One request answered as JSON.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, &Value)>,
    ) -> Answer {
        let (status, bytes) = self.send(method, path, body).await?;
        self.decode(path, status, bytes)
    }

    /// A list of objects' metadata only (`PartialObjectMetadataList`): the same one LIST
    /// request, but the server skips encoding specs and statuses, which dominates the
    /// time of large lists. A server that cannot do it (406) gets the plain list.
    pub async fn list_metadata(&self, path: &str) -> Result<Value, ProviderError> {
        const META: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        let (status, bytes) = self
            .send_accepting(Method::GET, path, None, Some(META))
            .await?;
        if status == StatusCode::NOT_ACCEPTABLE {
            return self.get_ok(path).await;
        }
        self.decode(path, status, bytes)?.map_err(|e| e.exception())
    }

    fn decode(&self, path: &str, status: StatusCode, bytes: Vec<u8>) -> Answer {
        if !status.is_success() {
            return Ok(Err(ApiStatus {
                code: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            }));
        }
        if bytes.is_empty() {
            return Ok(Ok(Value::Null));
        }
        serde_json::from_slice(&bytes).map(Ok).map_err(|e| {
            ProviderError::failed(
                FailureKind::Remote,
                format!(
                    "ValueError: the Kubernetes API at {} answered {path} with invalid JSON: {e}",
                    self.url
                ),
            )
        })
    }

    /// A GET answered as text (pod logs).
    pub async fn text(&self, path: &str) -> Result<Result<String, ApiStatus>, ProviderError> {
        let (status, bytes) = self.send(Method::GET, path, None).await?;
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if status.is_success() {
            Ok(Ok(body))
        } else {
            Ok(Err(ApiStatus {
                code: status.as_u16(),
                body,
            }))
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, None).await
    }

    /// GET that turns an API refusal into upstream's `ApiException`.
    pub async fn get_ok(&self, path: &str) -> Result<Value, ProviderError> {
        self.get(path).await?.map_err(|e| e.exception())
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.request(Method::POST, path, Some(("application/json", body)))
            .await
    }

    pub async fn patch(&self, path: &str, content_type: &str, body: &Value) -> Answer {
        self.request(Method::PATCH, path, Some((content_type, body)))
            .await
    }

    pub async fn delete(&self, path: &str, options: Option<&Value>) -> Answer {
        match options {
            Some(o) => {
                self.request(Method::DELETE, path, Some(("application/json", o)))
                    .await
            }
            None => self.request(Method::DELETE, path, None).await,
        }
    }

    /// A watch stream of raw objects (`path` must carry `watch=true`).
    pub async fn watch(
        &self,
        path: &str,
    ) -> Result<impl Stream<Item = Result<WatchEvent<Value>, kube::Error>> + use<>, ProviderError>
    {
        let request = with_trace_context(Request::builder().method(Method::GET).uri(path))
            .body(Vec::new())
            .map_err(|e| {
                ProviderError::failed(
                    FailureKind::Declaration,
                    format!("ValueError: bad request {path}: {e}"),
                )
            })?;
        match self.client.request_events::<Value>(request).await {
            Ok(stream) => Ok(stream),
            Err(kube::Error::Api(status)) => Err(ApiStatus {
                code: status.code,
                body: serde_json::to_string(&status).unwrap_or_default(),
            }
            .exception()),
            Err(e) => Err(self.unreachable(&e)),
        }
    }

    /// Starts `command` in `container` of pod `ns/pod` over the exec WebSocket
    /// (`GET …/pods/{pod}/exec?command=…&container=…&stdout=true&stderr=true`, protocol
    /// `v5.channel.k8s.io` or `v4`): the running process, or the API's refusal (e.g. no such
    /// container, or the node's kubelet cannot be reached).
    pub async fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        command: &[String],
    ) -> Result<Result<AttachedProcess, ApiStatus>, ProviderError> {
        let pods: kube::Api<Pod> = kube::Api::namespaced(self.client.clone(), ns);
        let params = AttachParams::default()
            .container(container)
            .stdout(true)
            .stderr(true);
        match pods.exec(pod, command.to_vec(), &params).await {
            Ok(process) => Ok(Ok(process)),
            Err(kube::Error::Api(status)) => Ok(Err(ApiStatus {
                code: status.code,
                body: serde_json::to_string(&status).unwrap_or_default(),
            })),
            Err(kube::Error::UpgradeConnection(e)) => Err(ProviderError::failed(
                FailureKind::Remote,
                format!(
                    "kubernetes.client.exceptions.ApiException: the Kubernetes API at {} did not \
                 open the exec WebSocket for pod '{pod}': {e}",
                    self.url
                ),
            )),
            Err(e) => Err(self.unreachable(&e)),
        }
    }

    /// ONE line naming the API and the root cause, instead of a chain of wrappers.
    pub fn unreachable(&self, e: &(dyn std::error::Error + 'static)) -> ProviderError {
        ProviderError::failed(
            FailureKind::Unreachable,
            format!(
                "urllib3.exceptions.MaxRetryError: cannot reach the Kubernetes API at {}: {} \
             (check KUBECONFIG / KUBERNETES_CONTEXT and that the cluster is up)",
                self.url,
                root_cause(e)
            ),
        )
    }
}

/// The innermost error's text, with io errors phrased like the OS (`connection refused`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = e;
    let mut io: Option<&std::io::Error> = None;
    while let Some(next) = current.source() {
        if let Some(i) = current.downcast_ref::<std::io::Error>() {
            io = Some(i);
        }
        current = next;
    }
    if let Some(i) = current.downcast_ref::<std::io::Error>() {
        io = Some(i);
    }
    match io.map(std::io::Error::kind) {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".into(),
        Some(std::io::ErrorKind::TimedOut) => "connection timed out".into(),
        _ => current.to_string(),
    }
}

/// One key from the flat secrets first, then the environment, as upstream's lookups.
fn lookup(secrets: &Map, key: &str) -> Option<String> {
    match secrets.get(key) {
        Some(Value::Null) | None => std::env::var(key).ok(),
        Some(v) => Some(py_str(v)),
    }
}

/// How the credentials were chosen; also the cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Source {
    Kubeconfig {
        paths: Vec<PathBuf>,
        context: Option<String>,
    },
    InCluster,
    Explicit(Vec<(String, String)>),
}

const EXPLICIT_KEYS: &[&str] = &[
    "KUBERNETES_HOST",
    "KUBERNETES_VERIFY_SSL",
    "KUBERNETES_CA_CERT_FILE",
    "KUBERNETES_API_KEY",
    "KUBERNETES_API_KEY_PREFIX",
    "KUBERNETES_CERT_FILE",
    "KUBERNETES_KEY_FILE",
    "KUBERNETES_USERNAME",
    "KUBERNETES_PASSWORD",
];

/// Upstream precedence: an existing kubeconfig, else `CHAOSTOOLKIT_IN_POD=true`, else the
/// explicit `KUBERNETES_*` keys.
fn source(secrets: &Map) -> Source {
    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list)
            .filter(|p| p.is_file())
            .collect(),
        _ => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".kube").join("config"))
            .filter(|p| p.is_file())
            .into_iter()
            .collect(),
    };
    if !paths.is_empty() {
        return Source::Kubeconfig {
            paths,
            context: lookup(secrets, "KUBERNETES_CONTEXT").filter(|c| !c.is_empty()),
        };
    }
    if std::env::var("CHAOSTOOLKIT_IN_POD").as_deref() == Ok("true") {
        return Source::InCluster;
    }
    Source::Explicit(
        EXPLICIT_KEYS
            .iter()
            .filter_map(|k| lookup(secrets, k).map(|v| ((*k).to_string(), v)))
            .collect(),
    )
}

fn config_error(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::failed(
        FailureKind::Environment,
        format!("kubernetes.config.config_exception.ConfigException: {what}: {e}"),
    )
}

async fn build_config(source: &Source) -> Result<Config, ProviderError> {
    let mut config = match source {
        Source::Kubeconfig { paths, context } => {
            let mut merged: Option<Kubeconfig> = None;
            for p in paths {
                let kc = Kubeconfig::read_from(p)
                    .map_err(|e| config_error(&format!("invalid kubeconfig {}", p.display()), e))?;
                merged = Some(match merged {
                    None => kc,
                    Some(m) => m
                        .merge(kc)
                        .map_err(|e| config_error("kubeconfig merge", e))?,
                });
            }
            let kc = merged.unwrap_or_default();
            let options = KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| {
                    let shown: Vec<String> =
                        paths.iter().map(|p| p.display().to_string()).collect();
                    config_error(&format!("cannot use kubeconfig {}", shown.join(":")), e)
                })?
        }
        Source::InCluster => Config::incluster().map_err(|e| {
            config_error(
                "CHAOSTOOLKIT_IN_POD=true but the in-cluster service account is unusable",
                e,
            )
        })?,
        Source::Explicit(keys) => explicit_config(keys).await?,
    };
    // Upstream never retries; a PDB's 429 must reach the experiment, not be retried away.
    config.default_retry = false;
    Ok(config)
}

/// `KUBERNETES_HOST` & co., expressed as an in-memory kubeconfig so kube-rs handles the
/// CA file, client certificates, tokens and basic auth exactly as for a file.
async fn explicit_config(keys: &[(String, String)]) -> Result<Config, ProviderError> {
    let get = |k: &str| {
        keys.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let host = get("KUBERNETES_HOST").unwrap_or_else(|| "http://localhost".into());
    // Upstream: unset ⇒ no verification; any value but Python's `False` ⇒ verify.
    let verify = get("KUBERNETES_VERIFY_SSL").is_some_and(|v| v != "False");
    let mut cluster = serde_json::json!({"server": host, "insecure-skip-tls-verify": !verify});
    if let Some(ca) = get("KUBERNETES_CA_CERT_FILE") {
        cluster["certificate-authority"] = Value::String(ca);
        cluster["insecure-skip-tls-verify"] = Value::Bool(false);
    }
    let mut user = serde_json::json!({});
    let mut extra_header = None;
    if let Some(key) = get("KUBERNETES_API_KEY") {
        let prefix = get("KUBERNETES_API_KEY_PREFIX").unwrap_or_else(|| "Bearer".into());
        if prefix == "Bearer" {
            user["token"] = Value::String(key);
        } else {
            extra_header = Some(format!("{prefix} {key}"));
        }
    } else if let (Some(cert), Some(key)) =
        (get("KUBERNETES_CERT_FILE"), get("KUBERNETES_KEY_FILE"))
    {
        user["client-certificate"] = Value::String(cert);
        user["client-key"] = Value::String(key);
    } else if let (Some(u), Some(p)) = (get("KUBERNETES_USERNAME"), get("KUBERNETES_PASSWORD")) {
        user["username"] = Value::String(u);
        user["password"] = Value::String(p);
    }
    let doc = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "chaostoolkit",
        "clusters": [{"name": "chaostoolkit", "cluster": cluster}],
        "users": [{"name": "chaostoolkit", "user": user}],
        "contexts": [{"name": "chaostoolkit", "context": {"cluster": "chaostoolkit", "user": "chaostoolkit"}}],
    });
    let kc: Kubeconfig = serde_json::from_value(doc)
        .map_err(|e| config_error("invalid KUBERNETES_* settings", e))?;
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| config_error(&format!("invalid KUBERNETES_HOST {host:?} settings"), e))?;
    if let Some(value) = extra_header {
        let value = http::HeaderValue::from_str(&value)
            .map_err(|e| config_error("invalid KUBERNETES_API_KEY", e))?;
        config.headers.push((http::header::AUTHORIZATION, value));
    }
    Ok(config)
}

/// A cached client and a sentinel that closes when the runtime that owns the client's
/// background tasks shuts down (then the client is rebuilt on the current runtime).
struct Cached {
    kube: Kube,
    alive: tokio::sync::mpsc::Sender<()>,
}

fn cache() -> &'static Mutex<HashMap<Source, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<Source, Cached>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The client for these secrets: built once per credentials and runtime, then reused.
pub async fn client_for(secrets: &Map) -> Result<Kube, ProviderError> {
    client_from_source(source(secrets)).await
}

async fn client_from_source(source: Source) -> Result<Kube, ProviderError> {
    if let Ok(map) = cache().lock() {
        if let Some(c) = map.get(&source).filter(|c| !c.alive.is_closed()) {
            return Ok(c.kube.clone());
        }
    }
    providers::http::ensure_tls_provider();
    let config = build_config(&source).await?;
    let url = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let client = crate::connect::client(config).map_err(|e| {
        ProviderError::failed(FailureKind::Environment, format!(
            "kubernetes.config.config_exception.ConfigException: cannot build a client for {url}: {e}"
        ))
    })?;
    let kube = Kube { client, url };
    let (alive, mut sentinel) = tokio::sync::mpsc::channel::<()>(1);
    tokio::spawn(async move { while sentinel.recv().await.is_some() {} });
    if let Ok(mut map) = cache().lock() {
        map.insert(
            source,
            Cached {
                kube: kube.clone(),
                alive,
            },
        );
    }
    Ok(kube)
}

/// The client for one kubeconfig file (PowerfulSeal's `--kubeconfig`), cached like
/// [`client_for`]; `None` resolves as [`client_for`] does without secrets (`$KUBECONFIG`,
/// `~/.kube/config`, `CHAOSTOOLKIT_IN_POD=true`, the `KUBERNETES_*` variables).
pub async fn client_for_kubeconfig(path: Option<&std::path::Path>) -> Result<Kube, ProviderError> {
    let Some(path) = path else {
        return client_for(&Map::new()).await;
    };
    if !path.is_file() {
        return Err(config_error(
            &format!("kubeconfig {}", path.display()),
            "no such file (check --kubeconfig)",
        ));
    }
    let source = Source::Kubeconfig {
        paths: vec![path.to_path_buf()],
        context: None,
    };
    client_from_source(source).await
}

/// Percent-encodes query parameters (skipping `None`s).
pub fn query(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in params {
        if let Some(v) = v {
            ser.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", ser.finish())
    } else {
        path.to_string()
    }
}

/// Watches `path` (a collection URL with its selectors, without `watch`) for at most
/// `timeout` and says whether an added or modified object satisfied `done` — including
/// the initial ADDED events for objects that already exist, as upstream's watch loop.
pub async fn watch_until(
    api: &Kube,
    path: &str,
    timeout: std::time::Duration,
    done: impl Fn(&Value) -> bool,
) -> Result<bool, ProviderError> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let secs = timeout.as_secs().max(1);
    let path = format!("{path}{sep}watch=true&timeoutSeconds={secs}");
    let wait = async {
        let stream = api.watch(&path).await?;
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(WatchEvent::Added(o)) | Ok(WatchEvent::Modified(o)) if done(&o) => {
                    return Ok(true)
                }
                Ok(WatchEvent::Error(e)) => {
                    log::debug!("watch of {path} ended: {e:?}");
                    return Ok(false);
                }
                Ok(_) => {}
                Err(e) => return Err(api.unreachable(&e)),
            }
        }
        Ok(false)
    };
    match tokio::time::timeout(timeout, wait).await {
        Ok(r) => r,
        Err(_) => Ok(false),
    }
}
