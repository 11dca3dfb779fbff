//! Native `chaostracing` (chaostoolkit-opentracing): both generations of its tracing
//! control, exporting spans over OTLP (HTTP or gRPC) to an OpenTelemetry Collector or a
//! Jaeger.
//!
//! | upstream module | here | what |
//! |---|---|---|
//! | `chaostracing.oltp` | [`oltp`] | the current OpenTelemetry control: `experiment`, `hypothesis`, `method`, `rollbacks`, `activity: <name>` spans |
//! | `chaostracing.control` | [`legacy`] | the legacy OpenTracing control: spans named after titles, Jaeger/B3 headers in `http` providers |
//!
//! What they share: the span model ([`span`]), the run's open spans ([`tracer`]), the
//! exporter with its bounded queue ([`export`]), its settings from the `OTEL_*`
//! environment variables ([`config`]) and the OTLP encodings ([`otlp`]).
//!
//! Why native: a trace of each chaos run next to the traces of the services it hits is
//! what the seeds' talk shows, and upstream needs a Python interpreter with the
//! OpenTelemetry SDK (or the abandoned `jaeger_client`) installed. Natively the spans cost
//! nothing the run waits for, a caller's `TRACEPARENT` joins the run to a CI job's trace,
//! and `http` providers and the native drivers' own HTTP calls carry the activity's
//! context to the services they call (`providers::outbound`).
//! `CHAOS_PYTHON_MODULES=chaostracing.` still runs the Python package through the bridge.
//! docs/tracing.md says what is emitted and how it differs from upstream.

pub mod config;
pub mod export;
pub mod legacy;
pub mod oltp;
pub mod otlp;
pub mod span;
pub mod tracer;

use providers::registry::{Package, Registry};
use std::sync::Arc;

/// The distribution name `chaos discover` answers to.
pub const PACKAGE: &str = "chaostoolkit-opentracing";
/// The upstream release whose controls this crate mirrors.
pub const UPSTREAM_VERSION: &str = "0.18.1";
/// The instrumentation scope named in exported spans.
pub const SCOPE: &str = "chaostoolkit";

/// Registers both controls and the `chaostoolkit-opentracing` package.
pub fn register(registry: &mut Registry) {
    registry.register_control(oltp::MODULE, Arc::new(oltp::Oltp::default()));
    registry.register_control(legacy::MODULE, Arc::new(legacy::Legacy::default()));
    registry.register_package(Package {
        name: PACKAGE,
        version: UPSTREAM_VERSION,
        target: "opentracing",
        modules: vec![oltp::MODULE, legacy::MODULE],
    });
}

/// A URL as shown in messages: a `user:password@` password masked.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
