//! The per-core client: pooled connections, request writing, stale-connection retry.

use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use monoio_rustls::TlsConnector;

use super::conn::{Conn, MIN_READ_ROOM};
use super::connect;
use super::error::UpstreamError;
use super::pool::{PoolEntry, Pools};
use super::request::{self, Request};
use super::response::{self, Response};
use super::target::{Scheme, Target};
use super::tls;

/// Initial read buffer for a response head.
const HEAD_BUF: usize = 8 * 1024;

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Idle keep-alive connections kept per target.
    pub max_idle_per_target: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
    /// Bound on connection set-up: DNS, TCP, proxy handshake and TLS together.
    pub connect_timeout: Duration,
    /// Extra trusted root certificates (PEM), on top of the webpki roots.
    pub extra_root_certs_pem: Option<Vec<u8>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            max_idle_per_target: 256,
            idle_timeout: Duration::from_secs(90),
            connect_timeout: Duration::from_secs(10),
            extra_root_certs_pem: None,
        }
    }
}

/// One core's HTTP/1.1 client. `!Send`: each worker builds its own; clones share the pools.
#[derive(Clone)]
pub struct Client {
    /// Shared state of this core's client.
    inner: Rc<Inner>,
}

/// State behind a [`Client`].
struct Inner {
    /// Settings.
    opts: ClientOptions,
    /// Keep-alive pools.
    pools: Pools,
    /// TLS connector, or why none could be built (then https requests fail with it).
    tls: Result<TlsConnector, String>,
}

/// The request as written: the head, and the body when it goes out after it.
type Outgoing = (Vec<u8>, Option<Bytes>);

/// Why one exchange on one connection failed.
enum Failure {
    /// A reused connection turned out closed before any response byte: try a fresh one, with
    /// the request handed back (so the first attempt need not keep a copy).
    Stale(UpstreamError, Outgoing),
    /// Anything else.
    Fatal(UpstreamError),
}

impl Failure {
    /// The error to report when no retry is possible.
    fn into_error(self) -> UpstreamError {
        match self {
            Failure::Stale(e, _) | Failure::Fatal(e) => e,
        }
    }
}

impl Client {
    /// A client; if the extra root certificates are unusable, https requests fail with that
    /// error (use [`Client::try_new`] to catch it up front).
    pub fn new(opts: ClientOptions) -> Client {
        let tls = tls::client_config(opts.extra_root_certs_pem.as_deref())
            .map(connect::tls_connector)
            .map_err(|e| {
                tracing::error!(error = %e, "upstream TLS configuration failed");
                e.to_string()
            });
        Self::with_tls(opts, tls)
    }

    /// A client, failing if the TLS configuration (extra root certificates) is invalid.
    pub fn try_new(opts: ClientOptions) -> Result<Client, UpstreamError> {
        let config = tls::client_config(opts.extra_root_certs_pem.as_deref())?;
        Ok(Self::with_tls(opts, Ok(connect::tls_connector(config))))
    }

    /// Assembles the client.
    fn with_tls(opts: ClientOptions, tls: Result<TlsConnector, String>) -> Client {
        let pools = Pools::new(opts.max_idle_per_target, opts.idle_timeout);
        Client {
            inner: Rc::new(Inner { opts, pools, tls }),
        }
    }

    /// Idle pooled connections, all targets together.
    pub fn idle_connections(&self) -> usize {
        self.inner.pools.idle_count()
    }

