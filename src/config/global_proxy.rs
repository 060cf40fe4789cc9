//! The global outbound proxy (`GET/PUT /api/proxy-config`), Bifrost's `GlobalProxyConfig`.
//!
//! It is not part of `config.json`: Bifrost keeps it in its config store only. A provider without
//! a `proxy_config` of its own (or with type `none`) inherits it when it is enabled for inference.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What `GET /api/proxy-config` shows instead of a stored password.
pub const REDACTED_PASSWORD: &str = "<redacted>";

/// Bifrost's `GlobalProxyConfig`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GlobalProxyConfig {
    /// Master switch.
    pub enabled: bool,
    /// `http`, `socks5` or `tcp` (Bifrost's default is `http`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Proxy URL (`http://host:port`, `socks5://host:port`).
    pub url: String,
    /// Proxy user name.
    pub username: String,
    /// Proxy password (a literal, never an `env.` reference, as in Bifrost).
    pub password: String,
    /// Hosts that bypass the proxy (comma separated; `.example.com`, IPs, CIDRs, `*`).
    pub no_proxy: String,
    /// Connection set-up deadline through the proxy, in seconds (0: the client's default).
    pub timeout: i64,
    /// Skip TLS verification towards the proxy (stored; ringway only speaks plain HTTP/SOCKS5
    /// to proxies, so there is nothing to skip).
    pub skip_tls_verify: bool,
    /// Use the proxy for SCIM calls (enterprise; stored only).
    pub enable_for_scim: bool,
    /// Use the proxy for upstream inference connections.
    pub enable_for_inference: bool,
    /// Use the proxy for the gateway's own API calls (pricing sync; stored only).
    pub enable_for_api: bool,
}

impl GlobalProxyConfig {
    /// Bifrost's answer when nothing was ever stored: disabled, type `http`.
    pub fn disabled() -> Self {
        Self {
            kind: "http".to_string(),
            ..Self::default()
        }
    }

    /// Whether upstream inference connections go through this proxy (for hosts not in
    /// `no_proxy`): enabled, meant for inference, a URL, and a type a provider can use.
    pub fn applies_to_inference(&self) -> bool {
        self.enabled
            && self.enable_for_inference
            && !self.url.trim().is_empty()
            && matches!(self.kind_or_default(), "http" | "socks5")
    }

    /// The type, `http` when empty.
    pub fn kind_or_default(&self) -> &str {
        match self.kind.trim() {
            "" => "http",
            k => k,
        }
    }

    /// The same config with the password replaced by [`REDACTED_PASSWORD`] (when one is set).
    pub fn redacted(&self) -> Self {
        let mut out = self.clone();
        if !out.password.is_empty() {
            out.password = REDACTED_PASSWORD.to_string();
        }
        out
    }
}

impl fmt::Debug for GlobalProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand so that the password never reaches a log line.
        f.debug_struct("GlobalProxyConfig")
            .field("enabled", &self.enabled)
            .field("type", &self.kind)
            .field("url", &self.url)
            .field("username", &self.username)
            .field(
                "password",
                &(!self.password.is_empty()).then_some("<redacted>"),
            )
            .field("no_proxy", &self.no_proxy)
            .field("enable_for_inference", &self.enable_for_inference)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_only_when_enabled_for_inference_with_a_url() {
        let mut p = GlobalProxyConfig {
            enabled: true,
            kind: "http".into(),
            url: "http://127.0.0.1:3128".into(),
            enable_for_inference: true,
            ..GlobalProxyConfig::default()
        };
        assert!(p.applies_to_inference());
        p.enable_for_inference = false;
        assert!(!p.applies_to_inference());
        p.enable_for_inference = true;
        p.kind = "tcp".into();
        assert!(!p.applies_to_inference(), "tcp has no provider equivalent");
        p.kind = String::new();
        assert!(p.applies_to_inference(), "empty type means http");
        p.url = " ".into();
        assert!(!p.applies_to_inference());
    }

    #[test]
    fn redaction_and_debug_hide_the_password() {
        let p = GlobalProxyConfig {
            password: "hunter2".into(),
            ..GlobalProxyConfig::disabled()
        };
        assert_eq!(p.redacted().password, REDACTED_PASSWORD);
        assert_eq!(GlobalProxyConfig::disabled().redacted().password, "");
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
