//! A stand-in for the book's ingresses (nginx's, then Istio's ingress gateway), the mesh's
//! sidecars and the two apps behind them (go-demo-8 and the repeater).
//!
//! kwok pods run no containers and no istiod or Envoy can run on the test control plane, so
//! the book's HTTP probes have nothing to talk to. This std-only server answers them the
//! way the book's cluster would, from the cluster's real state. It stays a *test-support*
//! module on purpose: it models only what the book's experiments can observe, and a test
//! that passes against it proves that the experiments act on the real API objects (a fault
//! the tool never wrote to the VirtualService is never felt here), not that Envoy works.
//!
//! State is read through the API server for every request: a request uses a snapshot whose
//! read *started after the request arrived*. Concurrent requests share one read (one
//! `kubectl get` of the core objects, one of Istio's) so that a load of 50 connections
//! does not start 50 kubectl processes at once.
//!
//! ## nginx (the `Host` is no Istio Gateway's)
//!
//! - routed by the Ingress objects' rules (no rule: `404`, like nginx's default backend);
//! - the rule's Service has no ready endpoint in its EndpointSlices (the endpoint slice
//!   controller marks terminating and not-yet-ready pods not ready): `503`;
//! - the app's database Service has no ready endpoint: the app blocks the way go-demo-8
//!   does while its Mongo driver looks for a server, [`DB_WAIT`], then `500`;
//! - otherwise `200` with a small JSON body.
//!
//! ## Istio (the `Host` is one of a Gateway's `servers[].hosts`)
//!
//! - **Routing**: the VirtualServices bound to that Gateway (`gateways`) whose `hosts` hold
//!   the `Host`; the first `http[]` rule whose `match` list is absent or has an entry that
//!   matches (`uri` exact/prefix, `method`, `headers` exact/prefix; any other condition,
//!   e.g. a `regex`, never matches here); among its `route[]` destinations, by `weight`, in
//!   a fixed rotation (`n`-th request of the rule goes to the destination whose cumulative
//!   weight range holds `n mod total`). A Gateway host without a VirtualService: `404`.
//! - **Destination**: `host` is a Service's short name (or an FQDN starting with it);
//!   `subset` picks the DestinationRule subset whose `labels` a pod must carry. The ready
//!   endpoints (EndpointSlices) of those pods are served in rotation; none, or a subset no
//!   DestinationRule declares: `503 no healthy upstream` (Envoy's local reply, not retried).
//! - **Fault** (`http[].fault`), on the caller's side before routing, as Envoy's fault
//!   filter sits before its router: `delay.fixedDelay` is waited first, then `abort`
//!   answers `httpStatus` with Envoy's body `fault filter abort`. Each applies to its own
//!   `percentage.value` (or the old integer `percent`; neither means 100 %) of requests,
//!   chosen independently. **Deterministic selection** instead of Envoy's random draw: the
//!   `n`-th request (from 0) a fault sees is selected when `floor((n+1)·p/100) >
//!   floor(n·p/100)`, so exactly `p` % of any run of requests are hit, spread evenly (50 %:
//!   every second request, the first one spared). The count restarts with every new
//!   `metadata.generation` of the VirtualService, so a fault added again starts afresh.
//! - **Retries and timeouts** of the rule (the router's): `retries.attempts` more tries
//!   when the answer matches `retryOn` (`5xx`: any 5xx or a per-try timeout;
//!   `gateway-error`: 502/503/504; `retriable-status-codes`: 503); `perTryTimeout` ends a
//!   try that would take longer with `504 upstream request timeout`; `timeout` bounds all
//!   tries. Without `retries`, Istio's default policy: 2 attempts on
//!   `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes` (503).
//!   Each try reaches the next hop afresh, so retries on the gateway's route overcome a
//!   fault injected further down (the book's E10 and E11 fixes). Time is simulated: a
//!   request's delays, per-try timeouts and route timeout add up to one duration, which the
//!   stand-in then waits before answering (a try cut at 2 s costs 2 s, not the 15 s delay).
//! - **Apps** (by the destination Service's name): `repeater` forwards to its `addr` query
//!   parameter through the mesh (the VirtualServices bound to `mesh`, i.e. without
//!   `gateways`, whose `hosts` hold the target's name; none: straight to the Service) and
//!   answers with its upstream's status and body; `go-demo-8` answers `/limiter` with
//!   go-demo-8's limiter per pod (`rate.NewLimiter(5, 10)`; once refused, every request to
//!   that pod gets `429` for 15 s), `/demo/person` as the nginx path's app does (needs the
//!   database), anything else `Version: 0.0.1; Release: unknown`.
//! - **Metrics**: [`StandInIngress::metrics_address`] serves `istio_requests_total`
//!   (`source_workload`, `destination_service_name`, `response_code`) as Envoy's Istio
//!   stats do, one count per answer of each hop (a fault's answer included), for a
//!   Prometheus to scrape.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the app hangs without its database (longer than any probe timeout in the book).
pub const DB_WAIT: Duration = Duration::from_secs(10);

