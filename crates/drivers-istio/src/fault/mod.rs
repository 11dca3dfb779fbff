//! `chaosistio.fault`: read a VirtualService, and write Istio HTTP faults into its HTTP
//! rules, the way chaostoolkit-istio does it.
//!
//! Every call answers upstream's shape `{status, body, headers}`: the API's status code, its
//! body (parsed when the response's `Content-Type` is exactly `application/json`, else the
//! text) and its headers (names in Go's canonical form, as the Python client shows what the
//! API server wrote). An action first GETs the object — anything but `200` fails the
//! activity with upstream's `Virtual Service '<name>' does not exist: <body>` — then edits
//! `spec.http` ([`patch`]) and sends the whole list back as a JSON merge patch; the PATCH's
//! refusal (say, `422` for a value Istio's schema rejects) is returned, not raised, as
//! upstream does, and also logged as a WARNING so it is not silent.
//!
//! The URL is `/apis/{version}/namespaces/{ns}/virtualservices/{name}` with `version` the
//! full `group/version` (`networking.istio.io/v1alpha3` by default; `v1beta1`, `v1` too).

pub mod actions;
pub mod args;
pub mod patch;
pub mod probes;

use drivers_k8s::api::{client_for, Kube};
use experiment::pyrepr::py_repr;
use experiment::{Map, Value};
use http::{HeaderMap, Method, StatusCode};
use providers::table::{Bound, Def, P};
use providers::{FailureKind, ProviderError};

use args::ArgError;
use patch::Edit;

pub(crate) const VS_NAME: P = ("virtual_service_name", Def::Required, Some("string"));
pub(crate) const ROUTES: P = ("routes", Def::Required, Some("list"));
pub(crate) const NS: P = ("ns", Def::Str("default"), Some("string"));
pub(crate) const VERSION: P = ("version", Def::Str(DEFAULT_VERSION), Some("string"));
pub(crate) const PERCENTAGE: P = ("percentage", Def::None, Some("number"));
/// Shakedown's: write only this fault's kind, keeping the other (docs/istio.md).
pub(crate) const MERGE: P = ("merge", Def::Bool(false), Some("boolean"));
/// The pre-0.1.3 spelling of `percentage`, still in older experiments.
pub(crate) const PERCENT: P = ("percent", Def::None, Some("number"));

/// The reference's default `group/version`.
pub const DEFAULT_VERSION: &str = "networking.istio.io/v1alpha3";

const MERGE_PATCH: &str = "application/merge-patch+json";

/// `chaoslib.exceptions.ActivityFailed: <message>`, what upstream raises on purpose.
fn activity_failed(kind: FailureKind, message: impl std::fmt::Display) -> ProviderError {
    ProviderError::failed(
        kind,
        format!("chaoslib.exceptions.ActivityFailed: {message}"),
    )
}

/// An argument Shakedown refuses (upstream would send it or crash on it).
pub(crate) fn bad_argument(e: ArgError) -> ProviderError {
    ProviderError::failed(FailureKind::Declaration, format!("ValueError: {e}"))
}

/// Go's canonical MIME header key (`x-kubernetes-pf-flowschema-uid` ⇒
/// `X-Kubernetes-Pf-Flowschema-Uid`): what the API server wrote and the Python client shows.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// The headers as the reference's `dict(**headers)`: repeated ones joined with `, `.
fn headers_map(headers: &HeaderMap) -> Map {
    let mut out = Map::new();
    for (name, value) in headers {
        let key = canonical(name.as_str());
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let joined = match out.get(&key).and_then(Value::as_str) {
            Some(prev) => format!("{prev}, {value}"),
            None => value,
        };
        out.insert(key, Value::String(joined));
    }
    out
}

/// One answer in upstream's shape.
struct Answer {
    status: StatusCode,
    body: Value,
    headers: Map,
}

impl Answer {
    fn into_value(self) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), Value::from(self.status.as_u16()));
        m.insert("body".into(), self.body);
        m.insert("headers".into(), Value::Object(self.headers));
        Value::Object(m)
    }

    /// The API's `message` when the body is a `Status`, else the body as text.
    fn message(&self) -> String {
        match &self.body {
            Value::String(s) => s.trim_end().to_string(),
            v => v
                .get("message")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| v.to_string()),
        }
    }
}

/// The call's target, from its bound arguments.
struct Target {
    name: String,
    ns: String,
    version: String,
}

impl Target {
    fn of(call: &Bound<'_>) -> Target {
        Target {
            name: call.text("virtual_service_name"),
            ns: call.text("ns"),
            version: call.text("version"),
        }
    }

    fn url(&self) -> String {
        format!(
            "/apis/{}/namespaces/{}/virtualservices/{}",
            self.version, self.ns, self.name
        )
    }
}

