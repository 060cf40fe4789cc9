//! One request, start to finish: control routes, counting and recording, the script queue,
//! global latency, then the wire-format handler.

use std::io;

use crate::{
    anthropic, bedrock, cohere, control,
    faults::{Action, Step, StepBody},
    gemini, openai,
    record::{ConnGuard, Record, now_ms},
    request::{Head, Method},
    response::{Conn, ExtraHeaders},
    responses,
    state::Shared,
    vertex,
};

/// What the connection loop does after a request was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response was written; keep the connection if the request allows it.
    Done,
    /// Close gracefully now (possibly mid-response).
    Close,
    /// Never answer: keep reading and discarding until the peer goes away.
    Hang,
    /// Abort the connection with a TCP reset.
    Reset,
}

/// A fully read request, borrowed from the connection's buffers.
pub struct Req<'a> {
    /// The parsed head.
    pub head: &'a Head,
    /// The buffer `head` points into.
    pub buf: &'a [u8],
    /// Path without the query.
    pub path: &'a str,
    /// Path and query as sent.
    pub target: &'a str,
    /// The body (decoded if it was chunked).
    pub body: &'a [u8],
    /// The connection must close after this response.
    pub close: bool,
}

impl<'a> Req<'a> {
    /// The request method.
    pub fn method(&self) -> Method {
        self.head.method
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.head.header(self.buf, name)
    }
}

/// Which connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// Connection sequence number.
    pub id: u64,
    /// Request sequence number on the connection.
    pub seq: u64,
}

/// Handles one request and says what to do with the connection.
pub async fn dispatch(
    shared: &Shared,
    conn: &mut Conn,
    req: &Req<'_>,
    info: ConnInfo,
    guard: &mut ConnGuard<'_>,
) -> io::Result<Outcome> {
    if control::is_control(req.path) {
        return control::handle(shared, conn, req).await;
    }
    guard.mark_inference();
    shared.stats.count_request();
    if shared.settings.record {
        shared.recorder.push(record_of(req, info));
    }
    let step = shared.script.take();
    let extra: &ExtraHeaders = step.as_deref().map_or(&[], |s| &s.headers);
    if let Some(step) = step.as_deref() {
        if !step.delay.is_zero() {
            monoio::time::sleep(step.delay).await;
        }
        match step.action {
            Some(Action::Reset) => return Ok(Outcome::Reset),
            Some(Action::Hang) => return Ok(Outcome::Hang),
            Some(Action::Close) => return Ok(Outcome::Close),
            None => {}
        }
    }
    if !shared.settings.latency.is_zero() {
        monoio::time::sleep(shared.settings.latency).await;
    }
    if let Some(step) = step.as_deref().filter(|s| s.is_canned()) {
        send_canned(conn, req, step).await?;
        return Ok(Outcome::Done);
    }
    // Before Gemini: Vertex's Google routes share its `models/{m}:method` paths.
    if let Some(route) = vertex::route(req) {
        return vertex::handle(route, shared, conn, req, extra).await;
    }
    if let Some(route) = bedrock::route(req) {
        return bedrock::handle(route, shared, conn, req, extra).await;
    }
    if responses::route(req) {
        return responses::handle(shared, conn, req, extra).await;
    }
    if let Some(route) = anthropic::route(req) {
        return anthropic::handle(route, shared, conn, req, extra).await;
    }
    if let Some(route) = cohere::route(req) {
        return cohere::handle(route, shared, conn, req, extra).await;
    }
    if let Some(route) = gemini::route(req) {
        return gemini::handle(route, shared, conn, req, extra).await;
    }
    match openai::route(req.method(), req.path) {
        Some(route) => openai::handle(route, shared, conn, req, extra).await,
        None => {
            openai::not_found(conn, req, extra).await?;
            Ok(Outcome::Done)
        }
    }
}

/// Writes a scripted step's own response.
async fn send_canned(conn: &mut Conn, req: &Req<'_>, step: &Step) -> io::Result<()> {
    let status = step.status.unwrap_or(200);
    let (content_type, body): (&str, &[u8]) = match &step.body {
        Some(StepBody::Json(bytes)) => ("application/json", bytes),
        Some(StepBody::Text(text)) => ("text/plain; charset=utf-8", text.as_bytes()),
        None => ("application/json", b""),
    };
    conn.send(status, content_type, body, req.close, &step.headers)
        .await
}

fn record_of(req: &Req<'_>, info: ConnInfo) -> Record {
    Record {
        method: req.head.method_str(req.buf).to_owned(),
        path: req.target.to_owned(),
        headers: req
            .head
            .headers(req.buf)
            .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect(),
        body: req.body.to_vec(),
        connection: info.id,
        connection_request: info.seq,
        time_ms: now_ms(),
    }
}
