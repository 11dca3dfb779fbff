//! A stand-in for the book's nginx ingress and the go-demo-8 app behind it.
//!
//! kwok pods run no containers, so the book's HTTP probes (`health-http.yaml`,
//! `health-db.yaml`) have nothing to talk to. This std-only server answers them the way the
//! book's cluster would, from the cluster's real state, read through the API server on
//! every request:
//!
//! - the `Host` header is routed by the Ingress objects' rules (no rule: `404`, like
//!   nginx's default backend);
//! - the rule's Service has no ready endpoint in its EndpointSlices (the endpoint slice
//!   controller marks terminating and not-yet-ready pods not ready): `503`, like nginx with
//!   no live upstream;
//! - the Service has ready endpoints but the app's database Service has none: the app
//!   blocks the way go-demo-8 does while its Mongo driver looks for a server, so the request
//!   hangs for [`DB_WAIT`] and then gets a `500`;
//! - otherwise `200` with a small JSON body.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::Duration;

/// How long the app hangs without its database (longer than any probe timeout in the book).
pub const DB_WAIT: Duration = Duration::from_secs(10);

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
}

impl StandInIngress {
    pub fn start(cluster: Cluster) -> StandInIngress {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in ingress");
        let port = listener.local_addr().expect("local addr").port();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let cluster = cluster.clone();
                thread::spawn(move || serve(stream, &cluster));
            }
        });
        StandInIngress { port }
    }

    /// `host:port` for the experiments' `INGRESS_HOST`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn serve(stream: TcpStream, cluster: &Cluster) {
    let Some(host) = request_host(&stream) else {
        return;
    };
    let (status, body) = match route(cluster, &host) {
        None => (404, "default backend - 404".to_string()),
        Some(service) if ready_endpoints(cluster, &service) == 0 => {
            (503, "503 Service Temporarily Unavailable".to_string())
        }
        Some(_) if ready_endpoints(cluster, &cluster.database_service) == 0 => {
            thread::sleep(DB_WAIT);
            (500, "no reachable servers".to_string())
        }
        Some(_) => (200, r#"[{"name":"Viktor"}]"#.to_string()),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The request's `Host` header without a port; `None` if the request is unreadable.
fn request_host(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut host = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Some(host.unwrap_or_default());
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("host") {
                let value = value.trim();
                host = Some(value.split(':').next().unwrap_or(value).to_string());
            }
        }
    }
}

fn get_json(cluster: &Cluster, args: &[&str]) -> Value {
    let out = Command::new(&cluster.kubectl)
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(["-n", &cluster.namespace, "-o", "json", "get"])
        .args(args)
        .output();
    match out {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The backend Service of the first Ingress rule whose host matches.
fn route(cluster: &Cluster, host: &str) -> Option<String> {
    let ingresses = get_json(cluster, &["ingresses"]);
    ingresses["items"]
        .as_array()?
        .iter()
        .flat_map(|i| i["spec"]["rules"].as_array().cloned().unwrap_or_default())
        .filter(|rule| rule["host"].as_str() == Some(host))
        .find_map(|rule| {
            rule["http"]["paths"][0]["backend"]["service"]["name"]
                .as_str()
                .map(str::to_string)
        })
}

/// Endpoints of `service` whose `conditions.ready` is true.
fn ready_endpoints(cluster: &Cluster, service: &str) -> usize {
    let label = format!("kubernetes.io/service-name={service}");
    let slices = get_json(cluster, &["endpointslices", "-l", &label]);
    slices["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"] == Value::Bool(true))
        .count()
}
