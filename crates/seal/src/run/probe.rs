//! `probeHTTP`: call a URL (or a Service's cluster address) `count` times, each call
//! retried up to `retries` times `delay` ms apart, expecting `code`.
//!
//! A `service` target resolves as upstream does, to
//! `<protocol>://<spec.clusterIP>:<port>/<endpoint>`: reachable from a seal running in
//! the cluster (or on a node), not from a laptop outside it, where the call fails as
//! "cannot connect" (docs/seal.md). The proxy is used for both schemes when given, and no
//! proxy at all when empty (never the environment's). Response bodies are logged up to
//! 64 KiB.

use experiment::{Map, Value};
use serde_json::json;

use super::{Outcome, Runner};
use crate::policy::{HttpMethod, ProbeHttp, ProbeTarget};

const MODULE: &str = "action_probe_http";
/// At most this much of a response body is read (and logged).
const BODY_LIMIT: usize = 64 * 1024;

impl Runner<'_> {
    pub(crate) async fn probe_http(&mut self, step: &ProbeHttp) -> Outcome {
        let logger = super::log::logger(MODULE, &self.scenario);
        let url = match self.probe_url(step, &logger).await {
            Ok(u) => u,
            Err(e) => {
                self.log.error(&logger, &e);
                return Outcome::failed(Value::Null, e);
            }
        };
        let client = match self.probe_client(step) {
            Ok(c) => c,
            Err(e) => {
                self.log.error(&logger, &e);
                return Outcome::failed(json!({"url": url}), e);
            }
        };
        let mut codes = Vec::new();
        for _ in 0..step.count {
            let mut attempt = 0;
            loop {
                match self.call(&client, step, &url, &logger).await {
                    Ok(code) => {
                        codes.push(json!(code));
                        break;
                    }
                    Err((code, e)) => {
                        if let Some(code) = code {
                            codes.push(json!(code));
                        }
                        attempt += 1;
                        if attempt >= step.retries {
                            self.log
                                .error(&logger, "No more retries allowed. Failing step");
                            return Outcome::failed(json!({"url": url, "codes": codes}), e);
                        }
                        self.log.warning(
                            &logger,
                            format!(
                                "Error calling. Sleeping {} and retrying",
                                super::pods::py_num(step.delay_ms)
                            ),
                        );
                        self.sleep(step.delay_ms / 1000.0).await;
                    }
                }
            }
        }
        Outcome::ok(json!({"url": url, "codes": codes}))
    }

    async fn probe_url(&mut self, step: &ProbeHttp, logger: &str) -> Result<String, String> {
        let endpoint = step.endpoint.trim_start_matches('/');
        match &step.target {
            ProbeTarget::Url(u) => {
                let url = format!("{}/{endpoint}", u.trim_end_matches('/'));
                self.log.debug(logger, format!("Using provided url: {url}"));
                Ok(url)
            }
            ProbeTarget::Service {
                name,
                namespace,
                port,
                https,
            } => {
                let kube = self.kube().await?;
                let path = format!("/api/v1/namespaces/{namespace}/services/{name}");
                let service = kube
                    .get(&path)
                    .await
                    .map_err(super::api_error)?
                    .map_err(|s| {
                        format!(
                            "Service not found: '{name}' in namespace '{namespace}' ({}) {}",
                            s.code,
                            s.message()
                        )
                    })?;
                let ip = service
                    .pointer("/spec/clusterIP")
                    .and_then(Value::as_str)
                    .unwrap_or("None");
                let protocol = if *https { "https" } else { "http" };
                let url = format!("{protocol}://{ip}:{port}/{endpoint}");
                self.log.debug(logger, format!("Url: {url}"));
                Ok(url)
            }
        }
    }

    fn probe_client(&self, step: &ProbeHttp) -> Result<reqwest::Client, String> {
        let mut builder = providers::http::client_builder()
            .timeout(std::time::Duration::from_secs_f64(
                (step.timeout_ms / 1000.0).max(0.001),
            ))
            .tls_danger_accept_invalid_certs(step.insecure);
        builder = if step.proxy.is_empty() {
            builder.no_proxy()
        } else {
            let proxy = reqwest::Proxy::all(&step.proxy)
                .map_err(|e| format!("proxy {:?} is not a usable URL: {e}", step.proxy))?;
            builder.proxy(proxy)
        };
        builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }

    /// One call: `Ok(code)` when it answered `step.code`, else the code (if any) and why.
    async fn call(
        &self,
        client: &reqwest::Client,
        step: &ProbeHttp,
        url: &str,
        logger: &str,
    ) -> Result<u16, (Option<u16>, String)> {
        let method = match step.method {
            HttpMethod::Get => "get",
            HttpMethod::Post => "post",
            HttpMethod::Patch => "patch",
            HttpMethod::Head => "head",
            HttpMethod::Delete => "delete",
        };
        let headers: Map = step
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        self.log.info(
            logger,
            format!(
                "Making a call: {url}, {method}, {}, {}, {}, {}, {}, {}",
                experiment::pyrepr::py_repr(&Value::Object(headers)),
                step.timeout_ms.trunc() as i64,
                step.code,
                step.body,
                step.proxy,
                if step.insecure { "False" } else { "True" },
            ),
        );
        let mut request = client
            .request(
                http::Method::from_bytes(method.to_uppercase().as_bytes())
                    .unwrap_or(http::Method::GET),
                url,
            )
            .body(step.body.clone());
        for (k, v) in &step.headers {
            request = request.header(k, v);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let message = format!("Exception while calling {url}: {}", root_cause(&e));
                self.log.error(logger, &message);
                return Err((None, message));
            }
        };
        let code = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < BODY_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(BODY_LIMIT);
        let text = String::from_utf8_lossy(&body);
        if code != step.code {
            let message = format!(
                "Expected response code {}, got {code} instead. Response: {text}",
                step.code
            );
            self.log.error(logger, &message);
            return Err((Some(code), message));
        }
        self.log.info(logger, format!("Response: {text}"));
        Ok(code)
    }
}

/// The innermost error's text (`Connection refused (os error 111)`), after reqwest's own.
fn root_cause(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut current: &dyn std::error::Error = e;
    while let Some(next) = current.source() {
        current = next;
    }
    let inner = current.to_string();
    if inner != text {
        text = format!("{text}: {inner}");
    }
    text
}
