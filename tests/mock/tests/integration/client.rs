//! A minimal blocking HTTP/1.1 client over std::net, able to observe faults (resets, stalls,
//! cut streams) and the arrival time of each chunk.

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use ringway_mock::harness::MockProcess;
use serde_json::Value;

/// The default bearer token tests send.
pub const TOKEN: &str = "sk-test";

/// Starts the mock binary built for this test run.
pub fn mock(args: &[&str]) -> MockProcess {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_ringway-mock"));
    MockProcess::spawn(bin, args).expect("mock starts")
}

/// How a response ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Framing complete.
    Complete,
    /// The peer closed before the framing was complete.
    Eof,
    /// The peer reset the connection.
    Reset,
    /// Nothing arrived within the read timeout.
    Timeout,
}

/// A response as far as it arrived.
#[derive(Debug)]
pub struct Response {
    /// Status code (0 if no head arrived).
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// Each chunk of a chunked body with its arrival time.
    pub chunks: Vec<(Instant, Vec<u8>)>,
    /// How it ended.
    pub end: End,
}

impl Response {
    /// A header value by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `data:` payloads of an SSE body, in order.
    pub fn sse_data(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.body)
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    /// SSE payloads parsed as JSON (`[DONE]` excluded).
    pub fn sse_json(&self) -> Vec<Value> {
        self.sse_data()
            .iter()
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).expect("event is JSON"))
            .collect()
    }
}

/// One client connection.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects with a 3 s read timeout.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Changes the read timeout.
    pub fn timeout(&self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).expect("timeout");
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Writes a request with Host and Content-Length added.
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: mock\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
    }

    /// Sends a request and reads the response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send(method, path, headers, body);
        self.read_response()
    }

    /// POSTs JSON with the default bearer token.
    pub fn post(&mut self, path: &str, body: &Value) -> Response {
        let auth = format!("Bearer {TOKEN}");
        let body = serde_json::to_vec(body).expect("json");
        self.request(
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &body,
        )
    }

    /// GETs with the default bearer token.
    pub fn get(&mut self, path: &str) -> Response {
        let auth = format!("Bearer {TOKEN}");
        self.request("GET", path, &[("Authorization", &auth)], b"")
    }

    /// Reads more bytes; `Err` says how the stream ended.
    fn fill(&mut self) -> Result<(), End> {
        let mut tmp = [0u8; 16 * 1024];
        match self.stream.read(&mut tmp) {
            Ok(0) => Err(End::Eof),
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Err(End::Reset),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(End::Timeout)
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }

    /// Reads one response (a 1xx response counts as one).
    pub fn read_response(&mut self) -> Response {
        let mut resp = Response {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            chunks: Vec::new(),
            end: End::Complete,
        };
        let head_len = loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut slots);
            if let httparse::Status::Complete(n) =
                parsed.parse(&self.buf).expect("valid response head")
            {
                resp.status = parsed.code.unwrap_or(0);
                resp.headers = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                break n;
            }
            if let Err(end) = self.fill() {
                resp.end = end;
                return resp;
            }
        };
        self.buf.drain(..head_len);
        if resp.status < 200 {
            return resp;
        }
        if resp.header("transfer-encoding") == Some("chunked") {
            resp.end = self.read_chunked(&mut resp);
        } else {
            let len: usize = resp
                .header("content-length")
                .map_or(0, |v| v.parse().expect("length"));
            while self.buf.len() < len {
                if let Err(end) = self.fill() {
                    resp.end = end;
                    resp.body = std::mem::take(&mut self.buf);
                    return resp;
                }
            }
            resp.body = self.buf.drain(..len).collect();
        }
        resp
    }

    fn read_chunked(&mut self, resp: &mut Response) -> End {
        loop {
            match httparse::parse_chunk_size(&self.buf) {
                Ok(httparse::Status::Complete((n, size))) => {
                    let size = size as usize;
                    while self.buf.len() < n + size + 2 {
                        if let Err(end) = self.fill() {
                            return end;
                        }
                    }
                    let data: Vec<u8> = self.buf[n..n + size].to_vec();
                    assert_eq!(
                        &self.buf[n + size..n + size + 2],
                        b"\r\n",
                        "chunk ends with CRLF"
                    );
                    self.buf.drain(..n + size + 2);
                    if size == 0 {
                        return End::Complete;
                    }
                    resp.body.extend_from_slice(&data);
                    resp.chunks.push((Instant::now(), data));
                }
                Ok(httparse::Status::Partial) => {
                    if let Err(end) = self.fill() {
                        return end;
                    }
                }
                Err(e) => panic!("bad chunk size: {e:?}"),
            }
        }
    }

    /// Waits for the peer to close or reset, with `within` as the limit.
    pub fn wait_closed(&mut self, within: Duration) -> End {
        self.timeout(within);
        loop {
            if let Err(end) = self.fill() {
                return end;
            }
        }
    }
}

/// A fresh connection to fetch `/_mock/stats`.
pub fn stats(addr: SocketAddr) -> Value {
    Client::connect(addr)
        .request("GET", "/_mock/stats", &[], b"")
        .json()
}

/// A fresh connection to fetch `/_mock/requests`.
pub fn recorded(addr: SocketAddr) -> Vec<Value> {
    match Client::connect(addr)
        .request("GET", "/_mock/requests", &[], b"")
        .json()
    {
        Value::Array(items) => items,
        other => panic!("not an array: {other}"),
    }
}

/// A minimal chat request body.
pub fn chat_body(model: &str, text: &str) -> Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": text}]})
}
