//! The route table: a config snapshot compiled for the hot path.
//!
//! Built once per published config (never per request): provider names to routes, each with its
//! key ring, upstream endpoints (base URL, proxy) and limits, so a request does lookups only.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, Key, ProviderConfig, ProxyType};
use crate::error::{GatewayError, RequestType};
use crate::inference::admission::Limits;
use crate::providers::catalog::{ProviderSpec, WireFormat};
use crate::providers::openai;
use crate::routing::keys::{EmptyModels, KeyEntry, KeyRing, weight_units};
use crate::upstream::{ProxyRoute, Target};

/// Client-wide settings read on every request.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Largest accepted request body, in bytes.
    pub max_request_body_bytes: usize,
    /// The same limit as configured, in megabytes (for the error message).
    pub max_request_body_size_mb: u64,
    /// Fail fast instead of waiting when a provider's queue is full.
    pub drop_excess_requests: bool,
}

/// Where a provider's requests go: the connection target and the path of each operation.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Scheme, host, port and proxy (the pool key).
    pub target: Target,
    /// Path prefix, e.g. `/v1` or `/openai/v1` (no trailing slash).
    pub base_path: String,
    /// Full request path per operation ([`RequestType::index`]), overrides applied: built once
    /// here so no request formats a path.
    paths: [String; RequestType::ALL.len()],
}

/// One provider, ready to serve.
#[derive(Debug)]
pub struct ProviderRoute {
    /// Name as configured (`provider` in `provider/model`).
    pub name: String,
    /// Built-in behaviour of the provider (or of the custom provider's base type).
    pub spec: &'static ProviderSpec,
    /// The provider's keys.
    pub keys: KeyRing,
    /// Requests need no key (`custom_provider_config.is_key_less`).
    pub keyless: bool,
    /// Provider-level endpoint.
    pub endpoint: Endpoint,
    /// Endpoints of keys that carry their own URL (vLLM, Ollama, SGLang), by key index.
    pub key_endpoints: HashMap<usize, Endpoint>,
    /// Auth header of each key (by key index), formatted once.
    pub key_auth: Vec<Option<(&'static str, String)>>,
    /// `network_config.extra_headers`.
    pub extra_headers: Vec<(String, String)>,
    /// Per-attempt deadline.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff.
    pub backoff_initial: Duration,
    /// Longest backoff.
    pub backoff_max: Duration,
    /// Longest silence between two stream chunks.
    pub stream_idle_timeout: Duration,
    /// This core's share of `concurrency_and_buffer_size`.
    pub limits: Limits,
    /// `custom_provider_config.allowed_requests` (None = all).
    pub allowed_requests: Option<BTreeMap<String, bool>>,
}

/// A compiled config snapshot.
#[derive(Debug)]
pub struct RouteTable {
    /// The config this table was built from.
    pub config: Arc<Config>,
    /// Client-wide settings.
    pub client: ClientSettings,
    providers: HashMap<String, ProviderRoute>,
    order: Vec<String>,
}

/// A config that cannot be served (the message starts with the JSON path).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TableError {
    /// JSON path of the offending field.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl RouteTable {
    /// Compiles `config` for `workers` cores.
    pub fn build(config: Config, workers: usize) -> Result<Self, TableError> {
        let empty_models = if config.version == 1 {
            EmptyModels::Allow
        } else {
            EmptyModels::Deny
        };
        let mut providers = HashMap::new();
        let mut order = Vec::new();
        for (name, pc) in &config.providers {
            let Some(spec) = config.base_format(name) else {
                continue; // Known to Bifrost but not served here: config load already warned.
            };
            let route = build_provider(name, pc, spec, empty_models, workers)?;
            order.push(name.clone());
            providers.insert(name.clone(), route);
        }
        let mb = config.client.max_request_body_size_mb;
        let client = ClientSettings {
            max_request_body_bytes: usize::try_from(mb.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            max_request_body_size_mb: mb,
            drop_excess_requests: config.client.drop_excess_requests,
        };
        Ok(Self {
            config: Arc::new(config),
            client,
            providers,
            order,
        })
    }

    /// The route of a configured provider.
    pub fn provider(&self, name: &str) -> Option<&ProviderRoute> {
        self.providers.get(name)
    }

    /// Every configured provider, in config order.
    pub fn providers(&self) -> impl Iterator<Item = &ProviderRoute> {
        self.order.iter().filter_map(|n| self.providers.get(n))
    }
}

impl ProviderRoute {
    /// The endpoint for a request served with key `key`.
    pub fn endpoint(&self, key: Option<usize>) -> &Endpoint {
        key.and_then(|k| self.key_endpoints.get(&k))
            .unwrap_or(&self.endpoint)
    }

    /// The request path (with query) of `op` on `endpoint`.
    pub fn path_for<'e>(&self, endpoint: &'e Endpoint, op: RequestType) -> &'e str {
        &endpoint.paths[op.index()]
    }

    /// The auth header for key `key` (None for keyless requests and empty keys).
    pub fn auth_header(&self, key: Option<usize>) -> Option<(&'static str, &str)> {
        let (name, value) = self.key_auth.get(key?)?.as_ref()?;
        Some((name, value.as_str()))
    }

    /// Refuses operations this provider cannot serve.
    pub fn check_serves(&self, op: RequestType) -> Result<(), GatewayError> {
        if self.spec.format != WireFormat::OpenAi {
            return Err(GatewayError::FormatNotServed(self.name.clone()));
        }
        if let Some(allowed) = &self.allowed_requests
            && !allowed.get(op.as_str()).copied().unwrap_or(false)
        {
            return Err(GatewayError::Unsupported {
                provider: self.name.clone(),
                request_type: op.as_str(),
            });
        }
        Ok(())
    }
}

