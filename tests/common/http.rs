//! A small blocking HTTP/1.1 client for tests: keep-alive, chunked bodies, event timing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A response.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
    /// Arrival time of each body chunk (chunked responses only).
    pub chunk_times: Vec<Instant>,
    /// The chunks themselves (chunked responses only).
    pub chunks: Vec<Vec<u8>>,
}

impl Resp {
    /// Body parsed as JSON (panics with the body text otherwise).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// First header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// SSE `data:` payloads of the body, in order.
    pub fn sse_data(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|ev| {
                let data: Vec<&str> = ev
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:").map(|d| d.trim_start()))
                    .collect();
                (!data.is_empty()).then(|| data.join("\n"))
            })
            .collect()
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut c = Conn::connect(addr);
    let mut h = headers.to_vec();
    h.push(("connection", "close"));
    c.send(method, path, &h, body)
}

/// A client connection that can carry several requests.
pub struct Conn {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects with a 30 s read timeout.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a request and reads its response.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        self.write_request(method, path, headers, body);
        self.read_response().expect("response")
    }

    /// Writes a request without reading.
    pub fn write_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nhost: test\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            req.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes).expect("write");
    }

    /// Writes raw bytes.
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn fill(&mut self) -> std::io::Result<usize> {
        let mut tmp = [0u8; 16384];
        let n = self.stream.read(&mut tmp)?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n)
    }

    /// Reads one final response, skipping `100 Continue` (None if the server closed first).
    pub fn read_response(&mut self) -> Option<Resp> {
        loop {
            let resp = self.read_any_response()?;
            if resp.status != 100 {
                return Some(resp);
            }
        }
    }

    /// Reads one response, interim (`1xx`) ones included.
    pub fn read_any_response(&mut self) -> Option<Resp> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            match self.fill() {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let mut resp = Resp {
            status,
            headers: headers.clone(),
            body: Vec::new(),
            chunk_times: Vec::new(),
            chunks: Vec::new(),
        };
        if (100..200).contains(&status) {
            return Some(resp);
        }
        if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    match self.fill() {
                        Ok(0) | Err(_) => return Some(resp),
                        Ok(_) => {}
                    }
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    match self.fill() {
                        Ok(0) | Err(_) => return Some(resp),
                        Ok(_) => {}
                    }
                }
                if size == 0 {
                    self.buf.drain(..2);
                    return Some(resp);
                }
                let data: Vec<u8> = self.buf.drain(..size).collect();
                self.buf.drain(..2);
                resp.chunk_times.push(Instant::now());
                resp.body.extend_from_slice(&data);
                resp.chunks.push(data);
            }
        }
        if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            while self.buf.len() < len {
                match self.fill() {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            let n = len.min(self.buf.len());
            resp.body = self.buf.drain(..n).collect();
            return Some(resp);
        }
        // No framing: read until close.
        while let Ok(n) = self.fill() {
            if n == 0 {
                break;
            }
        }
        resp.body = std::mem::take(&mut self.buf);
        Some(resp)
    }

    /// True if the server closed the connection (reads EOF within `wait`).
    pub fn is_closed(&mut self, wait: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut tmp = [0u8; 1];
        // A read timeout means the connection is still open; any other error means closed.
        let closed = match self.stream.read(&mut tmp) {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(30)));
        closed
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