/// One request, answered in upstream's shape. A 2xx body that is not JSON fails (upstream's
/// `json.loads` raises too); a refusal's body is parsed only when it says it is JSON.
async fn exchange(
    api: &Kube,
    method: Method,
    url: &str,
    body: Option<(&str, &Value)>,
) -> Result<Answer, ProviderError> {
    let (status, headers, bytes) = api
        .exchange(method, url, body, Some("application/json"))
        .await?;
    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    let text = || Value::String(String::from_utf8_lossy(&bytes).into_owned());
    let body = if status.is_success() {
        serde_json::from_slice(&bytes).map_err(|e| {
            ProviderError::failed(
                FailureKind::Remote,
                format!(
                    "json.decoder.JSONDecodeError: the Kubernetes API at {} answered {url} \
                     with a body that is not JSON: {e}",
                    api.url()
                ),
            )
        })?
    } else if is_json {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| text())
    } else {
        text()
    };
    Ok(Answer {
        status,
        body,
        headers: headers_map(&headers),
    })
}

/// `get_virtual_service`: the GET's answer, whatever its status.
pub(crate) async fn get(call: Bound<'_>) -> Result<Value, ProviderError> {
    let target = Target::of(&call);
    let api = client_for(&call.secrets).await?;
    Ok(exchange(&api, Method::GET, &target.url(), None)
        .await?
        .into_value())
}

/// Upstream's failure when the GET is not `200`, with what a plain-text `404` means (the
/// API serves no VirtualServices at that `group/version`) said outright.
fn does_not_exist(target: &Target, answer: &Answer) -> ProviderError {
    let shown = match &answer.body {
        Value::String(s) => {
            let mut shown = s.trim_end().to_string();
            if answer.status == StatusCode::NOT_FOUND {
                shown.push_str(&format!(
                    " (the Kubernetes API serves no virtualservices under '{}': is Istio \
                     installed, with its CRDs, and is the `version` argument right? e.g. \
                     networking.istio.io/v1alpha3, v1beta1 or v1)",
                    target.version
                ));
            }
            shown
        }
        v => py_repr(v),
    };
    activity_failed(
        FailureKind::Check,
        format!("Virtual Service '{}' does not exist: {shown}", target.name),
    )
}

/// GETs the VirtualService, applies `edit` to the rules `routes` targets, and PATCHes the
/// whole `spec.http` back: upstream's `set_fault` / `unset_fault`.
pub(crate) async fn change(call: &Bound<'_>, edit: Edit<'_>) -> Result<Value, ProviderError> {
    let target = Target::of(call);
    let api = client_for(&call.secrets).await?;
    let url = target.url();
    let current = exchange(&api, Method::GET, &url, None).await?;
    if current.status != StatusCode::OK {
        return Err(does_not_exist(&target, &current));
    }
    let targets = args::targets(call.arg("routes")).map_err(bad_argument)?;
    let Some(http) = current.body.pointer("/spec/http").and_then(Value::as_array) else {
        return Err(activity_failed(
            FailureKind::Check,
            format!(
                "Virtual Service '{}' in namespace '{}' has no HTTP routes (`spec.http`): \
                 Istio injects faults into HTTP routes only",
                target.name, target.ns
            ),
        ));
    };
    let (http_out, matched) = patch::apply(http, &targets, edit);
    if matched == 0 {
        log::warn!(
            "no HTTP route of Virtual Service '{}' in namespace '{}' goes to a destination \
             named in `routes` ({}); its destinations are {}: nothing changed",
            target.name,
            target.ns,
            py_repr(call.arg("routes")),
            patch::destinations(http).join(", ")
        );
    }
    let payload = serde_json::json!({
        "apiVersion": target.version,
        "kind": "VirtualService",
        "metadata": {"name": target.name},
        "spec": {"http": http_out},
    });
    let answer = exchange(&api, Method::PATCH, &url, Some((MERGE_PATCH, &payload))).await?;
    if !answer.status.is_success() {
        log::warn!(
            "the Kubernetes API refused the change to Virtual Service '{}' in namespace '{}' \
             ({}): {} — returned as the action's output, as chaostoolkit-istio does; no fault \
             was changed",
            target.name,
            target.ns,
            answer.status.as_u16(),
            answer.message()
        );
    }
    Ok(answer.into_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_go_canonical() {
        assert_eq!(
            canonical("x-kubernetes-pf-flowschema-uid"),
            "X-Kubernetes-Pf-Flowschema-Uid"
        );
        assert_eq!(canonical("audit-id"), "Audit-Id");
        assert_eq!(canonical("content-type"), "Content-Type");
        let mut h = HeaderMap::new();
        h.append("warning", http::HeaderValue::from_static("a"));
        h.append("warning", http::HeaderValue::from_static("b"));
        assert_eq!(
            headers_map(&h).get("Warning"),
            Some(&Value::String("a, b".into()))
        );
    }
}
