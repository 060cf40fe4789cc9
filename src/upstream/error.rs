//! Errors of the upstream client.

use std::io;

/// Everything that can go wrong calling an upstream.
#[derive(thiserror::Error, Debug)]
pub enum UpstreamError {
    /// The base URL (or a proxy URL) could not be used.
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    /// The request itself is malformed (e.g. a header value with CR/LF).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The host name did not resolve.
    #[error("dns lookup for {host} failed: {message}")]
    Dns {
        /// The host that was looked up.
        host: String,
        /// Resolver message.
        message: String,
    },
    /// No resolved address accepted a TCP connection.
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// The last address tried (`ip:port`, or `host:port` when none resolved).
        addr: String,
        /// The last connect error.
        source: io::Error,
    },
    /// Connection set-up (DNS, TCP, proxy, TLS) did not finish within `connect_timeout`.
    #[error("connect to {0} timed out")]
    ConnectTimeout(String),
    /// The TLS handshake failed for a reason other than I/O (certificate, protocol).
    #[error("tls: {0}")]
    Tls(String),
    /// The proxy refused or broke the tunnel.
    #[error("proxy: {0}")]
    Proxy(String),
    /// A socket error.
    #[error("io: {0}")]
    Io(#[from] io::Error),
    /// The upstream sent something that is not valid HTTP/1.1.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The connection closed before the body was complete.
    #[error("upstream closed the connection before the body was complete")]
    Truncated,
    /// The body is larger than the caller's limit.
    #[error("upstream body exceeds the size limit")]
    BodyTooLarge,
    /// The upstream closed the connection without sending a response.
    #[error("upstream closed the connection without a response")]
    Closed,
}

impl UpstreamError {
    /// True for transport failures that happen before a response and are worth retrying
    /// (Bifrost's `ErrProviderNetworkError` / `ErrProviderDoRequest` class).
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Self::Dns { .. }
                | Self::Connect { .. }
                | Self::ConnectTimeout(_)
                | Self::Proxy(_)
                | Self::Io(_)
                | Self::Closed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_classification() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(
            UpstreamError::Connect {
                addr: "x".into(),
                source: refused
            }
            .is_network()
        );
        assert!(UpstreamError::Closed.is_network());
        assert!(UpstreamError::ConnectTimeout("h".into()).is_network());
        assert!(!UpstreamError::Tls("bad cert".into()).is_network());
        assert!(!UpstreamError::Protocol("x".into()).is_network());
        assert!(!UpstreamError::BodyTooLarge.is_network());
        assert!(!UpstreamError::InvalidUrl("x".into()).is_network());
    }
}
