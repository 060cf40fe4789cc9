//! The typed model of Bifrost's `config.json`, its loader and its validation.
//!
//! Loading runs four passes, each reporting JSON paths (`providers.openai.keys[0].weight`):
//!
//! ```text
//! bytes -> JSON (syntax errors with path, line, column)
//!       -> decode   typed sections; unknown fields kept in `other` and warned about; 0 = default
//!       -> env      `env.NAME` references resolved (unset: "" and a warning naming the variable)
//!       -> validate what Bifrost refuses is an error; what ringway ignores is a warning
//! ```
//!
//! Everything serializes back to Bifrost's format with `env.NAME` references, never their values,
//! and with every section ringway does not model kept verbatim.

pub mod snapshot;

mod client;
mod decode;
mod duration;
mod env_var;
mod error;
mod global_proxy;
mod key;
mod known;
mod path;
mod provider;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::providers::catalog::{self, ProviderSpec};

pub use client::{ClientConfig, HeaderFilterConfig};
pub use decode::{Section, Warnings};
pub use duration::{DurationError, parse_go_duration};
pub use env_var::EnvVar;
pub use error::ConfigError;
pub use global_proxy::{GlobalProxyConfig, REDACTED_PASSWORD};
pub use key::{
    AzureKeyConfig, BedrockKeyConfig, Key, UrlKeyConfig, VertexKeyConfig, VllmKeyConfig,
    generated_key_id,
};
pub use path::JsonPath;
pub use provider::{
    ConcurrencyAndBufferSize, CustomProviderConfig, NetworkConfig, ProviderConfig, ProxyConfig,
    ProxyType,
};
pub use provider::{
    DEFAULT_BUFFER_SIZE, DEFAULT_CONCURRENCY, DEFAULT_REQUEST_TIMEOUT_SECS,
    DEFAULT_RETRY_BACKOFF_INITIAL, DEFAULT_RETRY_BACKOFF_MAX, DEFAULT_STREAM_IDLE_TIMEOUT_SECS,
};

/// The default `version`: empty `models` lists deny (Bifrost v1.5+).
pub const DEFAULT_VERSION: u8 = 2;

/// The whole `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// 2 (default): an empty allow-list denies; 1: an empty allow-list allows all (v1.4).
    pub version: u8,
    /// Gateway-wide settings.
    pub client: ClientConfig,
    /// Provider entries by name.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Every other top-level section (plugins, governance, config_store, logs_store,
    /// vector_store, mcp, framework, encryption_key, ...), kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: DEFAULT_VERSION,
            client: ClientConfig::default(),
            providers: BTreeMap::new(),
            other: Map::new(),
        }
    }
}

impl Config {
    /// The built-in spec serving `provider`: its own, or its base type's for a custom provider.
    /// `None` for providers ringway does not serve (or does not know).
    pub fn base_format(&self, provider: &str) -> Option<&'static ProviderSpec> {
        match self
            .providers
            .get(provider)
            .and_then(|p| p.custom_provider_config.as_ref())
        {
            Some(custom) => catalog::lookup(&custom.base_provider_type),
            None => catalog::lookup(provider),
        }
    }

    /// Runs the validation pass alone (e.g. on a config edited through the admin API):
    /// returns its warnings, or the first error.
    pub fn validate(&self) -> Result<Vec<String>, ConfigError> {
        let mut w = Vec::new();
        validate::validate(self, &mut w)?;
        Ok(w)
    }
}

impl Section for Config {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = decode::Fields::new(v, path)?;
        let version = match f.u64("version")? {
            None => DEFAULT_VERSION,
            Some(n @ (1 | 2)) => n as u8,
            Some(n) => {
                return Err(ConfigError::invalid(
                    &f.at("version"),
                    format!("must be 1 or 2, got {n}"),
                ));
            }
        };
        let client = f.section("client", w)?.unwrap_or_default();
        let providers = f
            .with("providers", |v, p| {
                let Value::Object(entries) = v else {
                    return Err(ConfigError::type_error(
                        p,
                        format!("expected an object, got {}", decode::type_name(&v)),
                    ));
                };
                let mut out = BTreeMap::new();
                for (name, entry) in entries {
                    let mut pc = ProviderConfig::decode(entry, &p.key(&name), w)?;
                    pc.assign_key_ids(&name);
                    out.insert(name, pc);
                }
                Ok(out)
            })?
            .unwrap_or_default();
        // Top-level leftovers are warned about by the validation pass, one line per section.
        let other = f.finish(
            &[known::TOP_LEVEL_SECTIONS, known::TOP_LEVEL_SILENT].concat(),
            &mut Vec::new(),
        );
        Ok(Self {
            version,
            client,
            providers,
            other,
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        let providers = path.key("providers");
        for (name, pc) in &mut self.providers {
            pc.visit_env(&providers.key(name), f);
        }
    }
}

decode::deserialize_via_section!(Config);

/// A config that passed validation, and what the operator should know about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The config, references resolved.
    pub config: Config,
    /// Non-fatal findings, each starting with its JSON path.
    pub warnings: Vec<String>,
}

/// Reads, parses, resolves (from the process environment) and validates a `config.json`.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse(&bytes)
}

/// [`load_file`] from memory.
pub fn parse(bytes: &[u8]) -> Result<Loaded, ConfigError> {
    parse_with_env(bytes, &process_env)
}

/// [`parse`] with environment lookups through `env` (tests, or a store of secrets).
pub fn parse_with_env(
    bytes: &[u8],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let value = read_json(bytes)?;
    let mut warnings = Vec::new();
    let root = JsonPath::root();
    let mut config = Config::decode(value, &root, &mut warnings)?;
    config.resolve_env(&root, env, &mut warnings);
    validate::validate(&config, &mut warnings)?;
    Ok(Loaded { config, warnings })
}

/// The process environment (a variable that is not valid UTF-8 counts as unset).
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Parses JSON, locating syntax errors by path as well as by line and column.
fn read_json(bytes: &[u8]) -> Result<Value, ConfigError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let syntax = |path: JsonPath, e: serde_json::Error| {
        let full = e.to_string();
        // serde_json appends " at line L column C"; the variant carries those separately.
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        ConfigError::Syntax {
            path,
            line: e.line(),
            column: e.column(),
            message,
        }
    };
    let value: Value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = JsonPath::root().join_serde(e.path());
        syntax(path, e.into_inner())
    })?;
    de.end().map_err(|e| syntax(JsonPath::root(), e))?;
    Ok(value)
}
