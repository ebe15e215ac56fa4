//! Metrics (Prometheus text exposition) and structured logs (tracing).

use std::io;

use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, Registry, TextEncoder};
use tracing::{Span, Subscriber, info_span};
use tracing_subscriber::fmt::MakeWriter;

use crate::app::SharedState;

/// The header that carries a request id in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// One registry per app instance, so several apps (or tests) never collide.
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// The service's metrics; `policy` is the rate-limit policy's name.
    pub fn new(policy: &str) -> Self {
        // TODO(lab:observability): register http_requests_total{method,route,status},
        // http_request_duration_seconds{method,route} (a histogram) and
        // rate_limit_rejections_total{policy} (initialised for `policy`, so it is
        // exported before the first rejection) on the registry.
        let _ = policy;
        Self {
            registry: Registry::new(),
        }
    }

    /// Count one request and observe its duration.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let _ = (method, route, status, seconds); // TODO(lab:observability)
    }

    /// Count one rate-limit rejection.
    pub fn record_rejection(&self, policy: &str) {
        let _ = policy; // TODO(lab:observability)
    }

    /// Count one failure to reach the limiter's backend.
    pub fn record_limiter_error(&self) {
        // TODO(lab:observability)
    }

    /// The exposition body and its content type.
    pub fn render(&self) -> (Vec<u8>, String) {
        let mut body = Vec::new();
        // Encoding into a Vec cannot fail for lack of space; an empty body is the fallback.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut body);
        // TODO(lab:observability): the content type Prometheus scrapers expect.
        (body, "text/plain".to_owned())
    }
}

/// `GET /metrics`.
pub async fn metrics_endpoint(State(state): State<SharedState>) -> Response {
    let (body, content_type) = state.metrics.render();
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

/// The service's log subscriber, writing to `writer` at `level` and above.
///
/// `main` installs it globally; tests install it for one thread with
/// `tracing::subscriber::set_default`.
pub fn subscriber<W>(writer: W, level: &str) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // TODO(lab:observability): one JSON object per line (tracing-subscriber's
    // `json` format), with the request id of the current request on every line,
    // and never a password or token.
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(level)
        .with_ansi(false)
        .finish()
}

/// The subscriber `main` uses: the service's format on standard error.
pub fn stderr_subscriber(level: &str) -> impl Subscriber + Send + Sync {
    subscriber(io::stderr, level)
}

/// An incoming request id we are willing to echo and log.
fn sane_request_id(raw: &str) -> bool {
    // TODO(lab:observability): accept only short ids from a safe alphabet; a
    // client must not be able to put anything it likes into responses and logs.
    let _ = raw;
    true
}

/// Middleware (before tower-http's `SetRequestId`): an incoming X-Request-ID
/// that is not [`sane_request_id`] is dropped, so a fresh one replaces it and
/// it is neither echoed nor logged.
pub async fn drop_unsafe_request_id(mut request: Request) -> Request {
    let unsafe_id = request
        .headers()
        .get_all(REQUEST_ID_HEADER)
        .iter()
        .any(|value| !value.to_str().is_ok_and(sane_request_id));
    if unsafe_id {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

/// The span of one request (tower-http's `TraceLayer` opens it and writes the
/// access-log line in it when the response is ready).
pub fn request_span(request: &Request) -> Span {
    // TODO(lab:observability): make the request id (tower-http's `RequestId`
    // extension), the method and the route *template* (axum's `MatchedPath`)
    // fields of this span, so every log line of the request carries them.
    let _ = request;
    info_span!("request")
}

/// Middleware: request metrics.
pub async fn observe(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    // TODO(lab:observability): feed state.metrics.observe_request with the
    // method, the route *template* (axum's MatchedPath, never the raw path),
    // the status and the duration in seconds. Labels must stay bounded.
    let _ = &state;
    next.run(request).await
}
