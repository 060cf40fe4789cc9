//! Real TLS (rustls server in a std thread) with a test CA valid 2000-2100.

use std::io::{BufRead, BufReader, Read, Write};

/// Test CA certificate (trust anchor given to the client as extra root).
const CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBaDCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9yaW5nd2F5\n\
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBoxGDAW\n\
BgNVBAMMD3Jpbmd3YXkgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA\n\
BCCML55k5zY6aDwJfpoq7URVsWkffSVvYW7cS0d2rFcGCtloRW7bTislO+A4Cykt\n\
UoGKYVUyWjzE3zydSqrYFYmjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/\n\
BAQDAgIEMB0GA1UdDgQWBBTG7yRBTUIxYNm5KpEjvK5f7rTNATAKBggqhkjOPQQD\n\
AgNJADBGAiEAjcg07Z43u2/XALGnBsBveC8vI5ydgcnqI+0bq9gWV9YCIQCOxy6/\n\
KlO+Pk28PK0lq2JjucBjFtH1rfO9i7hTMc5x2Q==\n\
-----END CERTIFICATE-----\n\
";

/// Leaf for localhost and 127.0.0.1, signed by the test CA.
const LEAF_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBsjCCAVigAwIBAgIBAjAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9yaW5nd2F5\n\
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQ\n\
BgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLFzYjip\n\
eCbigxUH2rRMc5DTAC4/mJzuoHv4Gx6DLgWXD6bLp820R4k54voOcyi2A7M+UpCn\n\
uBUr2U++jQbd4VCjgZIwgY8wDAYDVR0TAQH/BAIwADAaBgNVHREEEzARgglsb2Nh\n\
bGhvc3SHBH8AAAEwEwYDVR0lBAwwCgYIKwYBBQUHAwEwDgYDVR0PAQH/BAQDAgeA\n\
MB8GA1UdIwQYMBaAFMbvJEFNQjFg2bkqkSO8rl/utM0BMB0GA1UdDgQWBBTmDjAb\n\
dEnfOEZ0mgyr1E/BUtDssTAKBggqhkjOPQQDAgNIADBFAiAjqsGMPHVFvvTBR8S3\n\
tJoH5aVCGRkE4kuxQIOm6XbytAIhAPzSaehJNtuXOhjSU7DqZMk7vigrJiyOqQW2\n\
NQ0XY9PD\n\
-----END CERTIFICATE-----\n\
";

/// PKCS#8 key of the leaf.
const LEAF_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgriDxu2OGHPKqbRpT\n\
DPyt76VURByRW19Wc9ol6n5PoNyhRANCAASxc2I4qXgm4oMVB9q0THOQ0wAuP5ic\n\
7qB7+Bsegy4Flw+my6fNtEeJOeL6DnMotgOzPlKQp7gVK9lPvo0G3eFQ\n\
-----END PRIVATE KEY-----\n\
";

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{get, rt};
use crate::upstream::{Client, ClientOptions, ProxyRoute, Target, UpstreamError};

/// What the TLS server saw on each connection: SNI and negotiated ALPN.
type Handshakes = Arc<Mutex<Vec<(Option<String>, Option<Vec<u8>>)>>>;

/// A TLS server answering `hello` with keep-alive; after `requests_per_conn` requests it sends
/// close_notify and closes. Returns the port, the accept counter and the handshake log.
fn tls_server(requests_per_conn: usize) -> (u16, Arc<AtomicUsize>, Handshakes) {
    let certs = vec![CertificateDer::from_pem_slice(LEAF_PEM.as_bytes()).expect("leaf")];
    let key = PrivateKeyDer::from_pem_slice(LEAF_KEY.as_bytes()).expect("key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let cfg = Arc::new(cfg);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepts = Arc::new(AtomicUsize::new(0));
    let log: Handshakes = Arc::default();
    let (acc, hs) = (accepts.clone(), log.clone());
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { break };
            acc.fetch_add(1, Ordering::SeqCst);
            let (cfg, hs) = (cfg.clone(), hs.clone());
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(cfg).expect("conn");
                let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                for i in 0..requests_per_conn {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        if tls.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push_str(&line);
                        if line == "\r\n" {
                            break;
                        }
                    }
                    if !head.contains("Host: localhost:") {
                        return;
                    }
                    let s = tls.get_mut();
                    if i == 0 {
                        let sni = s.conn.server_name().map(str::to_owned);
                        let alpn = s.conn.alpn_protocol().map(<[u8]>::to_vec);
                        hs.lock().expect("lock").push((sni, alpn));
                    }
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                    let _ = s.flush();
                }
                let s = tls.get_mut();
                s.conn.send_close_notify();
                let _ = s.flush();
                let mut rest = Vec::new();
                let _ = s.read_to_end(&mut rest);
            });
        }
    });
    (port, accepts, log)
}

fn trusting_client() -> Client {
    Client::try_new(ClientOptions {
        extra_root_certs_pem: Some(CA_PEM.as_bytes().to_vec()),
        ..ClientOptions::default()
    })
    .expect("client")
}

fn https(port: u16) -> Target {
    Target::parse(&format!("https://localhost:{port}/v1"), ProxyRoute::Direct)
        .expect("url")
        .0
}

#[test]
fn https_with_extra_root_sni_alpn_and_keep_alive() {
    let (port, accepts, log) = tls_server(100);
    rt().block_on(async {
        let c = trusting_client();
        for _ in 0..3 {
            let resp = c
                .send(&https(port), get("/v1/models"))
                .await
                .expect("https");
            assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
        }
        assert_eq!(c.idle_connections(), 1);
    });
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
    let first = log.lock().expect("lock")[0].clone();
    assert_eq!(first.0.as_deref(), Some("localhost"));
    assert_eq!(first.1.as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn stale_tls_connection_is_retried() {
    // Each connection serves one request, then close_notify: the pooled one is stale.
    let (port, accepts, _) = tls_server(1);
    rt().block_on(async {
        let c = trusting_client();
        for _ in 0..2 {
            let resp = c.send(&https(port), get("/")).await.expect("https");
            assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
            // Let the server's close_notify arrive before the connection is reused.
            monoio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    assert_eq!(accepts.load(Ordering::SeqCst), 2);
}

#[test]
fn untrusted_certificate_is_a_tls_error() {
    let (port, _, _) = tls_server(1);
    rt().block_on(async {
        let c = Client::new(ClientOptions::default());
        let err = c.send(&https(port), get("/")).await.expect_err("untrusted");
        let UpstreamError::Tls(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.to_ascii_lowercase().contains("certificate"), "{msg}");
        assert!(!err.is_network());
    });
}

#[test]
fn https_through_a_connect_tunnel() {
    let (port, accepts, log) = tls_server(100);
    let (proxy, heads) = super::proxy::connect_proxy("HTTP/1.1 200 Connection established\r\n\r\n");
    let route = ProxyRoute::Http {
        host: "127.0.0.1".into(),
        port: proxy.addr.port(),
        authorization: None,
    };
    let t = Target::parse(&format!("https://localhost:{port}"), route)
        .expect("url")
        .0;
    rt().block_on(async {
        let c = trusting_client();
        for _ in 0..2 {
            let resp = c.send(&t, get("/")).await.expect("https via proxy");
            assert_eq!(resp.bytes(100).await.expect("body"), &b"hello"[..]);
        }
    });
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
    assert!(heads.lock().expect("lock")[0].starts_with(&format!("CONNECT localhost:{port} ")));
    // TLS runs end to end inside the tunnel: SNI is the origin's name.
    assert_eq!(log.lock().expect("lock")[0].0.as_deref(), Some("localhost"));
}