fn build_provider(
    name: &str,
    pc: &ProviderConfig,
    spec: &'static ProviderSpec,
    empty_models: EmptyModels,
    workers: usize,
) -> Result<ProviderRoute, TableError> {
    let path = |field: &str| format!("providers.{name}.{field}");
    let base_url = pc
        .network_config
        .base_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or(spec.base_url);
    let endpoint = if base_url.is_empty() {
        // Providers without a default (azure, vertex, bedrock) are refused at request time.
        let target = Target::parse("http://invalid.invalid", ProxyRoute::Direct)
            .map(|t| t.0)
            .map_err(|e| TableError {
                path: path("network_config.base_url"),
                message: e.to_string(),
            })?;
        Endpoint::new(target, "", "", pc)
    } else {
        endpoint_for(base_url, spec, pc).map_err(|message| TableError {
            path: path("network_config.base_url"),
            message,
        })?
    };
    let mut key_endpoints = HashMap::new();
    let mut entries = Vec::with_capacity(pc.keys.len());
    for (i, k) in pc.keys.iter().enumerate() {
        if let Some(url) = key_url(k) {
            let ep = endpoint_for(&url, spec, pc).map_err(|message| TableError {
                path: path(&format!("keys[{i}].url")),
                message,
            })?;
            key_endpoints.insert(i, ep);
        }
        entries.push(KeyEntry {
            id: k.id.clone(),
            name: k.name.clone(),
            value: k.value.value().to_string(),
            models: k.models.clone(),
            blacklisted_models: k.blacklisted_models.clone(),
            weight_units: weight_units(k.weight),
            enabled: k.is_enabled(),
            only_model: k
                .vllm_key_config
                .as_ref()
                .map(|v| v.model_name.clone())
                .filter(|m| !m.is_empty()),
        });
    }
    let key_auth = entries
        .iter()
        .map(|k| openai::auth_header(spec.auth, &k.value))
        .collect();
    let custom = pc.custom_provider_config.as_ref();
    let nc = &pc.network_config;
    let cb = &pc.concurrency_and_buffer_size;
    Ok(ProviderRoute {
        name: name.to_string(),
        spec,
        keys: KeyRing::new(entries, empty_models, spec.allows_empty_key),
        keyless: custom.is_some_and(|c| c.is_key_less),
        endpoint,
        key_endpoints,
        key_auth,
        extra_headers: nc
            .extra_headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        timeout: Duration::from_secs(nc.default_request_timeout_in_seconds.max(1)),
        max_retries: nc.max_retries,
        backoff_initial: nc.retry_backoff_initial,
        backoff_max: nc.retry_backoff_max.max(nc.retry_backoff_initial),
        stream_idle_timeout: Duration::from_secs(nc.stream_idle_timeout_in_seconds.max(1)),
        limits: Limits::per_core(cb.concurrency, cb.buffer_size, workers),
        allowed_requests: custom.and_then(|c| c.allowed_requests.clone()),
    })
}

/// The URL a self-hosted key points at (`vllm_key_config.url` and friends), if any.
fn key_url(k: &Key) -> Option<String> {
    k.self_hosted_url()
        .map(str::to_string)
        .filter(|u| !u.trim().is_empty())
}

/// Parses a base URL into an endpoint: trailing `/` and a final `/v1` are normalised away and
/// the provider's version prefix is added back, so `http://h:8000`, `http://h:8000/` and
/// `http://h:8000/v1` all reach `http://h:8000/v1/chat/completions`.
fn endpoint_for(
    base_url: &str,
    spec: &ProviderSpec,
    pc: &ProviderConfig,
) -> Result<Endpoint, String> {
    let (mut target, prefix) =
        Target::parse(base_url.trim(), ProxyRoute::Direct).map_err(|e| e.to_string())?;
    let mut prefix = prefix.trim_end_matches('/').to_string();
    if !spec.version_prefix.is_empty() && prefix.ends_with(spec.version_prefix) {
        prefix.truncate(prefix.len() - spec.version_prefix.len());
    }
    if let Some(proxy) = &pc.proxy_config {
        let kind = match proxy.kind {
            ProxyType::None => "none",
            ProxyType::Http => "http",
            ProxyType::Socks5 => "socks5",
            ProxyType::Environment => "environment",
        };
        target.proxy = ProxyRoute::from_settings(
            kind,
            &proxy.url,
            proxy.username.as_ref().map(|u| u.value()),
            proxy.password.as_ref().map(|p| p.value()),
            target.scheme,
            &target.host,
        )
        .map_err(|e| format!("proxy_config: {e}"))?;
    }
    Ok(Endpoint::new(target, &prefix, spec.version_prefix, pc))
}

impl Endpoint {
    /// `url_prefix` is the base URL's own path (without the version segment); an override path
    /// replaces the version and operation part, as Bifrost's `request_path_overrides` do.
    fn new(target: Target, url_prefix: &str, version: &str, pc: &ProviderConfig) -> Self {
        let base_path = format!("{url_prefix}{version}");
        let overrides = pc
            .custom_provider_config
            .as_ref()
            .map(|c| &c.request_path_overrides);
        let paths = RequestType::ALL.map(|op| {
            // A non-stream override also applies to the stream variant.
            let base = op.as_str().trim_end_matches("_stream");
            overrides
                .and_then(|o| o.get(op.as_str()).or_else(|| o.get(base)))
                .map(|o| format!("{url_prefix}{o}"))
                .unwrap_or_else(|| format!("{base_path}{}", openai::operation_path(op)))
        });
        Self {
            target,
            base_path,
            paths,
        }
    }
}

