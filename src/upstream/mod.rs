//! The per-core upstream HTTP/1.1 client used to call LLM providers.
//!
//! ```text
//! Client::send(target, request)
//!  -> pool::PoolEntry::take     newest idle connection of (scheme, host, port, proxy), if fresh
//!  -> connect::connect          else: dns (off-core, cached) -> TCP (nodelay)
//!                                     -> tunnel (HTTP CONNECT | SOCKS5) -> TLS (rustls, ring)
//!  -> request::encode           request line, Host, caller headers, Content-Length, keep-alive
//!  -> response::parse_head      httparse; 1xx skipped; stale pooled connection -> one retry
//!  -> Response::chunk / bytes   content-length | chunked | until-close; pooled again at the end
//! ```
//!
//! HTTP/1.1 only, on purpose: providers cap HTTP/2 streams per connection, and a pool of
//! keep-alive connections per core needs no locks. Nothing is shared between cores except the
//! rustls config and the DNS cache.

mod client;
mod conn;
mod connect;
mod dns;
mod env_proxy;
mod error;
mod pool;
mod proxy;
mod request;
mod response;
mod target;
mod tls;
mod tunnel;

#[cfg(test)]
mod tests;

pub use client::{Client, ClientOptions};
pub use env_proxy::{EnvProxy, NoProxy};
pub use error::UpstreamError;
pub use proxy::ProxyRoute;
pub use request::{NO_BODY, Request};
pub use response::Response;
pub use target::{Scheme, Target};
