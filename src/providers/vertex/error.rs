//! Why a Vertex request could not be authenticated.

/// A failure to obtain a Vertex access token (answered before any model call is made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VertexAuthError {
    /// `auth_credentials` is missing, not JSON, or not a usable service account.
    #[error("vertex auth_credentials: {0}")]
    Credentials(String),
    /// The token endpoint refused the grant or could not be reached.
    #[error("vertex token endpoint: {0}")]
    TokenEndpoint(String),
}

impl VertexAuthError {
    /// The HTTP status the client gets: a config problem is the gateway's (500), a failing
    /// token endpoint is an upstream failure (502).
    pub fn status(&self) -> u16 {
        match self {
            VertexAuthError::Credentials(_) => 500,
            VertexAuthError::TokenEndpoint(_) => 502,
        }
    }
}
