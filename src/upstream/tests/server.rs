//! Tiny blocking test servers (std threads) that script upstream and proxy behaviour.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Request line and headers, CRLFs included.
    pub head: String,
    /// The body (by Content-Length).
    pub body: Vec<u8>,
}

/// A scripted server on 127.0.0.1; counts accepted connections and records requests.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepts: Arc<AtomicUsize>,
    /// Requests read by handlers that use [`Conn::read_request`].
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// A server-side connection handed to a handler.
pub struct Conn {
    /// Buffered reader over the stream.
    reader: BufReader<TcpStream>,
    /// Zero-based index of this connection.
    pub index: usize,
    /// Shared request log.
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Conn {
    /// Reads one request; `None` at EOF.
    pub fn read_request(&mut self) -> Option<Seen> {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let len = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).ok()?;
        let seen = Seen { head, body };
        self.seen.lock().expect("lock").push(seen.clone());
        Some(seen)
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        let s = self.reader.get_mut();
        let _ = s.write_all(bytes);
        let _ = s.flush();
    }

    /// True once the peer has closed (reads until EOF or error).
    pub fn wait_closed(&mut self) -> bool {
        let mut sink = [0u8; 1024];
        loop {
            match self.reader.read(&mut sink) {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    }

    /// Closes both directions.
    pub fn close(&mut self) {
        let _ = self.reader.get_mut().shutdown(Shutdown::Both);
    }

    /// The raw stream (for proxies).
    pub fn into_parts(self) -> (BufReader<TcpStream>, usize) {
        (self.reader, self.index)
    }
}

impl Server {
    /// Starts a server; `handler` runs on its own thread for each connection.
    pub fn start<F>(handler: F) -> Server
    where
        F: Fn(Conn) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepts = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let (acc, log) = (accepts.clone(), seen.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let index = acc.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                let seen = log.clone();
                thread::spawn(move || {
                    handler(Conn {
                        reader: BufReader::new(stream),
                        index,
                        seen,
                    });
                });
            }
        });
        Server {
            addr,
            accepts,
            seen,
        }
    }

    /// A keep-alive server answering every request with `response`.
    pub fn fixed(response: &'static [u8]) -> Server {
        Server::start(move |mut c| {
            while c.read_request().is_some() {
                c.write(response);
            }
        })
    }

    /// Connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Copies bytes both ways between two streams until either side closes.
pub fn pipe(client: BufReader<TcpStream>, upstream: TcpStream) {
    // Forward anything the reader already buffered.
    let buffered = client.buffer().to_vec();
    let mut up_w = upstream.try_clone().expect("clone");
    if !buffered.is_empty() {
        up_w.write_all(&buffered).expect("forward");
    }
    let mut down_w = client.get_ref().try_clone().expect("clone");
    let mut client_r = client.into_inner();
    let mut up_r = upstream;
    let t = thread::spawn(move || {
        let _ = std::io::copy(&mut client_r, &mut up_w);
        let _ = up_w.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_r, &mut down_w);
    let _ = down_w.shutdown(Shutdown::Write);
    let _ = t.join();
}
