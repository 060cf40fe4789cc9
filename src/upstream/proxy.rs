//! Proxy routes: how a connection reaches its target (directly, HTTP CONNECT or SOCKS5).

use base64::Engine as _;

use super::env_proxy::EnvProxy;
use super::error::UpstreamError;
use super::target::{Scheme, split_host_port};

/// How connections to a target are made; part of the pool key.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ProxyRoute {
    /// Straight TCP to the target.
    Direct,
    /// An HTTP proxy, tunnelled with `CONNECT` for both http and https targets.
    Http {
        /// Proxy host name or IP literal.
        host: String,
        /// Proxy port.
        port: u16,
        /// Full `Proxy-Authorization` value (`Basic base64(user:pass)`), if any.
        authorization: Option<String>,
    },
    /// A SOCKS5 proxy (RFC 1928), addressing the target by name so that the proxy resolves it.
    Socks5 {
        /// Proxy host name or IP literal.
        host: String,
        /// Proxy port.
        port: u16,
        /// RFC 1929 user name, if the proxy wants one.
        username: Option<String>,
        /// RFC 1929 password.
        password: Option<String>,
    },
}

impl ProxyRoute {
    /// Builds the route for one provider's `proxy_config`.
    ///
    /// `kind` is Bifrost's `type`: `none` (or empty), `http`, `socks5` or `environment`.
    /// `username`/`password` override credentials embedded in `url`. For `environment`, the
    /// process's `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` decide, read once.
    pub fn from_settings(
        kind: &str,
        url: &str,
        username: Option<&str>,
        password: Option<&str>,
        target_scheme: Scheme,
        target_host: &str,
    ) -> Result<ProxyRoute, UpstreamError> {
        let kind = kind.trim();
        if kind.is_empty() || kind.eq_ignore_ascii_case("none") {
            return Ok(ProxyRoute::Direct);
        }
        if kind.eq_ignore_ascii_case("environment") {
            return EnvProxy::from_env().route(target_scheme, target_host);
        }
        let want = if kind.eq_ignore_ascii_case("http") {
            ProxyKind::Http
        } else if kind.eq_ignore_ascii_case("socks5") {
            ProxyKind::Socks5
        } else {
            return Err(UpstreamError::Proxy(format!(
                "unsupported proxy type {kind:?}"
            )));
        };
        let parsed = ProxyUrl::parse(url, want)?;
        if parsed.kind != want {
            return Err(UpstreamError::Proxy(format!(
                "proxy url {} does not match proxy type {kind:?}",
                redact(url)
            )));
        }
        let username = non_empty(username).map(str::to_owned).or(parsed.username);
        let password = non_empty(password).map(str::to_owned).or(parsed.password);
        Ok(parsed_route(
            want,
            parsed.host,
            parsed.port,
            username,
            password,
        ))
    }

    /// True for [`ProxyRoute::Direct`].
    pub const fn is_direct(&self) -> bool {
        matches!(self, Self::Direct)
    }
}

/// The two proxy protocols we speak.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ProxyKind {
    /// HTTP proxy (CONNECT).
    Http,
    /// SOCKS5.
    Socks5,
}

/// A parsed proxy URL: `[scheme://][user[:pass]@]host[:port][/]`.
#[derive(Debug)]
pub(crate) struct ProxyUrl {
    /// Protocol named by the scheme (or the caller's default).
    pub kind: ProxyKind,
    /// Host, lowercase.
    pub host: String,
    /// Port (default 80 for http, 1080 for socks5).
    pub port: u16,
    /// Percent-decoded user name.
    pub username: Option<String>,
    /// Percent-decoded password.
    pub password: Option<String>,
}

impl ProxyUrl {
    /// Parses a proxy URL; a URL without a scheme is of kind `default`.
    pub(crate) fn parse(url: &str, default: ProxyKind) -> Result<ProxyUrl, UpstreamError> {
        let bad = |why: &str| UpstreamError::Proxy(format!("proxy url {}: {why}", redact(url)));
        let url = url.trim();
        if url.is_empty() {
            return Err(bad("empty"));
        }
        let (kind, rest) = match url.split_once("://") {
            None => (default, url),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => (ProxyKind::Http, rest),
            Some((s, rest))
                if s.eq_ignore_ascii_case("socks5") || s.eq_ignore_ascii_case("socks5h") =>
            {
                (ProxyKind::Socks5, rest)
            }
            Some((s, _)) if s.eq_ignore_ascii_case("https") => {
                return Err(bad("TLS to the proxy (https://) is not supported"));
            }
            Some(_) => return Err(bad("unsupported scheme")),
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains(['/', '?', '#']) {
            return Err(bad("a proxy url has no path"));
        }
        let (userinfo, authority) = match rest.rsplit_once('@') {
            Some((u, a)) => (Some(u), a),
            None => (None, rest),
        };
        let default_port = match kind {
            ProxyKind::Http => 80,
            ProxyKind::Socks5 => 1080,
        };
        let (host, port) = split_host_port(authority, default_port).map_err(bad)?;
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, pass) = match u.split_once(':') {
                    Some((user, pass)) => (user, Some(pass)),
                    None => (u, None),
                };
                let user = percent_decode(user).ok_or_else(|| bad("bad escape in user"))?;
                let pass = match pass {
                    Some(p) => {
                        Some(percent_decode(p).ok_or_else(|| bad("bad escape in password"))?)
                    }
                    None => None,
                };
                (Some(user).filter(|u| !u.is_empty()), pass)
            }
        };
        Ok(ProxyUrl {
            kind,
            host,
            port,
            username,
            password,
        })
    }

    /// The route this URL describes.
    pub(crate) fn into_route(self) -> ProxyRoute {
        parsed_route(
            self.kind,
            self.host,
            self.port,
            self.username,
            self.password,
        )
    }
}