/// go-demo-8's limiter: 5 requests per second, bursts of 10, then 15 s of refusals.
const LIMIT_RATE: f64 = 5.0;
const LIMIT_BURST: f64 = 10.0;
const LIMIT_COOL_DOWN: Duration = Duration::from_secs(15);

/// Where the stand-in reads cluster state, and which Service the app needs.
#[derive(Clone)]
pub struct Cluster {
    pub kubectl: PathBuf,
    pub kubeconfig: String,
    pub namespace: String,
    /// The app's database Service (go-demo-8's `DB` environment variable).
    pub database_service: String,
}

pub struct StandInIngress {
    port: u16,
    metrics_port: u16,
}

impl StandInIngress {
    pub fn start(cluster: Cluster) -> StandInIngress {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in ingress");
        let port = listener.local_addr().expect("local addr").port();
        let metrics = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in's metrics");
        let metrics_port = metrics.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared {
            cluster,
            snapshot: Mutex::new(None),
            counters: Mutex::new(HashMap::new()),
            limiters: Mutex::new(HashMap::new()),
            requests: Mutex::new(BTreeMap::new()),
        });
        let serving = shared.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                thread::spawn(move || serve(stream, &shared));
            }
        });
        thread::spawn(move || {
            for stream in metrics.incoming().flatten() {
                serve_metrics(stream, &shared);
            }
        });
        StandInIngress { port, metrics_port }
    }

    /// `host:port` for the experiments' `INGRESS_HOST`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `host:port` of the `/metrics` endpoint (Envoy's stats port, in the mesh).
    pub fn metrics_address(&self) -> String {
        format!("127.0.0.1:{}", self.metrics_port)
    }
}

/// The cluster objects one request is answered from.
struct Snapshot {
    /// When the read began.
    started: Instant,
    /// Ingresses, EndpointSlices and Pods of the namespace.
    core: Vec<Value>,
    /// Gateways, VirtualServices and DestinationRules (empty without Istio's CRDs).
    istio: Vec<Value>,
}

/// `(source_workload, destination_service_name, response_code)` → count.
type Requests = BTreeMap<(String, String, u16), u64>;

struct Shared {
    cluster: Cluster,
    snapshot: Mutex<Option<Arc<Snapshot>>>,
    /// Requests seen per fault, route rotation and endpoint rotation.
    counters: Mutex<HashMap<String, u64>>,
    /// go-demo-8's limiter, per pod.
    limiters: Mutex<HashMap<String, Limiter>>,
    requests: Mutex<Requests>,
}

struct Request {
    method: String,
    host: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
}

/// An answer and how long it took (simulated).
struct Outcome {
    status: u16,
    body: String,
    elapsed: Duration,
    /// A router's local reply (no healthy upstream): never retried.
    local: bool,
}

