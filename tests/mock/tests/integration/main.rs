//! Black-box tests: start the `ringway-mock` binary on port 0 and talk to it over real sockets.

#![allow(clippy::unwrap_used)]

mod anthropic;
mod client;
mod control;
mod faults;
mod http;
mod routes;
mod streaming;
