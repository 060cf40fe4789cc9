//! CONNECT and SOCKS5 proxies (tiny fakes that check the handshake, then pipe bytes).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::server::{Server, pipe};
use super::{get, rt};
use crate::upstream::{Client, ClientOptions, ProxyRoute, Scheme, Target, UpstreamError};

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/// A fake HTTP proxy; records each CONNECT head and answers with `reply` (tunnels on 200).
pub(super) fn connect_proxy(reply: &'static str) -> (Server, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let heads = log.clone();
    let server = Server::start(move |c| {
        let (mut reader, _) = c.into_parts();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        heads.lock().expect("lock").push(head.clone());
        let dest = head.split(' ').nth(1).unwrap_or_default().to_owned();
        let _ = reader.get_mut().write_all(reply.as_bytes());
        if !reply.starts_with("HTTP/1.1 200") {
            return;
        }
        let dest = dest.replace("localhost", "127.0.0.1");
        let upstream = TcpStream::connect(dest).expect("proxy dials upstream");
        pipe(reader, upstream);
    });
    (server, log)
}

fn via(url: &str, proxy: ProxyRoute) -> Target {
    Target::parse(url, proxy).expect("url").0
}

#[test]
fn http_connect_tunnel_with_credentials() {
    let upstream = Server::fixed(HELLO);
    let (proxy, heads) = connect_proxy("HTTP/1.1 200 Connection established\r\n\r\n");
    let route = ProxyRoute::from_settings(
        "http",
        &format!("http://{}", proxy.addr),
        Some("user"),
        Some("pass"),
        Scheme::Http,
        "127.0.0.1",
    )
    .expect("route");
    let t = via(&upstream.url(), route);
    rt().block_on(async {
        let c = Client::new(ClientOptions::default());
        for _ in 0..2 {
            let resp = c.send(&t, get("/v1/models")).await.expect("through proxy");
            assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
        }
    });
    let heads = heads.lock().expect("lock").clone();
    assert_eq!(heads.len(), 1, "the tunnel is pooled like any connection");
    assert_eq!(
        heads[0],
        format!(
            "CONNECT {0} HTTP/1.1\r\nHost: {0}\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
            upstream.addr
        )
    );
    // The origin sees a normal origin-form request, without proxy credentials.
    let seen = upstream.seen.lock().expect("lock")[0].clone();
    assert!(seen.head.starts_with("GET /v1/models HTTP/1.1\r\n"));
    assert!(
        !seen
            .head
            .to_ascii_lowercase()
            .contains("proxy-authorization")
    );
    assert_eq!(proxy.accepts(), 1);
}

