//! The HTTP API router (Toxiproxy's api.go) on axum.
//!
//! Middleware mirrors Toxiproxy: requests whose User-Agent starts with `Mozilla/` get 403
//! (a browser page cannot drive a localhost admin API), every response carries an
//! `X-Toxiproxy-Request-Id`, handlers (body read included) time out after
//! [`REQUEST_TIMEOUT`] with an empty 503, and bodies are capped at `MAX_BODY` bytes.
//! Beyond Toxiproxy, an API on loopback refuses foreign `Host` and `Origin` headers with
//! 403 (DNS rebinding; see `origin`). Headers must arrive within the server's header-read
//! timeout (`server`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::Value;

use crate::collection::Collection;
use crate::error::ApiError;
use crate::origin::HostPolicy;

/// Largest accepted request body.
pub const MAX_BODY: usize = 1024 * 1024;
/// How long a request may take once its headers are in: body read and handler
/// (Toxiproxy's `http.TimeoutHandler`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(25);
/// The Toxiproxy version this server is wire-compatible with.
pub const VERSION: &str = "2.12.0";

pub struct App {
    pub collection: Collection,
    pub proxy_metrics: bool,
    pub runtime_metrics: bool,
    /// `Host`/`Origin` checks (DNS rebinding).
    pub hosts: HostPolicy,
}

