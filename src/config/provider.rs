//! One provider entry (`providers.<name>`): keys, network, limits, proxy, custom provider.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::{Fields, Section, Warnings, deserialize_via_section, type_name};
use super::duration::{decode_backoff, serialize_millis};
use super::env_var::EnvVar;
use super::error::ConfigError;
use super::key::{Key, generated_key_id};
use super::known;
use super::path::JsonPath;

/// Default `default_request_timeout_in_seconds`.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Default `retry_backoff_initial`.
pub const DEFAULT_RETRY_BACKOFF_INITIAL: Duration = Duration::from_millis(500);
/// Default `retry_backoff_max`.
pub const DEFAULT_RETRY_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Default `stream_idle_timeout_in_seconds`.
pub const DEFAULT_STREAM_IDLE_TIMEOUT_SECS: u64 = 60;
/// Default `max_conns_per_host`.
pub const DEFAULT_MAX_CONNS_PER_HOST: usize = 5000;
/// Largest `max_conns_per_host` Bifrost accepts (larger values are capped).
pub const MAX_CONNS_PER_HOST_CAP: usize = 10_000;
/// Default `keep_alive_timeout_in_seconds`.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT_SECS: u64 = 30;
/// Default `concurrency`.
pub const DEFAULT_CONCURRENCY: usize = 1000;
/// Default `buffer_size`.
pub const DEFAULT_BUFFER_SIZE: usize = 5000;

/// `providers.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderConfig {
    /// API keys.
    pub keys: Vec<Key>,
    /// Base URL, headers, timeouts and retries.
    pub network_config: NetworkConfig,
    /// In-flight cap and queue size.
    pub concurrency_and_buffer_size: ConcurrencyAndBufferSize,
    /// Upstream proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_config: Option<ProxyConfig>,
    /// Echo the upstream request in `extra_fields.raw_request`.
    pub send_back_raw_request: bool,
    /// Echo the upstream response in `extra_fields.raw_response`.
    pub send_back_raw_response: bool,
    /// Makes this entry a second instance of a base provider under its own name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_provider_config: Option<CustomProviderConfig>,
    /// Other provider fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ProviderConfig {
    /// Gives every key without an `id` its [`generated_key_id`] under provider `name`.
    pub fn assign_key_ids(&mut self, name: &str) {
        for i in 0..self.keys.len() {
            if !self.keys[i].id.is_empty() {
                continue;
            }
            let key_name = &self.keys[i].name;
            let occurrence = if key_name.is_empty() {
                i
            } else {
                self.keys[..i]
                    .iter()
                    .filter(|k| &k.name == key_name)
                    .count()
            };
            // The index (not a count) names unnamed keys: prefix it so it cannot meet a name.
            let seed_name = if key_name.is_empty() {
                "#".to_string()
            } else {
                key_name.clone()
            };
            self.keys[i].id = generated_key_id(name, &seed_name, occurrence);
        }
    }
}

