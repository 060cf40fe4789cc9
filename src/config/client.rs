//! The `client` section: gateway-wide settings.

use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::{Fields, Section, Warnings, deserialize_via_section};
use super::env_var::EnvVar;
use super::error::ConfigError;
use super::known;
use super::path::JsonPath;

/// Default `max_request_body_size_mb`.
pub const DEFAULT_MAX_REQUEST_BODY_SIZE_MB: u64 = 100;
/// Default `initial_pool_size` (Bifrost's `DefaultInitialPoolSize`; its docs say 300).
pub const DEFAULT_INITIAL_POOL_SIZE: usize = 5000;
/// Default `log_retention_days`.
pub const DEFAULT_LOG_RETENTION_DAYS: u64 = 365;

/// `client` in `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientConfig {
    /// Fail requests at once when a provider's queue is full (instead of waiting).
    pub drop_excess_requests: bool,
    /// Largest request body accepted, in MB (0 or absent = 100).
    pub max_request_body_size_mb: u64,
    /// Pool prewarm size (0 or absent = 5000); a sizing hint only.
    pub initial_pool_size: usize,
    /// Request/response logging.
    pub enable_logging: bool,
    /// Log metadata only, not inputs and outputs.
    pub disable_content_logging: bool,
    /// Days to keep logs (0 or absent = 365).
    pub log_retention_days: u64,
    /// CORS origins (`*`, exact origins or wildcard patterns; localhost is always allowed).
    pub allowed_origins: Vec<String>,
    /// Extra headers allowed by CORS.
    pub allowed_headers: Vec<String>,
    /// Require a virtual key (or other credential) on inference routes.
    pub enforce_auth_on_inference: bool,
    /// Routes that skip auth.
    pub whitelisted_routes: Vec<String>,
    /// Headers every request must carry (case-insensitive).
    pub required_headers: Vec<String>,
    /// Request headers copied into log metadata.
    pub logging_headers: Vec<String>,
    /// Extra Prometheus labels (`name=value`).
    pub prometheus_labels: Vec<String>,
    /// Which `x-bf-eh-*` headers may be forwarded upstream.
    pub header_filter_config: HeaderFilterConfig,
    /// Other `client` fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `client.header_filter_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HeaderFilterConfig {
    /// If non-empty, only these forwarded headers pass.
    pub allowlist: Vec<String>,
    /// Forwarded headers that never pass.
    pub denylist: Vec<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            drop_excess_requests: false,
            max_request_body_size_mb: DEFAULT_MAX_REQUEST_BODY_SIZE_MB,
            initial_pool_size: DEFAULT_INITIAL_POOL_SIZE,
            enable_logging: true,
            disable_content_logging: false,
            log_retention_days: DEFAULT_LOG_RETENTION_DAYS,
            allowed_origins: vec!["*".to_string()],
            allowed_headers: Vec::new(),
            enforce_auth_on_inference: false,
            whitelisted_routes: Vec::new(),
            required_headers: Vec::new(),
            logging_headers: Vec::new(),
            prometheus_labels: Vec::new(),
            header_filter_config: HeaderFilterConfig::default(),
            other: Map::new(),
        }
    }
}

impl Section for ClientConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        let d = Self::default();
        Ok(Self {
            drop_excess_requests: f.bool("drop_excess_requests")?.unwrap_or(false),
            max_request_body_size_mb: f
                .u64("max_request_body_size_mb")?
                .filter(|&n| n > 0)
                .unwrap_or(d.max_request_body_size_mb),
            initial_pool_size: f
                .usize("initial_pool_size")?
                .filter(|&n| n > 0)
                .unwrap_or(d.initial_pool_size),
            enable_logging: f.bool("enable_logging")?.unwrap_or(d.enable_logging),
            disable_content_logging: f.bool("disable_content_logging")?.unwrap_or(false),
            log_retention_days: f
                .u64("log_retention_days")?
                .filter(|&n| n > 0)
                .unwrap_or(d.log_retention_days),
            allowed_origins: f.serde("allowed_origins")?.unwrap_or(d.allowed_origins),
            allowed_headers: f.strings("allowed_headers")?,
            enforce_auth_on_inference: f.bool("enforce_auth_on_inference")?.unwrap_or(false),
            whitelisted_routes: f.strings("whitelisted_routes")?,
            required_headers: f.strings("required_headers")?,
            logging_headers: f.strings("logging_headers")?,
            prometheus_labels: f.strings("prometheus_labels")?,
            header_filter_config: f.section("header_filter_config", w)?.unwrap_or_default(),
            other: f.finish(known::CLIENT, w),
        })
    }

    fn visit_env(&mut self, _path: &JsonPath, _f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {}
}

impl Section for HeaderFilterConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        let out = Self {
            allowlist: f.strings("allowlist")?,
            denylist: f.strings("denylist")?,
        };
        // Nothing else is defined here: report extras, they are not kept.
        f.finish(&[], w);
        Ok(out)
    }

    fn visit_env(&mut self, _path: &JsonPath, _f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {}
}

deserialize_via_section!(ClientConfig, HeaderFilterConfig);