impl Outcome {
    fn new(status: u16, body: &str) -> Outcome {
        Outcome {
            status,
            body: body.to_string(),
            elapsed: Duration::ZERO,
            local: false,
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let arrived = Instant::now();
    let Some(request) = read_request(&stream) else {
        return;
    };
    let snapshot = shared.snapshot(arrived);
    let outcome = shared.answer(&snapshot, &request);
    thread::sleep(outcome.elapsed);
    respond(stream, outcome.status, &outcome.body);
}

fn respond(mut stream: TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn serve_metrics(stream: TcpStream, shared: &Shared) {
    if read_request(&stream).is_none() {
        return;
    }
    let mut body = String::from("# TYPE istio_requests_total counter\n");
    for ((source, destination, code), n) in shared.requests.lock().expect("requests").iter() {
        body.push_str(&format!(
            "istio_requests_total{{reporter=\"source\",source_workload=\"{source}\",destination_service_name=\"{destination}\",response_code=\"{code}\"}} {n}\n"
        ));
    }
    respond(stream, 200, &body);
}

/// The request line and headers; `None` if the request is unreadable.
fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let host = headers
        .iter()
        .find(|(n, _)| n == "host")
        .map(|(_, v)| v.split(':').next().unwrap_or(v).to_string())
        .unwrap_or_default();
    Some(Request {
        method,
        host,
        path: if path.is_empty() { "/".into() } else { path },
        query,
        headers,
    })
}

/// `key`'s value in a query string, as sent: the book's `addr` values are never
/// percent-encoded, and a test that needs decoding can add it here.
fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// `"15s"`, `"0.5s"`, `"500ms"`, `"1m"`, `"1h"` (protobuf durations and Envoy's spellings).
fn duration(v: &Value) -> Option<Duration> {
    let s = v.as_str()?.trim();
    let (number, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))?;
    let n: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    (seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// A fault's share of requests in thousandths of a percent: `percentage.value`, else the
/// old integer `percent`, else all.
fn share(fault: &Value) -> u64 {
    let percent = fault["percentage"]["value"]
        .as_f64()
        .or_else(|| fault["percent"].as_f64())
        .unwrap_or(100.0);
    (percent.clamp(0.0, 100.0) * 1000.0).round() as u64
}

/// Whether the `n`-th request (from 0) falls in a `share` (thousandths of a percent).
fn selected(n: u64, share: u64) -> bool {
    (n + 1) * share / 100_000 > n * share / 100_000
}

fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// A VirtualService or Gateway host entry (`*`, `*.acme.com`, `ns/host`) matching `host`.
fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.rsplit('/').next().unwrap_or(pattern);
    pattern == "*"
        || pattern == host
        || pattern
            .strip_prefix('*')
            .is_some_and(|suffix| host.ends_with(suffix))
        || host
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// A Service's short name from a destination host (`go-demo-8`,
/// `go-demo-8.go-demo-8.svc.cluster.local`).
fn short(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

/// Whether one `http[].match[]` entry matches.
fn match_entry(m: &Value, request: &Request) -> bool {
    let Some(conditions) = m.as_object() else {
        return false;
    };
    conditions.iter().all(|(key, cond)| match key.as_str() {
        "name" => true,
        "ignoreUriCase" => true,
        "uri" => string_match(cond, &request.path, m["ignoreUriCase"] == Value::Bool(true)),
        "method" => string_match(cond, &request.method, false),
        "headers" => cond.as_object().is_some_and(|headers| {
            headers.iter().all(|(h, c)| {
                request
                    .headers
                    .iter()
                    .find(|(n, _)| *n == h.to_ascii_lowercase())
                    .is_some_and(|(_, v)| string_match(c, v, false))
            })
        }),
        _ => false,
    })
}

fn string_match(cond: &Value, value: &str, ignore_case: bool) -> bool {
    let norm = |s: &str| {
        if ignore_case {
            s.to_ascii_lowercase()
        } else {
            s.to_string()
        }
    };
    if let Some(e) = cond["exact"].as_str() {
        norm(value) == norm(e)
    } else if let Some(p) = cond["prefix"].as_str() {
        norm(value).starts_with(&norm(p))
    } else {
        false
    }
}

/// A rule's retry policy: (more attempts, per-try timeout, retryOn).
fn retry_policy(rule: &Value) -> (u64, Option<Duration>, String) {
    match rule.get("retries") {
        Some(r) => (
            r["attempts"].as_u64().unwrap_or(0),
            duration(&r["perTryTimeout"]),
            r["retryOn"].as_str().unwrap_or("").to_string(),
        ),
        None => (
            2,
            None,
            "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes".into(),
        ),
    }
}

fn retriable(retry_on: &str, o: &Outcome) -> bool {
    !o.local
        && retry_on.split(',').map(str::trim).any(|on| match on {
            "5xx" => o.status >= 500,
            "gateway-error" => matches!(o.status, 502..=504),
            "retriable-status-codes" => o.status == 503,
            _ => false,
        })
}

struct Limiter {
    tokens: f64,
    last: Instant,
    refused_at: Option<Instant>,
}

impl Shared {
    /// A snapshot whose read started after `arrived`: the last one, or a new read.
    fn snapshot(&self, arrived: Instant) -> Arc<Snapshot> {
        let mut last = self.snapshot.lock().expect("snapshot");
        if let Some(s) = last.as_ref().filter(|s| s.started >= arrived) {
            return s.clone();
        }
        let started = Instant::now();
        // The two reads at once: they are most of a request's time.
        let (core, istio) = thread::scope(|scope| {
            let core = scope.spawn(|| self.items("ingresses,endpointslices,pods"));
            let istio = self.items(
                "gateways.networking.istio.io,virtualservices.networking.istio.io,destinationrules.networking.istio.io",
            );
            (core.join().unwrap_or_default(), istio)
        });
        let s = Arc::new(Snapshot {
            started,
            core,
            istio,
        });
        *last = Some(s.clone());
        s
    }

    /// The namespace's objects of `kinds`; none when kubectl fails (no Istio CRDs, say).
    fn items(&self, kinds: &str) -> Vec<Value> {
        let out = Command::new(&self.cluster.kubectl)
            .arg("--kubeconfig")
            .arg(&self.cluster.kubeconfig)
            .args(["-n", &self.cluster.namespace, "-o", "json", "get", kinds])
            .output();
        let list: Value = match out {
            Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        list["items"].as_array().cloned().unwrap_or_default()
    }

    fn next(&self, key: &str) -> u64 {
        let mut counters = self.counters.lock().expect("counters");
        let n = counters.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n - 1
    }

    fn count(&self, source: &str, destination: &str, status: u16) {
        *self
            .requests
            .lock()
            .expect("requests")
            .entry((source.into(), destination.into(), status))
            .or_insert(0) += 1;
    }

    fn answer(&self, s: &Snapshot, request: &Request) -> Outcome {
        let gateways: Vec<&str> = s
            .istio
            .iter()
            .filter(|o| o["kind"] == "Gateway")
            .filter(|g| {
                g["spec"]["servers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|server| {
                        strings(&server["hosts"])
                            .iter()
                            .any(|h| host_matches(h, &request.host))
                    })
            })
            .map(name)
            .collect();
        if gateways.is_empty() {
            return self.nginx(s, request);
        }
        let bound = |vs: &&Value| {
            strings(&vs["spec"]["gateways"])
                .iter()
                .any(|g| gateways.contains(&g.rsplit('/').next().unwrap_or(g)))
        };
        match self.virtual_service(s, &request.host, bound) {
            Some(vs) => self.through(s, vs, request, "istio-ingressgateway"),
            None => Outcome::new(404, ""),
        }
    }

    /// The first VirtualService `bound` that lists `host`.
    fn virtual_service<'a>(
        &self,
        s: &'a Snapshot,
        host: &str,
        bound: impl Fn(&&'a Value) -> bool,
    ) -> Option<&'a Value> {
        s.istio
            .iter()
            .filter(|o| o["kind"] == "VirtualService")
            .filter(bound)
            .find(|vs| {
                strings(&vs["spec"]["hosts"])
                    .iter()
                    .any(|h| host_matches(h, host))
            })
    }

    /// A request through one VirtualService: its rule's fault, then its router.
    fn through(&self, s: &Snapshot, vs: &Value, request: &Request, source: &str) -> Outcome {
        let rules = vs["spec"]["http"].as_array().cloned().unwrap_or_default();
        let Some((index, rule)) = rules.iter().enumerate().find(|(_, r)| {
            r["match"]
                .as_array()
                .is_none_or(|ms| ms.is_empty() || ms.iter().any(|m| match_entry(m, request)))
        }) else {
            return Outcome::new(404, "");
        };
        let key = format!(
            "{}/{}/{}",
            name(vs),
            vs["metadata"]["generation"].as_u64().unwrap_or(0),
            index
        );
        let destination = self.pick(&key, rule);
        let counted = short(destination["host"].as_str().unwrap_or("")).to_string();
        let mut waited = Duration::ZERO;
        let fault = &rule["fault"];
        if let Some(delay) = fault.get("delay") {
            if selected(self.next(&format!("{key}/delay")), share(delay)) {
                waited += duration(&delay["fixedDelay"]).unwrap_or_default();
            }
        }
        if let Some(abort) = fault.get("abort") {
            if selected(self.next(&format!("{key}/abort")), share(abort)) {
                let status = abort["httpStatus"].as_u64().unwrap_or(500) as u16;
                self.count(source, &counted, status);
                let mut o = Outcome::new(status, "fault filter abort");
                o.elapsed = waited;
                return o;
            }
        }
        let (attempts, per_try, retry_on) = retry_policy(rule);
        let route_timeout = duration(&rule["timeout"]).filter(|t| !t.is_zero());
        let mut routed = Duration::ZERO;
        let mut tries = 0;
        let mut destination = destination;
        let outcome = loop {
            let mut o = self.destination(s, &destination, request, &counted);
            if let Some(limit) = per_try.filter(|t| o.elapsed > *t) {
                o = Outcome::new(504, "upstream request timeout");
                o.elapsed = limit;
            }
            routed += o.elapsed;
            if let Some(limit) = route_timeout.filter(|t| routed >= *t) {
                let mut o = Outcome::new(504, "upstream request timeout");
                o.elapsed = limit;
                break o;
            }
            if tries < attempts && retriable(&retry_on, &o) {
                tries += 1;
                destination = self.pick(&key, rule);
                continue;
            }
            o.elapsed = routed;
            break o;
        };
        self.count(source, &counted, outcome.status);
        Outcome {
            elapsed: waited + outcome.elapsed,
            ..outcome
        }
    }

    /// The rule's destination for its next request, by weight in a fixed rotation.
    fn pick(&self, key: &str, rule: &Value) -> Value {
        let routes = rule["route"].as_array().cloned().unwrap_or_default();
        let weight = |r: &Value| {
            r["weight"]
                .as_u64()
                .unwrap_or(if routes.len() == 1 { 100 } else { 0 })
        };
        let total: u64 = routes.iter().map(weight).sum();
        if total == 0 {
            return routes
                .first()
                .map(|r| r["destination"].clone())
                .unwrap_or_default();
        }
        let mut at = self.next(&format!("{key}/route")) % total;
        for r in &routes {
            if at < weight(r) {
                return r["destination"].clone();
            }
            at -= weight(r);
        }
        Value::Null
    }

    /// A request to a destination (a Service, maybe a subset): one of its ready pods' app.
    fn destination(&self, s: &Snapshot, d: &Value, request: &Request, service: &str) -> Outcome {
        let labels = match d["subset"].as_str() {
            None => Some(serde_json::Map::new()),
            Some(subset) => s
                .istio
                .iter()
                .filter(|o| o["kind"] == "DestinationRule")
                .filter(|dr| short(dr["spec"]["host"].as_str().unwrap_or("")) == service)
                .flat_map(|dr| {
                    dr["spec"]["subsets"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .find(|sub| sub["name"] == subset)
                .map(|sub| sub["labels"].as_object().cloned().unwrap_or_default()),
        };
        let pods: Vec<String> = match labels {
            None => Vec::new(),
            Some(labels) => ready_pods(s, service)
                .into_iter()
                .filter(|pod| {
                    s.core
                        .iter()
                        .find(|o| o["kind"] == "Pod" && name(o) == pod)
                        .is_some_and(|p| {
                            labels.iter().all(|(k, v)| p["metadata"]["labels"][k] == *v)
                        })
                })
                .collect(),
        };
        if pods.is_empty() {
            let mut o = Outcome::new(503, "no healthy upstream");
            o.local = true;
            return o;
        }
        let pod = &pods[(self.next(&format!("endpoints/{service}")) % pods.len() as u64) as usize];
        self.app(s, service, pod, request)
    }

    /// What the app behind `service` answers on `pod`.
    fn app(&self, s: &Snapshot, service: &str, pod: &str, request: &Request) -> Outcome {
        match service {
            "repeater" => {
                let Some(addr) = query_param(&request.query, "addr") else {
                    return Outcome::new(400, "addr is missing");
                };
                let rest = addr.strip_prefix("http://").unwrap_or(addr).to_string();
                let (authority, path) = match rest.find(['/', '?']) {
                    Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
                    None => (rest.clone(), "/".to_string()),
                };
                let target = authority.split(':').next().unwrap_or("").to_string();
                let (path, query) = match path.split_once('?') {
                    Some((p, q)) => (p.to_string(), q.to_string()),
                    None => (path, String::new()),
                };
                let upstream = Request {
                    method: "GET".into(),
                    host: target.clone(),
                    path: if path.is_empty() { "/".into() } else { path },
                    query,
                    headers: vec![("host".into(), target.clone())],
                };
                let mesh = |vs: &&Value| {
                    let gateways = strings(&vs["spec"]["gateways"]);
                    gateways.is_empty() || gateways.contains(&"mesh")
                };
                match self.virtual_service(s, &target, mesh) {
                    Some(vs) => self.through(s, vs, &upstream, "repeater"),
                    None => {
                        let o = self.destination(
                            s,
                            &serde_json::json!({ "host": target }),
                            &upstream,
                            short(&target),
                        );
                        self.count("repeater", short(&target), o.status);
                        o
                    }
                }
            }
            "go-demo-8" => match request.path.as_str() {
                "/limiter" => self.limiter(pod),
                "/demo/person" => self.go_demo_8_with_database(s),
                _ => Outcome::new(200, "Version: 0.0.1; Release: unknown"),
            },
            _ => Outcome::new(200, "OK"),
        }
    }

    /// go-demo-8's `/limiter` on one pod.
    fn limiter(&self, pod: &str) -> Outcome {
        let now = Instant::now();
        let mut limiters = self.limiters.lock().expect("limiters");
        let l = limiters.entry(pod.to_string()).or_insert(Limiter {
            tokens: LIMIT_BURST,
            last: now,
            refused_at: None,
        });
        l.tokens =
            (l.tokens + now.duration_since(l.last).as_secs_f64() * LIMIT_RATE).min(LIMIT_BURST);
        l.last = now;
        if l.tokens < 1.0 {
            l.refused_at = Some(now);
            return Outcome::new(429, "Internal Server Error\n");
        }
        l.tokens -= 1.0;
        if l.refused_at
            .is_some_and(|t| now.duration_since(t) < LIMIT_COOL_DOWN)
        {
            return Outcome::new(429, "Internal Server Error\n");
        }
        Outcome::new(200, "Everything is OK\n")
    }

    fn go_demo_8_with_database(&self, s: &Snapshot) -> Outcome {
        if ready_pods(s, &self.cluster.database_service).is_empty() {
            let mut o = Outcome::new(500, "no reachable servers");
            o.elapsed = DB_WAIT;
            return o;
        }
        Outcome::new(200, r#"[{"name":"Viktor"}]"#)
    }

    fn nginx(&self, s: &Snapshot, request: &Request) -> Outcome {
        match ingress_route(s, &request.host) {
            None => Outcome::new(404, "default backend - 404"),
            Some(service) if ready_pods(s, &service).is_empty() => {
                Outcome::new(503, "503 Service Temporarily Unavailable")
            }
            Some(_) => self.go_demo_8_with_database(s),
        }
    }
}

/// The backend Service of the first Ingress rule whose host matches.
fn ingress_route(s: &Snapshot, host: &str) -> Option<String> {
    s.core
        .iter()
        .filter(|o| o["kind"] == "Ingress")
        .flat_map(|i| i["spec"]["rules"].as_array().cloned().unwrap_or_default())
        .filter(|rule| rule["host"].as_str() == Some(host))
        .find_map(|rule| {
            rule["http"]["paths"][0]["backend"]["service"]["name"]
                .as_str()
                .map(str::to_string)
        })
}

/// The pods behind the endpoints of `service` whose `conditions.ready` is true.
fn ready_pods(s: &Snapshot, service: &str) -> Vec<String> {
    s.core
        .iter()
        .filter(|o| o["kind"] == "EndpointSlice")
        .filter(|o| o["metadata"]["labels"]["kubernetes.io/service-name"] == service)
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"] == Value::Bool(true))
        .map(|e| e["targetRef"]["name"].as_str().unwrap_or("").to_string())
        .collect()
}