#[test]
fn http_connect_refusal_is_a_proxy_error() {
    let (proxy, _) =
        connect_proxy("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
    let route = ProxyRoute::Http {
        host: "127.0.0.1".into(),
        port: proxy.addr.port(),
        authorization: None,
    };
    let t = via("https://api.example.com", route);
    rt().block_on(async {
        let err = Client::new(ClientOptions::default())
            .send(&t, get("/"))
            .await
            .expect_err("407");
        let UpstreamError::Proxy(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("407"), "{msg}");
        assert!(msg.contains("api.example.com:443"), "{msg}");
    });
}

#[test]
fn silent_proxy_hits_the_connect_timeout() {
    let proxy = Server::start(|mut c| {
        c.wait_closed();
    });
    let route = ProxyRoute::Http {
        host: "127.0.0.1".into(),
        port: proxy.addr.port(),
        authorization: None,
    };
    let t = via("http://api.example.com", route);
    rt().block_on(async {
        let c = Client::new(ClientOptions {
            connect_timeout: Duration::from_millis(100),
            ..ClientOptions::default()
        });
        let err = c.send(&t, get("/")).await.expect_err("timeout");
        assert!(matches!(err, UpstreamError::ConnectTimeout(_)), "{err:?}");
        assert!(err.is_network());
    });
}

/// What the fake SOCKS5 proxy saw.
#[derive(Debug, Default, Clone)]
struct SocksLog {
    methods: Vec<u8>,
    user: String,
    pass: String,
    atyp: u8,
    dest: String,
    port: u16,
}

/// A fake SOCKS5 proxy that requires user/password auth if `want_auth`.
fn socks_proxy(want_auth: bool) -> (Server, Arc<Mutex<Vec<SocksLog>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let entries = log.clone();
    let server = Server::start(move |c| {
        let (mut r, _) = c.into_parts();
        let mut l = SocksLog::default();
        let mut b2 = [0u8; 2];
        r.read_exact(&mut b2).expect("greeting");
        assert_eq!(b2[0], 5);
        l.methods = vec![0; usize::from(b2[1])];
        r.read_exact(&mut l.methods).expect("methods");
        let w = |r: &mut std::io::BufReader<TcpStream>, bytes: &[u8]| {
            r.get_mut().write_all(bytes).expect("write")
        };
        if want_auth {
            if !l.methods.contains(&2) {
                w(&mut r, &[5, 0xff]);
                entries.lock().expect("lock").push(l);
                return;
            }
            w(&mut r, &[5, 2]);
            r.read_exact(&mut b2).expect("auth head");
            let mut user = vec![0; usize::from(b2[1])];
            r.read_exact(&mut user).expect("user");
            let mut plen = [0u8; 1];
            r.read_exact(&mut plen).expect("plen");
            let mut pass = vec![0; usize::from(plen[0])];
            r.read_exact(&mut pass).expect("pass");
            l.user = String::from_utf8(user).expect("utf8");
            l.pass = String::from_utf8(pass).expect("utf8");
            let ok = l.user == "alice" && l.pass == "s3cret";
            w(&mut r, &[1, if ok { 0 } else { 1 }]);
            if !ok {
                entries.lock().expect("lock").push(l);
                return;
            }
        } else {
            w(&mut r, &[5, 0]);
        }
        let mut head = [0u8; 4];
        r.read_exact(&mut head).expect("request");
        l.atyp = head[3];
        l.dest = match head[3] {
            1 => {
                let mut a = [0u8; 4];
                r.read_exact(&mut a).expect("v4");
                std::net::Ipv4Addr::from(a).to_string()
            }
            3 => {
                let mut n = [0u8; 1];
                r.read_exact(&mut n).expect("len");
                let mut name = vec![0; usize::from(n[0])];
                r.read_exact(&mut name).expect("name");
                String::from_utf8(name).expect("utf8")
            }
            _ => panic!("unexpected atyp"),
        };
        let mut port = [0u8; 2];
        r.read_exact(&mut port).expect("port");
        l.port = u16::from_be_bytes(port);
        entries.lock().expect("lock").push(l.clone());
        // The proxy resolves the name itself.
        let upstream = TcpStream::connect(("127.0.0.1", l.port)).expect("dial");
        // Reply with a domain-typed bound address to exercise variable-length parsing.
        w(&mut r, &[5, 0, 0, 3, 4, b'h', b'o', b's', b't', 0x1f, 0x90]);
        pipe(r, upstream);
    });
    (server, log)
}

#[test]
fn socks5_with_auth_and_remote_resolution() {
    let upstream = Server::fixed(HELLO);
    let (proxy, log) = socks_proxy(true);
    let route = ProxyRoute::from_settings(
        "socks5",
        &format!("socks5://{}", proxy.addr),
        Some("alice"),
        Some("s3cret"),
        Scheme::Http,
        "localhost",
    )
    .expect("route");
    let t = via(&format!("http://localhost:{}", upstream.addr.port()), route);
    rt().block_on(async {
        let c = Client::new(ClientOptions::default());
        for _ in 0..2 {
            let resp = c.send(&t, get("/")).await.expect("through socks");
            assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
        }
    });
    let log = log.lock().expect("lock").clone();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].methods, vec![0, 2]);
    assert_eq!(
        (log[0].user.as_str(), log[0].pass.as_str()),
        ("alice", "s3cret")
    );
    assert_eq!((log[0].atyp, log[0].dest.as_str()), (3, "localhost"));
    assert_eq!(log[0].port, upstream.addr.port());
    assert_eq!(upstream.accepts(), 1);
}

#[test]
fn socks5_without_auth_and_ip_target() {
    let upstream = Server::fixed(HELLO);
    let (proxy, log) = socks_proxy(false);
    let route = ProxyRoute::Socks5 {
        host: "127.0.0.1".into(),
        port: proxy.addr.port(),
        username: None,
        password: None,
    };
    let t = via(&upstream.url(), route);
    rt().block_on(async {
        let resp = Client::new(ClientOptions::default())
            .send(&t, get("/"))
            .await
            .expect("socks");
        assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
    });
    let log = log.lock().expect("lock").clone();
    assert_eq!(log[0].methods, vec![0]);
    assert_eq!((log[0].atyp, log[0].dest.as_str()), (1, "127.0.0.1"));
}

#[test]
fn socks5_failures_are_proxy_errors() {
    let (proxy, _) = socks_proxy(true);
    let t = |user: Option<&str>| {
        let route = ProxyRoute::Socks5 {
            host: "127.0.0.1".into(),
            port: proxy.addr.port(),
            username: user.map(str::to_owned),
            password: Some("wrong".into()),
        };
        via("http://api.example.com", route)
    };
    rt().block_on(async {
        let c = Client::new(ClientOptions::default());
        let err = c.send(&t(None), get("/")).await.expect_err("no method");
        assert!(
            matches!(&err, UpstreamError::Proxy(m) if m.contains("no acceptable")),
            "{err:?}"
        );
        let err = c
            .send(&t(Some("alice")), get("/"))
            .await
            .expect_err("bad password");
        assert!(
            matches!(&err, UpstreamError::Proxy(m) if m.contains("authentication failed")),
            "{err:?}"
        );
    });
}
