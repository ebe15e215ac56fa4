//! RFC 9457 problem details: the one error format every endpoint uses.

use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The media type of a problem details body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem details response under construction.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    body: Map<String, Value>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with the given status and short, human-readable title.
    pub fn new(status: StatusCode, title: &str) -> Self {
        let mut body = Map::new();
        body.insert("type".into(), Value::from("about:blank"));
        body.insert("title".into(), Value::from(title));
        body.insert("status".into(), Value::from(status.as_u16()));
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// A URI that identifies the problem type.
    #[must_use]
    pub fn type_uri(self, uri: &str) -> Self {
        self.extension("type", Value::from(uri))
    }

    /// An explanation specific to this occurrence.
    #[must_use]
    pub fn detail(self, detail: &str) -> Self {
        self.extension("detail", Value::from(detail))
    }

    /// Any other member of the problem object.
    #[must_use]
    pub fn extension(mut self, name: &str, value: Value) -> Self {
        self.body.insert(name.into(), value);
        self
    }

    /// A response header to send with the problem (invalid values are dropped).
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Value::Object(self.body).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}
