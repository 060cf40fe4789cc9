//! Opening a connection to a target: DNS (off-core), TCP, proxy tunnel, then TLS.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::net::TcpStream;
use monoio_rustls::{TlsConnector, TlsError};
use rustls::pki_types::ServerName;

use super::conn::Conn;
use super::dns;
use super::error::UpstreamError;
use super::proxy::ProxyRoute;
use super::target::{Scheme, Target};
use super::tunnel;

/// Smallest time slice given to one address when several are tried.
const MIN_ATTEMPT: Duration = Duration::from_secs(2);

/// Connects to `target` through its proxy route; the caller bounds the time it takes.
pub(crate) async fn connect(
    target: &Target,
    tls: Option<&TlsConnector>,
    deadline: Instant,
) -> Result<Conn, UpstreamError> {
    let (hop_host, hop_port) = match &target.proxy {
        ProxyRoute::Direct => (target.host.as_str(), target.port),
        ProxyRoute::Http { host, port, .. } | ProxyRoute::Socks5 { host, port, .. } => {
            (host.as_str(), *port)
        }
    };
    let mut tcp = dial(hop_host, hop_port, deadline).await?;
    match &target.proxy {
        ProxyRoute::Direct => {}
        ProxyRoute::Http { authorization, .. } => {
            tunnel::http_connect(&mut tcp, target, authorization.as_deref()).await?;
        }
        ProxyRoute::Socks5 {
            username, password, ..
        } => {
            tunnel::socks5_connect(&mut tcp, target, username.as_deref(), password.as_deref())
                .await?;
        }
    }
    match target.scheme {
        Scheme::Http => Ok(Conn::Plain(tcp)),
        Scheme::Https => {
            let Some(tls) = tls else {
                return Err(UpstreamError::Tls("no TLS configuration".into()));
            };
            let name = ServerName::try_from(target.host.clone())
                .map_err(|e| UpstreamError::Tls(format!("invalid server name: {e}")))?;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&tcp);
            let stream = tls.connect(name, tcp).await.map_err(tls_error)?;
            Ok(Conn::Tls(Box::new(stream), fd))
        }
    }
}

/// Resolves `host` and tries each address in order until one accepts.
///
/// Like Go's dialer, each address gets an equal share of the time left (at least
/// [`MIN_ATTEMPT`] when there is that much), so one black-holed address cannot starve the rest.
async fn dial(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, UpstreamError> {
    let addrs = dns::resolve(host, port).await?;
    let mut last = None;
    let count = addrs.len();
    for (i, addr) in addrs.into_iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let share =
            (left / u32::try_from(count - i).unwrap_or(u32::MAX)).max(MIN_ATTEMPT.min(left));
        let attempt = match monoio::time::timeout(share, TcpStream::connect_addr(addr)).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
        };
        match attempt {
            Ok(tcp) => {
                // Requests are written in one go; Nagle would only delay the last segment.
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(e) => last = Some((addr.to_string(), e)),
        }
    }
    let (addr, source) = last.unwrap_or_else(|| {
        let e = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
        (format!("{host}:{port}"), e)
    });
    Err(UpstreamError::Connect { addr, source })
}

/// Separates certificate/protocol failures (not retryable) from socket failures.
fn tls_error(e: TlsError) -> UpstreamError {
    match e {
        TlsError::Rustls(e) => UpstreamError::Tls(e.to_string()),
        TlsError::Io(e) => {
            // monoio-rustls reports rustls errors met while reading as InvalidData io errors.
            let rustls_cause = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .map(ToString::to_string);
            match rustls_cause {
                Some(msg) => UpstreamError::Tls(msg),
                None if e.kind() == io::ErrorKind::UnexpectedEof => UpstreamError::Closed,
                None => UpstreamError::Io(e),
            }
        }
    }
}

/// The TLS connector for a client.
pub(crate) fn tls_connector(config: Arc<rustls::ClientConfig>) -> TlsConnector {
    TlsConnector::from(config)
}