impl Section for ProviderConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        let keys = f
            .with("keys", |v, p| match v {
                Value::Array(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| Key::decode(item, &p.index(i), w))
                    .collect::<Result<Vec<_>, _>>(),
                other => Err(ConfigError::type_error(
                    p,
                    format!("expected an array, got {}", type_name(&other)),
                )),
            })?
            .unwrap_or_default();
        Ok(Self {
            keys,
            network_config: f.section("network_config", w)?.unwrap_or_default(),
            concurrency_and_buffer_size: f
                .section("concurrency_and_buffer_size", w)?
                .unwrap_or_default(),
            proxy_config: f.section("proxy_config", w)?,
            send_back_raw_request: f.bool("send_back_raw_request")?.unwrap_or(false),
            send_back_raw_response: f.bool("send_back_raw_response")?.unwrap_or(false),
            custom_provider_config: f.section("custom_provider_config", w)?,
            other: f.finish(known::PROVIDER, w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        let keys = path.key("keys");
        for (i, k) in self.keys.iter_mut().enumerate() {
            k.visit_env(&keys.index(i), f);
        }
        self.network_config
            .visit_env(&path.key("network_config"), f);
        if let Some(p) = &mut self.proxy_config {
            p.visit_env(&path.key("proxy_config"), f);
        }
    }
}

/// `network_config`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkConfig {
    /// Overrides the provider's default base URL (a trailing `/` or `/v1` is normalised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Headers added to every upstream request.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_headers: BTreeMap<String, String>,
    /// Per-attempt deadline (0 or absent = 30).
    pub default_request_timeout_in_seconds: u64,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First retry backoff (JSON: integer ms or Go duration; written back as ms).
    #[serde(serialize_with = "serialize_millis")]
    pub retry_backoff_initial: Duration,
    /// Backoff ceiling (JSON: integer ms or Go duration; written back as ms).
    #[serde(serialize_with = "serialize_millis")]
    pub retry_backoff_max: Duration,
    /// Longest silence between stream chunks (0 or absent = 60).
    pub stream_idle_timeout_in_seconds: u64,
    /// Connections per upstream host (0 or absent = 5000, capped at 10000).
    pub max_conns_per_host: usize,
    /// Idle time before a pooled connection is dropped (0 or absent = 30).
    pub keep_alive_timeout_in_seconds: u64,
    /// Skip TLS certificate verification (last resort).
    pub insecure_skip_verify: bool,
    /// Extra CA certificate(s), PEM, trusted for this provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<EnvVar>,
    /// Allow RFC 1918 upstream addresses.
    pub allow_private_network: bool,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            extra_headers: BTreeMap::new(),
            default_request_timeout_in_seconds: DEFAULT_REQUEST_TIMEOUT_SECS,
            max_retries: 0,
            retry_backoff_initial: DEFAULT_RETRY_BACKOFF_INITIAL,
            retry_backoff_max: DEFAULT_RETRY_BACKOFF_MAX,
            stream_idle_timeout_in_seconds: DEFAULT_STREAM_IDLE_TIMEOUT_SECS,
            max_conns_per_host: DEFAULT_MAX_CONNS_PER_HOST,
            keep_alive_timeout_in_seconds: DEFAULT_KEEP_ALIVE_TIMEOUT_SECS,
            insecure_skip_verify: false,
            ca_cert_pem: None,
            allow_private_network: false,
            other: Map::new(),
        }
    }
}

impl Section for NetworkConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        let d = Self::default();
        let max_retries = match f.u64("max_retries")? {
            None => 0,
            Some(n) => u32::try_from(n)
                .map_err(|_| ConfigError::invalid(&f.at("max_retries"), "value too large"))?,
        };
        // Bifrost reads 0 as "use the default" for timeouts, backoffs and sizes.
        let positive_or = |n: Option<u64>, default: u64| n.filter(|&n| n > 0).unwrap_or(default);
        let mut max_conns = f
            .usize("max_conns_per_host")?
            .filter(|&n| n > 0)
            .unwrap_or(d.max_conns_per_host);
        if max_conns > MAX_CONNS_PER_HOST_CAP {
            w.push(format!(
                "{}: {max_conns} is above Bifrost's cap, using {MAX_CONNS_PER_HOST_CAP}",
                f.at("max_conns_per_host")
            ));
            max_conns = MAX_CONNS_PER_HOST_CAP;
        }
        let backoff = |f: &mut Fields, key: &str, default: Duration| {
            Ok::<_, ConfigError>(
                f.with(key, decode_backoff)?
                    .filter(|d| !d.is_zero())
                    .unwrap_or(default),
            )
        };
        Ok(Self {
            base_url: f.string("base_url")?.filter(|s| !s.trim().is_empty()),
            extra_headers: f.serde("extra_headers")?.unwrap_or_default(),
            default_request_timeout_in_seconds: positive_or(
                f.u64("default_request_timeout_in_seconds")?,
                d.default_request_timeout_in_seconds,
            ),
            max_retries,
            retry_backoff_initial: backoff(
                &mut f,
                "retry_backoff_initial",
                d.retry_backoff_initial,
            )?,
            retry_backoff_max: backoff(&mut f, "retry_backoff_max", d.retry_backoff_max)?,
            stream_idle_timeout_in_seconds: positive_or(
                f.u64("stream_idle_timeout_in_seconds")?,
                d.stream_idle_timeout_in_seconds,
            ),
            max_conns_per_host: max_conns,
            keep_alive_timeout_in_seconds: positive_or(
                f.u64("keep_alive_timeout_in_seconds")?,
                d.keep_alive_timeout_in_seconds,
            ),
            insecure_skip_verify: f.bool("insecure_skip_verify")?.unwrap_or(false),
            ca_cert_pem: f.env("ca_cert_pem")?,
            allow_private_network: f.bool("allow_private_network")?.unwrap_or(false),
            other: f.finish(known::NETWORK, w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        if let Some(ev) = &mut self.ca_cert_pem {
            f(&path.key("ca_cert_pem"), ev);
        }
    }
}

/// `concurrency_and_buffer_size` (0 or absent = default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConcurrencyAndBufferSize {
    /// Upstream calls in flight at once, retries' backoff included (default 1000).
    pub concurrency: usize,
    /// Requests that may wait for a slot (default 5000; must be >= concurrency).
    pub buffer_size: usize,
}

