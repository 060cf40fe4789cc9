//! `proxy_config.type = "environment"`: `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY`.
//!
//! Follows Go's `net/http/httpproxy` (what Bifrost uses): uppercase names win over lowercase,
//! `localhost` and loopback addresses never use a proxy, and a `NO_PROXY` entry matches the host
//! and its subdomains (`example.com` and `.example.com` alike), an IP, or a CIDR block; `*`
//! disables proxying. Ports in `NO_PROXY` entries are ignored. Unlike Go we also honour
//! `ALL_PROXY` as a fallback, as curl does.

use std::net::IpAddr;
use std::sync::OnceLock;

use super::error::UpstreamError;
use super::proxy::{ProxyKind, ProxyRoute, ProxyUrl};
use super::target::Scheme;

/// Proxy settings taken from the environment.
#[derive(Debug, Default, Clone)]
pub struct EnvProxy {
    /// `HTTP_PROXY`, for http targets.
    http: Option<String>,
    /// `HTTPS_PROXY`, for https targets.
    https: Option<String>,
    /// `ALL_PROXY`, when the scheme-specific one is unset.
    all: Option<String>,
    /// Parsed `NO_PROXY`.
    no_proxy: NoProxy,
}

impl EnvProxy {
    /// The process environment, read on first use and cached for the life of the process.
    pub fn from_env() -> &'static EnvProxy {
        static ENV: OnceLock<EnvProxy> = OnceLock::new();
        ENV.get_or_init(|| Self::from_lookup(|name| std::env::var(name).ok()))
    }

    /// Reads the variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> EnvProxy {
        let any = |names: [&str; 2]| {
            names
                .into_iter()
                .filter_map(&get)
                .map(|v| v.trim().to_owned())
                .find(|v| !v.is_empty())
        };
        EnvProxy {
            http: any(["HTTP_PROXY", "http_proxy"]),
            https: any(["HTTPS_PROXY", "https_proxy"]),
            all: any(["ALL_PROXY", "all_proxy"]),
            no_proxy: NoProxy::parse(&any(["NO_PROXY", "no_proxy"]).unwrap_or_default()),
        }
    }

    /// The route for a target, or [`ProxyRoute::Direct`] when none applies.
    pub fn route(&self, scheme: Scheme, host: &str) -> Result<ProxyRoute, UpstreamError> {
        let url = match scheme {
            Scheme::Http => self.http.as_ref(),
            Scheme::Https => self.https.as_ref(),
        }
        .or(self.all.as_ref());
        match url {
            Some(url) if !self.no_proxy.matches(host) => {
                Ok(ProxyUrl::parse(url, ProxyKind::Http)?.into_route())
            }
            _ => Ok(ProxyRoute::Direct),
        }
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxyEntry {
    /// `*`: nothing is proxied.
    All,
    /// An IP literal.
    Ip(IpAddr),
    /// `addr/prefix`.
    Cidr(IpAddr, u8),
    /// A domain, matching itself and its subdomains.
    Domain(String),
}

/// Parsed `NO_PROXY` list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NoProxy {
    /// Entries in the order given.
    entries: Vec<NoProxyEntry>,
}

impl NoProxy {
    /// Parses a comma (or whitespace) separated list; malformed entries are skipped.
    pub fn parse(list: &str) -> NoProxy {
        let entries = list
            .split([',', ' ', '\t'])
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .filter_map(|e| parse_entry(&e))
            .collect();
        NoProxy { entries }
    }

    /// True when `host` (a name or IP literal, IPv6 with or without brackets) bypasses the proxy.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.entries.iter().any(|e| match (e, ip) {
            (NoProxyEntry::All, _) => true,
            (NoProxyEntry::Ip(want), Some(ip)) => *want == ip,
            (NoProxyEntry::Cidr(net, bits), Some(ip)) => in_cidr(ip, *net, *bits),
            (NoProxyEntry::Domain(d), None) => {
                host == *d
                    || (host.len() > d.len()
                        && host.ends_with(d.as_str())
                        && host.as_bytes()[host.len() - d.len() - 1] == b'.')
            }
            _ => false,
        })
    }
}

