//! The one error type the API answers with: an HTTP status and a JSON object `{error, ...}`.

use serde_json::{Map, Value};

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `error` text.
    pub error: String,
    /// More fields (`guardrail`, `event_id`, `retry_after_seconds`, ...).
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// An error with only a message.
    pub fn new(status: u16, error: impl Into<String>) -> ApiError {
        ApiError { status, error: error.into(), extra: Map::new() }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(error: impl Into<String>) -> ApiError {
        ApiError::new(400, error)
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(404, what)
    }

    /// 409.
    pub fn conflict(error: impl Into<String>) -> ApiError {
        ApiError::new(409, error)
    }

    /// 500 from the store: nothing was answered as done.
    pub fn store(e: impl std::fmt::Display) -> ApiError {
        ApiError::new(500, format!("not stored: {e}"))
    }

    /// 503 while stopping.
    pub fn shutting_down() -> ApiError {
        let mut e = ApiError::new(503, "prefixd is shutting down");
        e.extra.insert("retry_after_seconds".into(), Value::from(5));
        e
    }

    /// Adds a field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("error".into(), Value::String(self.error.clone()));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.error)
    }
}