/// Assembles a route from its parts, encoding HTTP credentials as a Basic header.
fn parsed_route(
    kind: ProxyKind,
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
) -> ProxyRoute {
    match kind {
        ProxyKind::Http => ProxyRoute::Http {
            host,
            port,
            authorization: username.map(|u| {
                let raw = format!("{u}:{}", password.as_deref().unwrap_or(""));
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }),
        },
        ProxyKind::Socks5 => ProxyRoute::Socks5 {
            host,
            port,
            password: username.as_ref().map(|_| password.unwrap_or_default()),
            username,
        },
    }
}

/// `None` for missing or empty strings.
fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// The URL with any user info replaced, for error messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        (None, Some(at)) => format!("***@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Decodes `%XX` escapes; `None` on a malformed escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(kind: &str, url: &str, u: Option<&str>, p: Option<&str>) -> ProxyRoute {
        ProxyRoute::from_settings(kind, url, u, p, Scheme::Https, "api.example.com")
            .expect("valid settings")
    }

    #[test]
    fn none_is_direct() {
        assert_eq!(settings("none", "", None, None), ProxyRoute::Direct);
        assert_eq!(
            settings("", "http://ignored", None, None),
            ProxyRoute::Direct
        );
    }

    #[test]
    fn http_proxy_with_credentials() {
        let r = settings(
            "http",
            "http://proxy.local:3128",
            Some("user"),
            Some("pa:ss"),
        );
        let ProxyRoute::Http {
            host,
            port,
            authorization,
        } = r
        else {
            panic!("not http: {r:?}");
        };
        assert_eq!((host.as_str(), port), ("proxy.local", 3128));
        // base64("user:pa:ss")
        assert_eq!(authorization.as_deref(), Some("Basic dXNlcjpwYTpzcw=="));
    }

    #[test]
    fn http_proxy_url_credentials_and_defaults() {
        let r = settings("HTTP", "proxy.local", None, None);
        assert_eq!(
            r,
            ProxyRoute::Http {
                host: "proxy.local".into(),
                port: 80,
                authorization: None
            }
        );
        let r = settings("http", "http://a%40b:p%2Fw@Proxy.Local:8080/", None, None);
        // base64("a@b:p/w")
        assert_eq!(
            r,
            ProxyRoute::Http {
                host: "proxy.local".into(),
                port: 8080,
                authorization: Some("Basic YUBiOnAvdw==".into())
            }
        );
        // Explicit settings win over the URL's.
        let r = settings("http", "http://a:b@p:1", Some("c"), Some("d"));
        let ProxyRoute::Http { authorization, .. } = r else {
            panic!("not http")
        };
        assert_eq!(authorization.as_deref(), Some("Basic Yzpk"));
    }

    #[test]
    fn socks5_settings() {
        let r = settings("socks5", "socks5://10.0.0.1", Some("u"), Some("p"));
        assert_eq!(
            r,
            ProxyRoute::Socks5 {
                host: "10.0.0.1".into(),
                port: 1080,
                username: Some("u".into()),
                password: Some("p".into())
            }
        );
        let r = settings("socks5", "socks5h://[::1]:9050", None, None);
        assert_eq!(
            r,
            ProxyRoute::Socks5 {
                host: "::1".into(),
                port: 9050,
                username: None,
                password: None
            }
        );
    }

    #[test]
    fn rejects_bad_settings() {
        let bad = |kind: &str, url: &str| {
            ProxyRoute::from_settings(kind, url, None, None, Scheme::Https, "h").is_err()
        };
        assert!(bad("http", ""));
        assert!(bad("http", "https://proxy:443"));
        assert!(bad("http", "socks5://proxy"));
        assert!(bad("socks5", "http://proxy"));
        assert!(bad("tcp", "http://proxy"));
        assert!(bad("http", "http://proxy/path"));
        assert!(bad("http", "http://u:%zz@proxy"));
        assert!(bad("http", "http://proxy:notaport"));
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact("http://u:secret@h:1"), "http://***@h:1");
        assert_eq!(redact("u:secret@h"), "***@h");
        assert_eq!(redact("http://h:1"), "http://h:1");
    }
}
