//! Where a request goes: scheme, host, port and the proxy route (the keep-alive pool key).

use std::fmt;

use super::error::UpstreamError;
use super::proxy::ProxyRoute;

/// URL scheme of an upstream.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Scheme {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS.
    Https,
}

impl Scheme {
    /// The port used when a URL names none.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    /// The scheme as written in URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// One upstream origin as seen through one proxy route; the key of the keep-alive pool.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Lowercase host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// How connections reach the host.
    pub proxy: ProxyRoute,
    /// Connect deadline for this target instead of the client's (the global proxy's `timeout`).
    pub connect_timeout: Option<std::time::Duration>,
    /// The `Host` header value, made once here rather than for every request.
    host_header: Box<str>,
}

impl Target {
    /// Splits a provider base URL into its target and its path prefix.
    ///
    /// The prefix has no trailing slash (`https://api.openai.com/v1/` gives `/v1`; a bare host
    /// gives `""`). User info, queries and fragments are rejected: a base URL cannot carry them.
    pub fn parse(base_url: &str, proxy: ProxyRoute) -> Result<(Target, String), UpstreamError> {
        let bad = |why: &str| UpstreamError::InvalidUrl(format!("{base_url:?}: {why}"));
        let url = base_url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("missing scheme"))?;
        let scheme = if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else {
            return Err(bad("scheme must be http or https"));
        };
        if rest.contains(['?', '#']) {
            return Err(bad("query and fragment are not allowed"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad("user info is not allowed"));
        }
        let (host, port) = split_host_port(authority, scheme.default_port()).map_err(bad)?;
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("path contains whitespace or control characters"));
        }
        let prefix = path.trim_end_matches('/').to_owned();
        let host_header = self::authority(&host, port, scheme.default_port()).into_boxed_str();
        let target = Target {
            scheme,
            host,
            port,
            proxy,
            connect_timeout: None,
            host_header,
        };
        Ok((target, prefix))
    }

    /// The `Host` header value: the host, bracketed if IPv6, with the port unless default.
    pub fn authority(&self) -> &str {
        &self.host_header
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())?;
        match &self.proxy {
            ProxyRoute::Direct => Ok(()),
            ProxyRoute::Http { host, port, .. } => write!(f, " via http proxy {host}:{port}"),
            ProxyRoute::Socks5 { host, port, .. } => write!(f, " via socks5 proxy {host}:{port}"),
        }
    }
}

/// `host[:port]`, bracketing IPv6 literals and leaving out `default_port`.
pub(crate) fn authority(host: &str, port: u16, default_port: u16) -> String {
    let bracketed = host.contains(':');
    match (bracketed, port == default_port) {
        (false, true) => host.to_owned(),
        (false, false) => format!("{host}:{port}"),
        (true, true) => format!("[{host}]"),
        (true, false) => format!("[{host}]:{port}"),
    }
}

/// Parses `host`, `host:port`, `[v6]` or `[v6]:port`; lowercases the host.
pub(crate) fn split_host_port(
    authority: &str,
    default_port: u16,
) -> Result<(String, u16), &'static str> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed '[' in host")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("invalid IPv6 literal");
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or("junk after IPv6 literal")?),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("empty host");
    }
    let is_v6 = authority.starts_with('[');
    if !is_v6
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Err("invalid character in host");
    }
    let port = match port {
        None => default_port,
        // `u16::from_str` accepts a leading '+': insist on digits only.
        Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => return Err("invalid port"),
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p != 0 => p,
            _ => return Err("invalid port"),
        },
    };
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> (Target, String) {
        Target::parse(url, ProxyRoute::Direct).expect("valid url")
    }

    #[test]
    fn default_ports_and_prefix() {
        let (t, p) = parse("https://api.openai.com/v1/");
        assert_eq!(
            (t.scheme, t.host.as_str(), t.port, p.as_str()),
            (Scheme::Https, "api.openai.com", 443, "/v1")
        );
        let (t, p) = parse("http://Localhost");
        assert_eq!(
            (t.scheme, t.host.as_str(), t.port, p.as_str()),
            (Scheme::Http, "localhost", 80, "")
        );
        let (t, p) = parse("HTTPS://example.com:8443/openai/deployments//");
        assert_eq!((t.port, p.as_str()), (8443, "/openai/deployments"));
        let (_, p) = parse("https://example.com/");
        assert_eq!(p, "");
    }

    #[test]
    fn ip_literals() {
        let (t, _) = parse("http://127.0.0.1:8080/x");
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        let (t, p) = parse("http://[::1]:9000/v1");
        assert_eq!((t.host.as_str(), t.port, p.as_str()), ("::1", 9000, "/v1"));
        assert_eq!(t.authority(), "[::1]:9000");
        let (t, _) = parse("https://[2001:db8::1]");
        assert_eq!(t.authority(), "[2001:db8::1]");
    }

    #[test]
    fn authority_omits_default_port() {
        assert_eq!(parse("https://a.example:443").0.authority(), "a.example");
        assert_eq!(parse("http://a.example:443").0.authority(), "a.example:443");
    }

    #[test]
    fn rejects_bad_urls() {
        for url in [
            "api.openai.com/v1",
            "ftp://x",
            "https://",
            "https:///v1",
            "https://user:pw@host/",
            "https://host:0/",
            "https://host:70000/",
            "https://host:/",
            "https://host:12a/",
            "https://host:+80/",
            "https://host/v1?x=1",
            "https://host/v1#f",
            "https://ho st/",
            "https://host/a b",
            "https://[::1/",
            "https://[zz]/",
            "https://[::1]x/",
        ] {
            assert!(
                Target::parse(url, ProxyRoute::Direct).is_err(),
                "accepted {url}"
            );
        }
    }

    #[test]
    fn proxy_is_part_of_the_key() {
        let direct = parse("https://h").0;
        let via = Target::parse(
            "https://h",
            ProxyRoute::Http {
                host: "p".into(),
                port: 3128,
                authorization: None,
            },
        )
        .expect("valid")
        .0;
        assert_ne!(direct, via);
        assert_eq!(via.to_string(), "https://h via http proxy p:3128");
    }
}