    /// Sends `req` to `target`; returns once the response head has arrived.
    ///
    /// A pooled connection is used when there is one (idle connections the peer closed are
    /// skipped). If writing the request on it fails, or the peer closes it cleanly before any
    /// response byte, the request is sent once more on a fresh connection; never after a reset
    /// or after response bytes arrived. Timeouts beyond the connect
    /// timeout are the caller's: dropping the future (or the response) closes the connection.
    pub async fn send(&self, target: &Target, req: Request<'_>) -> Result<Response, UpstreamError> {
        let (head, body_after) = request::encode(target, &req)?;
        let mut outgoing = (head, body_after.then(|| req.body.clone()));
        let is_head = req.is_head();
        let (entry, pooled) = self.inner.pools.checkout(target);
        if let Some(conn) = pooled {
            match exchange(conn, outgoing, is_head, &entry).await {
                Ok(resp) => return Ok(resp),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Stale(e, back)) => {
                    // The retry goes to a fresh connection: other idle ones may be stale too,
                    // and a second stale hit must not fail a request that was never served.
                    tracing::debug!(%target, error = %e, "pooled connection was closed; retrying");
                    outgoing = back;
                }
            }
        }
        // Boxed: connecting (TLS, proxies) is the rare path, and its state would otherwise
        // make every request's future larger.
        let conn = Box::pin(self.connect(target)).await?;
        exchange(conn, outgoing, is_head, &entry)
            .await
            .map_err(Failure::into_error)
    }

    /// Opens a fresh connection within the connect timeout.
    async fn connect(&self, target: &Target) -> Result<Conn, UpstreamError> {
        let tls = match target.scheme {
            Scheme::Http => None,
            Scheme::Https => match &self.inner.tls {
                Ok(t) => Some(t),
                Err(msg) => return Err(UpstreamError::Tls(msg.clone())),
            },
        };
        let timeout = target
            .connect_timeout
            .unwrap_or(self.inner.opts.connect_timeout);
        let deadline = Instant::now() + timeout;
        match monoio::time::timeout(timeout, connect::connect(target, tls, deadline)).await {
            Ok(res) => res,
            Err(_) => Err(UpstreamError::ConnectTimeout(target.to_string())),
        }
    }
}

/// Writes the request on `conn` and reads the response head.
async fn exchange(
    mut conn: Conn,
    (head, body): Outgoing,
    is_head: bool,
    pool: &Rc<PoolEntry>,
) -> Result<Response, Failure> {
    let (res, head) = conn.write_all(head).await;
    if let Err(e) = res {
        return Err(Failure::Stale(e.into(), (head, body)));
    }
    let body = match body {
        Some(body) => {
            let (res, body) = conn.write_all(body).await;
            if let Err(e) = res {
                return Err(Failure::Stale(e.into(), (head, Some(body))));
            }
            Some(body)
        }
        None => None,
    };
    let mut buf = BytesMut::with_capacity(HEAD_BUF);
    let mut received = false;
    loop {
        while !buf.is_empty() {
            let Some(head) = response::parse_head(&buf).map_err(Failure::Fatal)? else {
                break;
            };
            buf.advance(head.len);
            // 1xx responses (100 Continue, 103 Early Hints) precede the real one.
            if (100..200).contains(&head.status) {
                if head.status == 101 {
                    let e = UpstreamError::Protocol("unexpected 101 Switching Protocols".into());
                    return Err(Failure::Fatal(e));
                }
                continue;
            }
            return Response::new(head, conn, buf, is_head, pool.clone()).map_err(Failure::Fatal);
        }
        match conn.read_into(&mut buf, MIN_READ_ROOM).await {
            // A clean close before any response byte is how servers end idle keep-alive
            // connections: the request was not served, so it may go out again.
            Ok(0) if !received => {
                return Err(Failure::Stale(UpstreamError::Closed, (head, body)));
            }
            Ok(0) => {
                let e =
                    UpstreamError::Protocol("connection closed inside the response head".into());
                return Err(Failure::Fatal(e));
            }
            Ok(_) => received = true,
            // A reset after the request was written may come from a provider that acted on it:
            // that is for the retry policy to judge, never a silent resend. (Idle connections
            // the peer had closed are weeded out before reuse, see `Conn::is_reusable`.)
            Err(e) if !received && is_closed(&e) => return Err(Failure::Fatal(e.into())),
            Err(e) => return Err(Failure::Fatal(e.into())),
        }
    }
}

/// Errors that mean the peer had closed the connection.
fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}
