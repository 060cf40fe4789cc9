//! The route table: a config snapshot compiled for the hot path.
//!
//! Built once per published config (never per request): provider names to routes, each with its
//! key ring, upstream endpoints (base URL, proxy) and limits, so a request does lookups only.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

// Looked up on every request. The keys come from config, not from clients, so a fast hash
// without SipHash's flooding resistance is safe.
use foldhash::{HashMap, HashMapExt};

use crate::config::{AzureKeyConfig, Config, GlobalProxyConfig, Key, ProviderConfig, ProxyType};
use crate::error::{GatewayError, RequestType};
use crate::inference::admission::Limits;
use crate::providers::azure::DeploymentPaths;
use crate::providers::bedrock::BedrockKey;
use crate::providers::catalog::{ProviderSpec, WireFormat};
use crate::providers::vertex::VertexKey;
use crate::providers::{self, openai};
use crate::routing::keys::{EmptyModels, KeyEntry, KeyRing, weight_units};
use crate::upstream::{NoProxy, ProxyRoute, Target};

/// Client-wide settings read on every request.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Largest accepted request body, in bytes.
    pub max_request_body_bytes: usize,
    /// The same limit as configured, in megabytes (for the error message).
    pub max_request_body_size_mb: u64,
    /// Fail fast instead of waiting when a provider's queue is full.
    pub drop_excess_requests: bool,
    /// `client.header_filter_config` for `x-bf-eh-*` headers.
    pub header_filter: HeaderFilter,
}

