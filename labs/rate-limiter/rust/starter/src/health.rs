//! Liveness ("restart me if this fails") and readiness ("send me traffic").

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::SharedState;

/// `GET /livez`: the process can answer. Depends on nothing else.
pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the dependencies a request needs are reachable.
pub async fn readyz(State(state): State<SharedState>) -> Response {
    // TODO(lab:http-contract): readiness must reflect the dependencies a request
    // needs (state.store, and state.window_store when configured): 503
    // problem+json when one is down. Liveness must not depend on them.
    let _ = &state;
    Json(json!({ "status": "ready" })).into_response()
}
