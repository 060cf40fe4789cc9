//! A minimal HTTP CONNECT proxy for tests of upstream proxying.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A minimal HTTP CONNECT proxy: counts the requests it carried and records each tunnel's
/// `Proxy-Authorization`.
pub struct ConnectProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `POST /` request lines carried through its tunnels.
    pub requests: Arc<AtomicUsize>,
    /// Each tunnel's `Proxy-Authorization`, in order.
    pub auth: Arc<Mutex<Vec<Option<String>>>>,
}

impl ConnectProxy {
    /// Starts the proxy on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let (t, a) = (Arc::clone(&requests), Arc::clone(&auth));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (t, a) = (Arc::clone(&t), Arc::clone(&a));
                std::thread::spawn(move || tunnel(client, &t, &a));
            }
        });
        Self {
            addr,
            requests,
            auth,
        }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn tunnel(client: TcpStream, requests: &Arc<AtomicUsize>, auth: &Mutex<Vec<Option<String>>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let mut proxy_auth = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case("proxy-authorization")
        {
            proxy_auth = Some(v.trim().to_string());
        }
    }
    let target = first
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let Ok(upstream) = TcpStream::connect(&target) else {
        return;
    };
    auth.lock().unwrap().push(proxy_auth);
    let requests = Arc::clone(requests);
    let mut client_w = client;
    client_w
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let mut up_r = upstream.try_clone().unwrap();
    let mut up_w = upstream;
    let mut client_r = reader;
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            // Bytes the BufReader already pulled in are forwarded first.
            let n = match client_r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // The upstream is plain HTTP: count the request lines passing through.
            let seen = buf[..n].windows(6).filter(|w| w == b"POST /").count();
            requests.fetch_add(seen, Ordering::SeqCst);
            if up_w.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = up_w.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_r, &mut client_w);
}