fn json(status: u16, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Toxiproxy's error shape: `{"error": …, "status": …}` plus a newline.
fn error(e: ApiError) -> Response {
    let mut body = serde_json::to_vec(&e).unwrap_or_default();
    body.push(b'\n');
    let mut r = (
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn reply(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => json(200, &v),
        Err(e) => error(e),
    }
}

fn no_content(r: Result<(), ApiError>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

fn body_of(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|r| {
        ApiError::new(
            format!("bad request body: {}", r.body_text()),
            r.status().as_u16(),
        )
    })
}

fn path_of<T>(p: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    p.map(|Path(v)| v)
        .map_err(|r| ApiError::new(r.body_text(), 400))
}

type S = State<Arc<App>>;
type P1 = Result<Path<String>, PathRejection>;
type P2 = Result<Path<(String, String)>, PathRejection>;
type B = Result<Bytes, BytesRejection>;

async fn proxy_index(State(app): S) -> Response {
    json(200, &app.collection.list().await)
}

async fn proxy_create(State(app): S, body: B) -> Response {
    let body = match body_of(body) {
        Ok(b) => b,
        Err(r) => return error(r),
    };
    match app.collection.create(&body).await {
        Ok(v) => json(201, &v),
        Err(e) => error(e),
    }
}

async fn populate(State(app): S, body: B) -> Response {
    let body = match body_of(body) {
        Ok(b) => b,
        Err(r) => return error(r),
    };
    let (status, v) = app.collection.populate(&body).await;
    json(status, &v)
}

async fn reset(State(app): S) -> Response {
    no_content(app.collection.reset().await)
}

async fn version() -> Response {
    let mut r = format!("{{\"version\": \"{VERSION}\"}}\n").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    r
}

async fn proxy_show(State(app): S, p: P1) -> Response {
    match path_of(p) {
        Ok(name) => reply(app.collection.get(&name).await),
        Err(r) => error(r),
    }
}

async fn proxy_ca(State(app): S, p: P1) -> Response {
    let name = match path_of(p) {
        Ok(n) => n,
        Err(r) => return error(r),
    };
    match app.collection.ca_pem(&name).await {
        Ok(pem) => {
            let mut r = pem.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            );
            r
        }
        Err(e) => error(e),
    }
}

async fn proxy_update(State(app): S, method: Method, p: P1, body: B) -> Response {
    let (name, body) = match (path_of(p), body_of(body)) {
        (Ok(n), Ok(b)) => (n, b),
        (Err(r), _) | (_, Err(r)) => return error(r),
    };
    if method == Method::POST {
        log::warn!("ProxyUpdate: HTTP method POST is deprecated. Use HTTP PATCH instead.");
    }
    reply(app.collection.update(&name, &body).await)
}

async fn proxy_delete(State(app): S, p: P1) -> Response {
    match path_of(p) {
        Ok(name) => no_content(app.collection.delete(&name).await),
        Err(r) => error(r),
    }
}

async fn toxic_index(State(app): S, p: P1) -> Response {
    match path_of(p) {
        Ok(name) => reply(app.collection.toxics(&name).await),
        Err(r) => error(r),
    }
}

async fn toxic_create(State(app): S, p: P1, body: B) -> Response {
    let (name, body) = match (path_of(p), body_of(body)) {
        (Ok(n), Ok(b)) => (n, b),
        (Err(r), _) | (_, Err(r)) => return error(r),
    };
    // Toxiproxy answers 200 here, not 201.
    reply(app.collection.add_toxic(&name, &body).await)
}

async fn toxic_show(State(app): S, p: P2) -> Response {
    match path_of(p) {
        Ok((proxy, toxic)) => reply(app.collection.toxic(&proxy, &toxic).await),
        Err(r) => error(r),
    }
}

async fn toxic_update(State(app): S, method: Method, p: P2, body: B) -> Response {
    let ((proxy, toxic), body) = match (path_of(p), body_of(body)) {
        (Ok(n), Ok(b)) => (n, b),
        (Err(r), _) | (_, Err(r)) => return error(r),
    };
    if method == Method::POST {
        log::warn!("ToxicUpdate: HTTP method POST is deprecated. Use HTTP PATCH instead.");
    }
    reply(app.collection.update_toxic(&proxy, &toxic, &body).await)
}

async fn toxic_delete(State(app): S, p: P2) -> Response {
    match path_of(p) {
        Ok((proxy, toxic)) => no_content(app.collection.remove_toxic(&proxy, &toxic).await),
        Err(r) => error(r),
    }
}

async fn metrics(State(app): S) -> Response {
    let proxies = app.collection.all().await;
    let text = crate::metrics::render(&proxies, app.proxy_metrics, app.runtime_metrics);
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

async fn guard(State(app): S, req: Request, next: Next) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let browser = req
        .headers()
        .get(header::USER_AGENT)
        .is_some_and(|ua| ua.as_bytes().starts_with(b"Mozilla/"));
    // Refuse an announced oversized body before reading any of it, instead of waiting for
    // bytes that will be rejected anyway.
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let too_large = announced.is_some_and(|n| n > MAX_BODY as u64);
    let foreign = app.hosts.check(
        req.headers().get(header::HOST).map(HeaderValue::as_bytes),
        req.headers().get(header::ORIGIN).map(HeaderValue::as_bytes),
    );
    let mut resp = if browser {
        (StatusCode::FORBIDDEN, "User agent not allowed\n").into_response()
    } else if let Err(e) = foreign {
        log::warn!("refused API request {} {}: {e}", req.method(), req.uri());
        error(e)
    } else if too_large {
        error(ApiError::new(
            format!("bad request body: the body is larger than {MAX_BODY} bytes"),
            413,
        ))
    } else {
        let (method, uri) = (req.method().clone(), req.uri().clone());
        match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => {
                log::debug!("{method} {uri} -> {}", r.status());
                r
            }
            Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Body::empty()).into_response(),
        }
    };
    if let Ok(v) = HeaderValue::from_str(&format!("sd{id:018}")) {
        resp.headers_mut().insert("x-toxiproxy-request-id", v);
    }
    resp
}

pub fn router(app: Arc<App>) -> Router {
    let mut r = Router::new()
        .route("/reset", post(reset))
        .route("/proxies", get(proxy_index).post(proxy_create))
        .route("/populate", post(populate))
        .route(
            "/proxies/{proxy}",
            get(proxy_show)
                .post(proxy_update)
                .patch(proxy_update)
                .delete(proxy_delete),
        )
        .route("/proxies/{proxy}/ca.pem", get(proxy_ca))
        .route(
            "/proxies/{proxy}/toxics",
            get(toxic_index).post(toxic_create),
        )
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(toxic_show)
                .post(toxic_update)
                .patch(toxic_update)
                .delete(toxic_delete),
        )
        .route("/version", get(version));
    if app.proxy_metrics || app.runtime_metrics {
        r = r.route("/metrics", any(metrics));
    }
    r.fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}
