//! Integration tests over real sockets on 127.0.0.1 (blocking std servers, monoio client).

mod client;
mod proxy;
mod server;
mod tls;

use std::time::Duration;

use super::{Client, ClientOptions, ProxyRoute, Request, Target};

/// A monoio runtime like the workers' (io_uring if available, epoll otherwise, timers on).
fn rt() -> monoio::FusionRuntime<
    monoio::time::TimeDriver<monoio::IoUringDriver>,
    monoio::time::TimeDriver<monoio::LegacyDriver>,
> {
    monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .build()
        .expect("runtime")
}

/// A client with short timeouts for tests.
fn client() -> Client {
    Client::try_new(ClientOptions {
        connect_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    })
    .expect("client")
}

/// The target of a base URL, direct.
fn target(url: &str) -> Target {
    Target::parse(url, ProxyRoute::Direct).expect("url").0
}

/// A bodiless GET.
fn get(path: &str) -> Request<'_> {
    Request {
        method: "GET",
        path,
        headers: &[],
        body: &super::NO_BODY,
    }
}
