//! What an admin handler answers: a JSON body, or an error rendered as Bifrost's error JSON.

use bytes::Bytes;
use serde::Serialize;

use crate::config::ConfigError;
use crate::error::{ErrorContext, GatewayError};
use crate::routing::table::TableError;
use crate::server::reply::{HeaderName, HeaderValue, Reply};
use crate::store::StoreError;

/// Why an admin request failed; each maps to the status Bifrost's handlers answer with.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A malformed or refused body (400); the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// The config a write would produce does not validate (400).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The config a write would produce cannot be served (400).
    #[error("{0}")]
    Table(#[from] TableError),
    /// No such provider or key (404).
    #[error("{0}")]
    NotFound(String),
    /// The thing to create already exists (409).
    #[error("{0}")]
    Conflict(String),
    /// Missing or wrong credentials (401).
    #[error("Unauthorized")]
    Unauthorized,
    /// Wrong user name or password at login (401).
    #[error("Invalid username or password")]
    BadCredentials,
    /// Refused in this state (403).
    #[error("{0}")]
    Forbidden(String),
    /// The store refused the write; nothing was published (500).
    #[error("failed to save configuration: {0}")]
    Store(#[from] StoreError),
    /// A bug or an unexpected state (500).
    #[error("{0}")]
    Internal(String),
}

impl AdminError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::Config(_) | Self::Table(_) => 400,
            Self::Unauthorized | Self::BadCredentials => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Store(_) | Self::Internal(_) => 500,
        }
    }
}

/// A finished admin response, built on the admin thread and sent back to the worker.
#[derive(Debug, Clone)]
pub struct AdminReply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers (`content-type` is always JSON).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// JSON body.
    pub body: Bytes,
}

impl AdminReply {
    /// A JSON body with `status`.
    pub fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(v) => Self {
                status,
                headers: Vec::new(),
                body: Bytes::from(v),
            },
            Err(e) => Self::from(AdminError::Internal(format!("cannot encode response: {e}"))),
        }
    }

    /// A 200 JSON body.
    pub fn ok<T: Serialize + ?Sized>(body: &T) -> Self {
        Self::json(200, body)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Converts to the server's reply type.
    pub fn into_reply(self) -> Reply {
        let mut r = Reply::json(self.status, self.body);
        r.headers.extend(self.headers);
        r
    }
}

impl From<AdminError> for AdminReply {
    fn from(e: AdminError) -> Self {
        let status = e.status();
        let mut reply = Self {
            status,
            headers: Vec::new(),
            body: error_body(status, &e.to_string()),
        };
        if matches!(e, AdminError::Unauthorized) {
            reply = reply.with_header("www-authenticate", "Basic realm=\"ringway\"".into());
        }
        reply
    }
}

/// Bifrost's error JSON for an admin failure: the shape comes from the one mapping in
/// `crate::error`; only `status_code` is set to the admin status (Bifrost's `SendError(ctx,
/// status, message)` puts the HTTP status there).
pub fn error_body(status: u16, message: &str) -> Bytes {
    let base = GatewayError::BadRequest(message.to_string()).to_bifrost(&ErrorContext::default());
    if status == 400 {
        return base;
    }
    match serde_json::from_slice::<serde_json::Value>(&base) {
        Ok(mut v) => {
            v["status_code"] = status.into();
            serde_json::to_vec(&v).map(Bytes::from).unwrap_or(base)
        }
        Err(_) => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_bifrost_shape_with_their_status() {
        let r = AdminReply::from(AdminError::NotFound("Provider not found: x".into()));
        assert_eq!(r.status, 404);
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["status_code"], 404);
        assert_eq!(v["is_bifrost_error"], false);
        assert_eq!(v["error"]["message"], "Provider not found: x");
        let r = AdminReply::from(AdminError::Unauthorized);
        assert_eq!(r.status, 401);
        assert!(r.headers.iter().any(|(n, _)| n == "www-authenticate"));
    }
}
