//! Metrics (Prometheus text exposition) and structured logs (tracing, JSON).

use std::io;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};
use tower_http::request_id::RequestId;
use tracing::{Span, Subscriber, info_span};
use tracing_subscriber::fmt::MakeWriter;

use crate::app::SharedState;

/// The header that carries a request id in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The route label of requests that matched no route: one value, not one per path.
const UNMATCHED_ROUTE: &str = "unmatched";

/// The method label: the standard methods by name, any other token a client
/// invents as one value, so clients cannot mint label values.
fn method_label(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("OTHER", Method::as_str)
}

/// One registry per app instance, so several apps (or tests) never collide.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    rejections: IntCounterVec,
    limiter_errors: IntCounter,
}

impl Metrics {
    /// The service's metrics; `policy` is the rate-limit policy's name.
    pub fn new(policy: &str) -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route template and status.",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, in seconds.",
            ),
            &["method", "route"],
        )
        .expect("valid metric");
        let rejections = IntCounterVec::new(
            Opts::new(
                "rate_limit_rejections_total",
                "Requests rejected with 429 by the rate limiter.",
            ),
            &["policy"],
        )
        .expect("valid metric");
        let limiter_errors = IntCounter::new(
            "rate_limit_backend_errors_total",
            "Times the rate limiter's backend could not be reached.",
        )
        .expect("valid metric");
        rejections.with_label_values(&[policy]);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(rejections.clone()),
            Box::new(limiter_errors.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            requests,
            duration,
            rejections,
            limiter_errors,
        }
    }

    /// Count one request and observe its duration.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.duration
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Count one rate-limit rejection.
    pub fn record_rejection(&self, policy: &str) {
        self.rejections.with_label_values(&[policy]).inc();
    }

    /// Count one failure to reach the limiter's backend.
    pub fn record_limiter_error(&self) {
        self.limiter_errors.inc();
    }

    /// The exposition body and its content type (`text/plain; version=0.0.4`).
    pub fn render(&self) -> (Vec<u8>, String) {
        let encoder = TextEncoder::new();
        let mut body = Vec::new();
        // Encoding into a Vec cannot fail for lack of space; an empty body is the fallback.
        let _ = encoder.encode(&self.registry.gather(), &mut body);
        (body, encoder.format_type().to_owned())
    }
}

/// `GET /metrics`.
pub async fn metrics_endpoint(State(state): State<SharedState>) -> Response {
    let (body, content_type) = state.metrics.render();
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

/// The service's log subscriber: one JSON object per line, written to
/// `writer` at `level` and above, with the current request's span fields
/// (`request_id`, `method`, `route`) on every line.
///
/// `main` installs it globally; tests install it for one thread with
/// `tracing::subscriber::set_default`.
pub fn subscriber<W>(writer: W, level: &str) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = level.parse().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
        .with_max_level(level)
        .finish()
}

/// The subscriber `main` uses: the service's format on standard error.
pub fn stderr_subscriber(level: &str) -> impl Subscriber + Send + Sync {
    subscriber(io::stderr, level)
}

/// An incoming request id we are willing to echo: short, and from a safe alphabet.
fn sane_request_id(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
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

fn route_label(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned()
}

/// The span of one request (tower-http's `TraceLayer` opens it): every log
/// line written while answering carries its `request_id`, `method` and `route`.
pub fn request_span(request: &Request) -> Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default();
    info_span!(
        "request",
        request_id = %id,
        method = %method_label(request.method()),
        route = %route_label(request),
    )
}

/// Middleware: request metrics, by method and route template.
pub async fn observe(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let method = method_label(request.method()).to_owned();
    let route = route_label(&request);
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(&method, &route, status, seconds);
    response
}
