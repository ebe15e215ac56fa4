//! Application factory: wires settings, clock, storage, limiter and routes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{self, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, map_request};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{self, AuthService};
use crate::clock::Clock;
use crate::distributed::{RedisWindowStore, SharedLimiter, WindowStore};
use crate::health;
use crate::http_limits::{self, Limiter, Policy};
use crate::observability::{self, Metrics};
use crate::ratelimit::FixedWindow;
use crate::settings::Settings;
use crate::store::Store;
use crate::tokens::{TokenService, random_hex};

/// Everything a request handler may need, shared by all requests.
pub struct AppState {
    /// The configuration the app was built with.
    pub settings: Settings,
    /// The only source of "now".
    pub clock: Arc<dyn Clock>,
    /// Users, sessions, denylist, failed logins.
    pub store: Arc<Store>,
    /// Accounts and sessions.
    pub auth: AuthService,
    /// Prometheus metrics of this app instance.
    pub metrics: Metrics,
    /// The policy applied to `/api/*`.
    pub policy: Policy,
    /// The limiter enforcing it.
    pub limiter: Limiter,
    /// The shared limiter's store, when there is one (readiness checks it).
    pub window_store: Option<Arc<dyn WindowStore>>,
}

/// The state as handlers receive it.
pub type SharedState = Arc<AppState>;

/// The app cannot start with this configuration.
#[derive(Debug)]
pub struct StartupError(pub String);

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start: {}", self.0)
    }
}

impl std::error::Error for StartupError {}

/// Build the service. Tests pass their own clock and window store; without a
/// store, `settings.redis_url` (if any) is used, else per-process counters.
pub fn create_app(
    settings: Settings,
    clock: Arc<dyn Clock>,
    window_store: Option<Arc<dyn WindowStore>>,
) -> Result<Router, StartupError> {
    let state = Arc::new(build_state(settings, clock, window_store)?);
    Ok(routes(state))
}

fn build_state(
    settings: Settings,
    clock: Arc<dyn Clock>,
    window_store: Option<Arc<dyn WindowStore>>,
) -> Result<AppState, StartupError> {
    let window_store = match (window_store, &settings.redis_url) {
        (Some(store), _) => Some(store),
        (None, Some(url)) => {
            let store = RedisWindowStore::open(url).map_err(|e| StartupError(e.to_string()))?;
            Some(Arc::new(store) as Arc<dyn WindowStore>)
        }
        (None, None) => None,
    };
    let policy = Policy::new(
        &settings.rate_limit_policy,
        settings.rate_limit,
        settings.rate_window_seconds,
    )
    .map_err(StartupError)?;
    let limiter = build_limiter(&settings, &policy, clock.clone(), window_store.clone());
    let tokens =
        TokenService::new(&settings, clock.clone()).map_err(|e| StartupError(e.to_string()))?;
    let store =
        Arc::new(Store::open(&settings.database_path).map_err(|e| StartupError(e.to_string()))?);
    let auth = AuthService::new(store.clone(), tokens, clock.clone(), settings.clone());
    Ok(AppState {
        metrics: Metrics::new(&policy.name),
        settings,
        clock,
        store,
        auth,
        policy,
        limiter,
        window_store,
    })
}

fn build_limiter(
    settings: &Settings,
    policy: &Policy,
    clock: Arc<dyn Clock>,
    window_store: Option<Arc<dyn WindowStore>>,
) -> Limiter {
    match window_store {
        Some(store) => Limiter::Shared(SharedLimiter::new(
            store,
            policy.limit,
            policy.window_seconds,
            clock,
            &settings.redis_key_prefix,
        )),
        None => Limiter::Local(FixedWindow::new(
            policy.limit,
            policy.window_seconds as f64,
            clock,
        )),
    }
}

/// Request ids are random hex, like the ones `tokens::random_hex` makes.
#[derive(Debug, Clone, Copy, Default)]
pub struct FreshRequestId;

impl MakeRequestId for FreshRequestId {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&random_hex(16))
            .ok()
            .map(RequestId::new)
    }
}

/// The routes and, outermost first: an unsafe incoming request id dropped, a
/// request id given (tower-http) and echoed, a span and an access-log line per
/// request (tower-http's `TraceLayer`), metrics, a time limit, rate limiting.
/// So rejected and timed-out requests are still counted and logged.
fn routes(state: SharedState) -> Router {
    let request_id = HeaderName::from_static(observability::REQUEST_ID_HEADER);
    let timeout = Duration::from_secs(state.settings.request_timeout_seconds.max(1));
    let middleware = ServiceBuilder::new()
        .layer(map_request(observability::drop_unsafe_request_id))
        .layer(SetRequestIdLayer::new(request_id.clone(), FreshRequestId))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(observability::request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(from_fn_with_state(state.clone(), observability::observe))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            http_limits::enforce_rate_limit,
        ));
    Router::new()
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(observability::metrics_endpoint))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route("/api/ping", get(ping))
        .route("/api/items/{item_id}", get(item))
        .layer(middleware)
        .with_state(state)
}

async fn ping() -> Json<Value> {
    Json(json!({ "pong": "ok" }))
}

async fn item(Path(item_id): Path<String>) -> Json<Value> {
    Json(json!({ "id": item_id }))
}