/// Allow and deny lists for forwarded `x-bf-eh-*` headers.
#[derive(Debug, Clone, Default)]
pub struct HeaderFilter {
    /// If not empty, only these names pass.
    pub allowlist: Vec<String>,
    /// Names that never pass.
    pub denylist: Vec<String>,
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
    /// Azure keys: deployment paths, which depend on the model (see [`ProviderRoute::request_path`]).
    pub azure: Option<Arc<DeploymentPaths>>,
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
    /// Echo the body sent upstream in `extra_fields.raw_request`.
    pub send_back_raw_request: bool,
    /// Echo the provider's own body in `extra_fields.raw_response`.
    pub send_back_raw_response: bool,
    /// `custom_provider_config.allowed_requests` (None = all).
    pub allowed_requests: Option<BTreeMap<String, bool>>,
    /// Bedrock only: each key's region, credentials and deployments, by key index.
    pub bedrock_keys: Vec<BedrockKey>,
    /// Vertex only: each key's project, region, deployments and token source, by key index.
    pub vertex_keys: Vec<VertexKey>,
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
        Self::build_with_proxy(config, workers, None)
    }

    /// Compiles `config` for `workers` cores; providers without a proxy of their own (or with
    /// type `none`) inherit `global` when it is enabled for inference, as Bifrost's do.
    pub fn build_with_proxy(
        config: Config,
        workers: usize,
        global: Option<&GlobalProxyConfig>,
    ) -> Result<Self, TableError> {
        let global = global
            .filter(|g| g.applies_to_inference())
            .map(|g| InheritedProxy {
                config: g,
                no_proxy: NoProxy::parse(&g.no_proxy),
            });
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
            let route = build_provider(name, pc, spec, empty_models, workers, global.as_ref())?;
            order.push(name.clone());
            providers.insert(name.clone(), route);
        }
        let mb = config.client.max_request_body_size_mb;
        let client = ClientSettings {
            max_request_body_bytes: usize::try_from(mb.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            max_request_body_size_mb: mb,
            drop_excess_requests: config.client.drop_excess_requests,
            header_filter: HeaderFilter {
                allowlist: config.client.header_filter_config.allowlist.clone(),
                denylist: config.client.header_filter_config.denylist.clone(),
            },
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

    /// The request path (with query) of `op` for `model` on `endpoint`: [`Self::path_for`],
    /// except on Azure, whose path names the model's deployment, and on Gemini, whose path
    /// names the model (`models/{model}:generateContent`).
    pub fn request_path<'e>(
        &self,
        endpoint: &'e Endpoint,
        op: RequestType,
        model: &str,
    ) -> Cow<'e, str> {
        match &endpoint.azure {
            Some(az) => az.path(op, model),
            None if self.spec.format == WireFormat::Gemini => {
                providers::gemini::path_with_model(self.path_for(endpoint, op), model)
            }
            None => Cow::Borrowed(self.path_for(endpoint, op)),
        }
    }

    /// The auth header for key `key` (None for keyless requests and empty keys).
    pub fn auth_header(&self, key: Option<usize>) -> Option<(&'static str, &str)> {
        let (name, value) = self.key_auth.get(key?)?.as_ref()?;
        Some((name, value.as_str()))
    }

    /// The wire format spoken upstream for `model`: the provider's own, except on Vertex, where
    /// the model's publisher decides (its deployment on the first key that maps it, else itself).
    pub fn format_for(&self, model: &str) -> WireFormat {
        if self.spec.format != WireFormat::Vertex {
            return self.spec.format;
        }
        let key = self
            .vertex_keys
            .iter()
            .find(|k| k.model_id(model) != model)
            .or(self.vertex_keys.first());
        match key {
            Some(k) => k.publisher(model).format(),
            None => providers::vertex::Publisher::of(model).format(),
        }
    }

    /// Refuses operations this provider cannot serve.
    pub fn check_serves(&self, op: RequestType) -> Result<(), GatewayError> {
        let allowed_here = self
            .allowed_requests
            .as_ref()
            .is_none_or(|allowed| allowed.get(op.as_str()).copied().unwrap_or(false));
        if !allowed_here || providers::operation_path(self.spec.format, op).is_none() {
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
    global: Option<&InheritedProxy<'_>>,
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
        Endpoint::new(target, "", spec, "", pc)
    } else {
        endpoint_for(base_url, spec, pc, global).map_err(|message| TableError {
            path: path("network_config.base_url"),
            message,
        })?
    };
    let mut key_endpoints = HashMap::new();
    let mut entries = Vec::with_capacity(pc.keys.len());
    let mut bedrock_keys = Vec::new();
    let mut vertex_keys = Vec::new();
    for (i, k) in pc.keys.iter().enumerate() {
        let mut usable = true;
        if spec.format == WireFormat::Bedrock {
            // Each key reaches its own region, unless `network_config.base_url` overrides it.
            let bk = BedrockKey::new(k.value.value(), k.bedrock_key_config.as_ref());
            if base_url.is_empty() {
                match bk
                    .runtime_url()
                    .and_then(|u| endpoint_for(&u, spec, pc, global))
                {
                    Ok(ep) => {
                        key_endpoints.insert(i, ep);
                    }
                    Err(message) => {
                        let at = path(&format!("keys[{i}]"));
                        tracing::warn!("{at}: {message}; key disabled");
                        usable = false;
                    }
                }
            }
            bedrock_keys.push(bk);
        }
        if spec.format == WireFormat::Vertex {
            // Each key reaches its region's host, unless `network_config.base_url` overrides it.
            let mut vk = VertexKey::new(k.vertex_key_config.as_ref());
            // The token endpoint is reached the way the provider is (its proxy, if any).
            vk.route_tokens_via(&endpoint.target.proxy);
            if base_url.is_empty() {
                match providers::vertex::default_base_url(&vk.region)
                    .and_then(|u| endpoint_for(&u, spec, pc, global))
                {
                    Ok(ep) => {
                        vk.route_tokens_via(&ep.target.proxy);
                        key_endpoints.insert(i, ep);
                    }
                    Err(message) => {
                        let at = path(&format!("keys[{i}]"));
                        tracing::warn!("{at}: {message}; key disabled");
                        usable = false;
                    }
                }
            }
            if let Err(e) = vk.auth() {
                // Served anyway: each request then answers this error (the key is not silently
                // skipped, so the client learns what to fix).
                tracing::warn!("{}: {e}", path(&format!("keys[{i}].vertex_key_config")));
            }
            vertex_keys.push(vk);
        }
        if spec.format == WireFormat::Azure {
            // Each key names its Azure resource; its deployments and API version shape the paths.
            let az = k.azure_key_config.as_ref();
            let url = az
                .map(|c| c.endpoint.value().trim())
                .filter(|u| !u.is_empty());
            let ep = match url {
                Some(u) => endpoint_for(u, spec, pc, global),
                None => Ok(endpoint.clone()),
            };
            match ep {
                Ok(ep) => {
                    key_endpoints.insert(i, azure_endpoint(ep, az));
                }
                Err(message) => {
                    let at = path(&format!("keys[{i}].azure_key_config.endpoint"));
                    tracing::warn!("{at}: {message}; key disabled");
                    usable = false;
                }
            }
        }
        if let Some(url) = key_url(k) {
            match endpoint_for(&url, spec, pc, global) {
                Ok(ep) => {
                    key_endpoints.insert(i, ep);
                }
                // Only an environment value can be malformed here (validation rejects literal
                // ones): the key is left out, as Bifrost fails its requests, and start-up goes on.
                Err(message) => {
                    let at = path(&format!("keys[{i}]"));
                    tracing::warn!("{at}: {message}; key disabled");
                    usable = false;
                }
            }
        }
        entries.push(KeyEntry {
            id: k.id.clone(),
            name: k.name.clone(),
            value: k.value.value().to_string(),
            models: k.models.clone(),
            blacklisted_models: k.blacklisted_models.clone(),
            weight_units: weight_units(k.weight),
            enabled: k.is_enabled() && usable,
            only_model: k
                .vllm_key_config
                .as_ref()
                .map(|v| v.model_name.clone())
                .filter(|m| !m.is_empty()),
            deployed_models: [
                k.azure_key_config.as_ref().map(|c| &c.deployments),
                k.bedrock_key_config.as_ref().map(|c| &c.deployments),
                k.vertex_key_config.as_ref().map(|c| &c.deployments),
            ]
            .into_iter()
            .flatten()
            .flat_map(|d| d.keys().cloned())
            .collect(),
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
        send_back_raw_request: pc.send_back_raw_request,
        send_back_raw_response: pc.send_back_raw_response,
        allowed_requests: custom.and_then(|c| c.allowed_requests.clone()),
        bedrock_keys,
        vertex_keys,
    })
}

/// An Azure key's endpoint with its deployment paths attached.
fn azure_endpoint(mut ep: Endpoint, az: Option<&AzureKeyConfig>) -> Endpoint {
    let empty = BTreeMap::new();
    let paths = DeploymentPaths::new(
        &ep.base_path,
        az.map_or(&empty, |c| &c.deployments),
        az.and_then(|c| c.api_version.as_ref()).map(|v| v.value()),
    );
    ep.paths[RequestType::ListModels.index()] = paths.models_path();
    ep.azure = Some(Arc::new(paths));
    ep
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
    global: Option<&InheritedProxy<'_>>,
) -> Result<Endpoint, String> {
    let (mut target, prefix) =
        Target::parse(base_url.trim(), ProxyRoute::Direct).map_err(|e| e.to_string())?;
    let mut prefix = prefix.trim_end_matches('/').to_string();
    if !spec.version_prefix.is_empty() && prefix.ends_with(spec.version_prefix) {
        prefix.truncate(prefix.len() - spec.version_prefix.len());
    }
    let own = pc
        .proxy_config
        .as_ref()
        .filter(|p| p.kind != ProxyType::None);
    if let Some(proxy) = own {
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
    } else if let Some(g) = global
        // An empty `no_proxy` proxies every host, loopback included (`NoProxy` always exempts
        // loopback once a list is given).
        && (g.config.no_proxy.trim().is_empty() || !g.no_proxy.matches(&target.host))
    {
        let password = (!g.config.password.is_empty()).then_some(g.config.password.as_str());
        let username = (!g.config.username.is_empty()).then_some(g.config.username.as_str());
        target.proxy = ProxyRoute::from_settings(
            g.config.kind_or_default(),
            &g.config.url,
            username,
            password,
            target.scheme,
            &target.host,
        )
        .map_err(|e| format!("global proxy_config: {e}"))?;
        // Bifrost's `timeout` bounds the connection set-up through the proxy.
        if let Ok(secs) = u64::try_from(g.config.timeout)
            && secs > 0
        {
            target.connect_timeout = Some(std::time::Duration::from_secs(secs));
        }
    }
    Ok(Endpoint::new(
        target,
        &prefix,
        spec,
        spec.version_prefix,
        pc,
    ))
}

/// The global proxy a provider may inherit, with its `no_proxy` list parsed once per build.
struct InheritedProxy<'a> {
    config: &'a GlobalProxyConfig,
    no_proxy: NoProxy,
}

impl Endpoint {
    /// `url_prefix` is the base URL's own path (without the version segment); an override path
    /// replaces the version and operation part, as Bifrost's `request_path_overrides` do.
    fn new(
        target: Target,
        url_prefix: &str,
        spec: &ProviderSpec,
        version: &str,
        pc: &ProviderConfig,
    ) -> Self {
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
                .unwrap_or_else(|| {
                    // Unsupported operations are refused by `check_serves` before any path is used.
                    let op_path = providers::operation_path(spec.format, op).unwrap_or("");
                    format!("{base_path}{op_path}")
                })
        });
        Self {
            target,
            base_path,
            paths,
            azure: None,
        }
    }
}