/// Parses one lowercase, non-empty entry.
fn parse_entry(e: &str) -> Option<NoProxyEntry> {
    if e == "*" {
        return Some(NoProxyEntry::All);
    }
    if let Some((addr, bits)) = e.split_once('/') {
        let net = addr.parse::<IpAddr>().ok()?;
        let bits = bits.parse::<u8>().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some(NoProxyEntry::Cidr(net, bits));
    }
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(NoProxyEntry::Ip(ip));
    }
    // Strip a port: `[v6]:port`, `[v6]`, or `host:port`.
    let host = if let Some(rest) = e.strip_prefix('[') {
        let (h, _) = rest.split_once(']')?;
        return h.parse::<IpAddr>().ok().map(NoProxyEntry::Ip);
    } else {
        e.split_once(':').map_or(e, |(h, _)| h)
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(NoProxyEntry::Ip(ip));
    }
    let host = host
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.');
    (!host.is_empty()).then(|| NoProxyEntry::Domain(host.to_owned()))
}

/// True when `ip` lies in `net/bits` (same family only).
fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvProxy {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EnvProxy::from_lookup(|k| map.get(k).cloned())
    }

    fn http(host: &str, port: u16) -> ProxyRoute {
        ProxyRoute::Http {
            host: host.into(),
            port,
            authorization: None,
        }
    }

    #[test]
    fn scheme_specific_variables() {
        let e = env(&[
            ("HTTPS_PROXY", "http://secure:3128"),
            ("http_proxy", "plain:8080"),
        ]);
        assert_eq!(
            e.route(Scheme::Https, "api.x.ai").expect("ok"),
            http("secure", 3128)
        );
        assert_eq!(
            e.route(Scheme::Http, "api.x.ai").expect("ok"),
            http("plain", 8080)
        );
    }

    #[test]
    fn uppercase_wins_and_all_proxy_is_a_fallback() {
        let e = env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("ALL_PROXY", "socks5://sock:1080"),
        ]);
        assert_eq!(
            e.route(Scheme::Https, "h.example").expect("ok"),
            http("upper", 1)
        );
        let r = e.route(Scheme::Http, "h.example").expect("ok");
        assert_eq!(
            r,
            ProxyRoute::Socks5 {
                host: "sock".into(),
                port: 1080,
                username: None,
                password: None
            }
        );
        let e = env(&[("https_proxy", "http://lower:2"), ("HTTPS_PROXY", "")]);
        assert_eq!(
            e.route(Scheme::Https, "h.example").expect("ok"),
            http("lower", 2)
        );
    }

    #[test]
    fn unset_means_direct() {
        let e = env(&[]);
        assert_eq!(
            e.route(Scheme::Https, "api.openai.com").expect("ok"),
            ProxyRoute::Direct
        );
    }

    #[test]
    fn no_proxy_matching() {
        let e = env(&[
            ("HTTPS_PROXY", "http://p:3128"),
            (
                "NO_PROXY",
                "internal.corp, .svc.local,*.wild.io ,10.0.0.0/8,192.168.1.5,[::2]:443,example.org:8443",
            ),
        ]);
        let direct = |h: &str| e.route(Scheme::Https, h).expect("ok") == ProxyRoute::Direct;
        assert!(direct("internal.corp"));
        assert!(direct("api.internal.corp"));
        assert!(!direct("notinternal.corp"));
        assert!(direct("svc.local"));
        assert!(direct("a.b.svc.local"));
        assert!(direct("x.wild.io"));
        assert!(direct("10.1.2.3"));
        assert!(!direct("11.1.2.3"));
        assert!(direct("192.168.1.5"));
        assert!(!direct("192.168.1.6"));
        assert!(direct("::2"));
        assert!(direct("[::2]"));
        assert!(direct("example.org"));
        assert!(direct("Internal.Corp."));
        assert!(!direct("api.openai.com"));
        // Loopback is never proxied, whatever NO_PROXY says.
        assert!(direct("localhost"));
        assert!(direct("127.0.0.1"));
        assert!(direct("::1"));
    }

    #[test]
    fn wildcard_disables_proxying() {
        let e = env(&[("HTTPS_PROXY", "http://p:3128"), ("no_proxy", "*")]);
        assert_eq!(
            e.route(Scheme::Https, "api.openai.com").expect("ok"),
            ProxyRoute::Direct
        );
    }

    #[test]
    fn cidr_edges() {
        let n = NoProxy::parse("0.0.0.0/0,fd00::/8,1.2.3.4/32,bad/99,junk/x");
        assert!(n.matches("8.8.8.8"));
        assert!(n.matches("fd12::1"));
        assert!(!n.matches("fe80::1"));
        let n = NoProxy::parse("1.2.3.4/32");
        assert!(n.matches("1.2.3.4"));
        assert!(!n.matches("1.2.3.5"));
    }

    #[test]
    fn bad_proxy_url_is_an_error() {
        let e = env(&[("HTTPS_PROXY", "https://p:443")]);
        assert!(e.route(Scheme::Https, "api.openai.com").is_err());
    }
}