impl Default for ConcurrencyAndBufferSize {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            buffer_size: DEFAULT_BUFFER_SIZE,
        }
    }
}

impl Section for ConcurrencyAndBufferSize {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        let out = Self {
            concurrency: f
                .usize("concurrency")?
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_CONCURRENCY),
            buffer_size: f
                .usize("buffer_size")?
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_BUFFER_SIZE),
        };
        // Bifrost defines nothing else here: extras are reported and not kept.
        f.finish(&[], w);
        Ok(out)
    }

    fn visit_env(&mut self, _path: &JsonPath, _f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {}
}

/// `proxy_config.type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyType {
    /// Direct connections.
    #[default]
    None,
    /// HTTP proxy (CONNECT).
    Http,
    /// SOCKS5 proxy.
    Socks5,
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` from the environment.
    Environment,
}

impl ProxyType {
    /// Bifrost's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Http => "http",
            Self::Socks5 => "socks5",
            Self::Environment => "environment",
        }
    }
}

/// `proxy_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProxyConfig {
    /// Which proxy.
    #[serde(rename = "type")]
    pub kind: ProxyType,
    /// Proxy URL (`http://host:port`, `socks5://host:port`; may be `env.NAME`). Derefs to the
    /// resolved `&str`.
    #[serde(skip_serializing_if = "EnvVar::is_unset")]
    pub url: EnvVar,
    /// Proxy user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<EnvVar>,
    /// Proxy password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<EnvVar>,
    /// CA certificate(s), PEM, for TLS-intercepting proxies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<EnvVar>,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Section for ProxyConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        let kind = f
            .with("type", |v, p| match v.as_str() {
                Some("" | "none") => Ok(ProxyType::None),
                Some("http") => Ok(ProxyType::Http),
                Some("socks5") => Ok(ProxyType::Socks5),
                Some("environment") => Ok(ProxyType::Environment),
                _ => Err(ConfigError::invalid(
                    p,
                    format!("must be one of none, http, socks5, environment; got {v}"),
                )),
            })?
            .unwrap_or_default();
        Ok(Self {
            kind,
            url: f.env("url")?.unwrap_or_default(),
            username: f.env("username")?,
            password: f.env("password")?,
            ca_cert_pem: f.env("ca_cert_pem")?,
            other: f.finish(&[], w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        f(&path.key("url"), &mut self.url);
        for (name, ev) in [
            ("username", &mut self.username),
            ("password", &mut self.password),
            ("ca_cert_pem", &mut self.ca_cert_pem),
        ] {
            if let Some(ev) = ev {
                f(&path.key(name), ev);
            }
        }
    }
}

/// `custom_provider_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CustomProviderConfig {
    /// The built-in provider whose implementation this entry reuses.
    pub base_provider_type: String,
    /// Requests need no key.
    pub is_key_less: bool,
    /// `None` = every operation; otherwise only operations mapped to `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_requests: Option<BTreeMap<String, bool>>,
    /// Request type (`chat_completion`, ...) to a path replacing the default one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub request_path_overrides: BTreeMap<String, String>,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Section for CustomProviderConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        let base_path = f.at("base_provider_type");
        let base_provider_type = f
            .string("base_provider_type")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError::invalid(&base_path, "required field is missing"))?;
        Ok(Self {
            base_provider_type,
            is_key_less: f.bool("is_key_less")?.unwrap_or(false),
            allowed_requests: f.serde("allowed_requests")?,
            request_path_overrides: f.serde("request_path_overrides")?.unwrap_or_default(),
            other: f.finish(&[], w),
        })
    }

    fn visit_env(&mut self, _path: &JsonPath, _f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {}
}

deserialize_via_section!(
    ProviderConfig,
    NetworkConfig,
    ConcurrencyAndBufferSize,
    ProxyConfig,
    CustomProviderConfig
);
