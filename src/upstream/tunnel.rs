//! Proxy handshakes run on a fresh TCP stream before TLS: HTTP `CONNECT` and SOCKS5.
//!
//! HTTP targets are tunnelled with `CONNECT` too, rather than sent in absolute form: one code
//! path for both schemes, headers reach the origin untouched, credentials go to the proxy only
//! once per connection, and it is what Bifrost's fasthttp dialer does.

use std::net::IpAddr;

use bytes::BytesMut;
use monoio::io::AsyncWriteRentExt;
use monoio::net::TcpStream;

use super::conn::read_append;
use super::error::UpstreamError;
use super::target::{Target, authority};

/// Largest `CONNECT` response head we accept.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

/// Asks an HTTP proxy to open a tunnel to the target.
pub(crate) async fn http_connect(
    tcp: &mut TcpStream,
    target: &Target,
    proxy_authorization: Option<&str>,
) -> Result<(), UpstreamError> {
    // Always with the port: CONNECT takes authority-form `host:port`.
    let dest = authority(&target.host, target.port, 0);
    let mut req = format!("CONNECT {dest} HTTP/1.1\r\nHost: {dest}\r\n");
    if let Some(auth) = proxy_authorization {
        if auth.contains(['\r', '\n']) {
            return Err(UpstreamError::Proxy("invalid proxy authorization".into()));
        }
        req.push_str("Proxy-Authorization: ");
        req.push_str(auth);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    write(tcp, req.into_bytes()).await?;

    let mut buf = BytesMut::with_capacity(1024);
    loop {
        let n = read_append(tcp, &mut buf, 1024).await.map_err(proxy_io)?;
        if n == 0 {
            return Err(UpstreamError::Proxy(format!(
                "proxy closed the connection during CONNECT to {dest}"
            )));
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let code = resp.code.unwrap_or(0);
                if !(200..300).contains(&code) {
                    let reason = resp.reason.unwrap_or("");
                    return Err(UpstreamError::Proxy(format!(
                        "CONNECT to {dest} refused: {code} {reason}"
                    )));
                }
                if buf.len() > len {
                    return Err(UpstreamError::Proxy(
                        "proxy sent data after CONNECT response".into(),
                    ));
                }
                return Ok(());
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_CONNECT_HEAD => {
                return Err(UpstreamError::Proxy(
                    "CONNECT response head too large".into(),
                ));
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(UpstreamError::Proxy(format!("bad CONNECT response: {e}"))),
        }
    }
}

/// SOCKS5 handshake (RFC 1928, with RFC 1929 user/password auth when configured). The target is
/// sent as a domain name so that the proxy resolves it; IP literals go as addresses.
pub(crate) async fn socks5_connect(
    tcp: &mut TcpStream,
    target: &Target,
    username: Option<&str>,
    password: Option<&str>,
) -> Result<(), UpstreamError> {
    let greeting = match username {
        Some(_) => vec![5, 2, 0x00, 0x02],
        None => vec![5, 1, 0x00],
    };
    write(tcp, greeting).await?;
    let mut buf = BytesMut::with_capacity(512);
    read_at_least(tcp, &mut buf, 2).await?;
    if buf[0] != 5 {
        return Err(socks("not a SOCKS5 proxy"));
    }
    match (buf[1], username) {
        (0x00, _) => {}
        (0x02, Some(user)) => {
            let pass = password.unwrap_or("");
            let (u, p) = (user.as_bytes(), pass.as_bytes());
            let (Ok(ulen), Ok(plen)) = (u8::try_from(u.len()), u8::try_from(p.len())) else {
                return Err(socks("user name or password longer than 255 bytes"));
            };
            let mut auth = Vec::with_capacity(3 + u.len() + p.len());
            auth.extend_from_slice(&[1, ulen]);
            auth.extend_from_slice(u);
            auth.push(plen);
            auth.extend_from_slice(p);
            let _ = buf.split_to(2);
            write(tcp, auth).await?;
            read_at_least(tcp, &mut buf, 2).await?;
            if buf[1] != 0 {
                return Err(socks("authentication failed"));
            }
        }
        (0xff, _) | (0x02, None) => return Err(socks("no acceptable authentication method")),
        _ => {
            return Err(socks(
                "proxy chose an authentication method we did not offer",
            ));
        }
    }
    let _ = buf.split_to(2);

    let mut req = vec![5, 1, 0];
    match target.host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            req.push(1);
            req.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            req.push(4);
            req.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            let name = target.host.as_bytes();
            let len = u8::try_from(name.len()).map_err(|_| socks("host name too long"))?;
            req.extend_from_slice(&[3, len]);
            req.extend_from_slice(name);
        }
    }
    req.extend_from_slice(&target.port.to_be_bytes());
    write(tcp, req).await?;

    // Reply: VER REP RSV ATYP BND.ADDR BND.PORT; the address length depends on ATYP.
    read_at_least(tcp, &mut buf, 5).await?;
    if buf[0] != 5 {
        return Err(socks("bad reply version"));
    }
    if buf[1] != 0 {
        return Err(socks(reply_message(buf[1])));
    }
    let addr_len = match buf[3] {
        1 => 4,
        4 => 16,
        3 => 1 + usize::from(buf[4]),
        _ => return Err(socks("bad address type in reply")),
    };
    let total = 4 + addr_len + 2;
    read_at_least(tcp, &mut buf, total).await?;
    if buf.len() > total {
        return Err(socks("proxy sent data after its reply"));
    }
    Ok(())
}

/// RFC 1928 §6 reply codes.
fn reply_message(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown SOCKS error",
    }
}

/// A SOCKS failure.
fn socks(why: &str) -> UpstreamError {
    UpstreamError::Proxy(format!("socks5: {why}"))
}

/// Socket errors while talking to the proxy are still network errors.
fn proxy_io(e: std::io::Error) -> UpstreamError {
    UpstreamError::Io(e)
}

/// Writes a whole handshake message.
async fn write(tcp: &mut TcpStream, msg: Vec<u8>) -> Result<(), UpstreamError> {
    let (res, _) = tcp.write_all(msg).await;
    res.map(|_| ()).map_err(proxy_io)
}

/// Reads until `buf` holds at least `n` bytes.
async fn read_at_least(
    tcp: &mut TcpStream,
    buf: &mut BytesMut,
    n: usize,
) -> Result<(), UpstreamError> {
    while buf.len() < n {
        if read_append(tcp, buf, n - buf.len())
            .await
            .map_err(proxy_io)?
            == 0
        {
            return Err(socks("proxy closed the connection during the handshake"));
        }
    }
    Ok(())
}
