//! Liveness ("restart me if this fails") and readiness ("send me traffic").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::warn;

use crate::app::SharedState;
use crate::problems::Problem;

/// `GET /livez`: the process can answer. Depends on nothing else, so an
/// outage of Redis never makes the orchestrator restart every instance.
pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store and, when configured, the shared limiter's backend
/// are reachable; otherwise 503 so the load balancer drains this instance.
pub async fn readyz(State(state): State<SharedState>) -> Response {
    match check_dependencies(&state).await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(reason) => {
            warn!(event = "not_ready", reason = %reason, "readiness check failed");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Not ready")
                .detail("A dependency is unavailable.")
                .into_response()
        }
    }
}

async fn check_dependencies(state: &SharedState) -> Result<(), String> {
    state.store.ping()?;
    if let Some(store) = &state.window_store {
        store.ping().await.map_err(|error| error.to_string())?;
    }
    Ok(())
}
