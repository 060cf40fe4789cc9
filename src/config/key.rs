//! Provider keys (`providers.<name>.keys[]`) and their per-provider blocks.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::decode::{Fields, Section, Warnings, deserialize_via_section};
use super::env_var::EnvVar;
use super::error::ConfigError;
use super::known;
use super::path::JsonPath;

/// One API key of a provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Key {
    /// Stable identifier (virtual keys and `x-bf-api-key-id` refer to it). When `config.json`
    /// has none, [`generated_key_id`] derives one from the provider and key names.
    pub id: String,
    /// Human name (`x-bf-api-key` pins a key by name).
    pub name: String,
    /// The secret.
    pub value: EnvVar,
    /// Models this key serves (`["*"]` = all; empty = none in config version 2, all in 1).
    pub models: Vec<String>,
    /// Models this key never serves (wins over `models`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blacklisted_models: Vec<String>,
    /// Share of traffic among usable keys (default 1.0).
    pub weight: f64,
    /// `None` means enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether batch and file operations may use this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_for_batch_api: Option<bool>,
    /// Azure OpenAI endpoint, deployments and Entra credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure_key_config: Option<AzureKeyConfig>,
    /// Vertex AI project, region and credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vertex_key_config: Option<VertexKeyConfig>,
    /// AWS credentials and region for Bedrock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bedrock_key_config: Option<BedrockKeyConfig>,
    /// vLLM server URL and served model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vllm_key_config: Option<VllmKeyConfig>,
    /// Ollama server URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ollama_key_config: Option<UrlKeyConfig>,
    /// SGLang server URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sgl_key_config: Option<UrlKeyConfig>,
    /// Other key fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Key {
    /// A key with `value`, allowed for all models, weight 1 and no provider block.
    pub fn new(id: impl Into<String>, value: EnvVar) -> Self {
        Self {
            id: id.into(),
            name: String::new(),
            value,
            models: vec!["*".to_string()],
            blacklisted_models: Vec::new(),
            weight: 1.0,
            enabled: None,
            use_for_batch_api: None,
            azure_key_config: None,
            vertex_key_config: None,
            bedrock_key_config: None,
            vllm_key_config: None,
            ollama_key_config: None,
            sgl_key_config: None,
            other: Map::new(),
        }
    }

    /// Whether the key may be selected (`enabled` absent counts as enabled).
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// The server URL of a self-hosted key (`vllm_key_config`, `ollama_key_config` or
    /// `sgl_key_config`), resolved; `None` when absent or empty.
    pub fn self_hosted_url(&self) -> Option<&str> {
        self.vllm_key_config
            .as_ref()
            .map(|c| c.url.value())
            .or_else(|| self.ollama_key_config.as_ref().map(|c| c.url.value()))
            .or_else(|| self.sgl_key_config.as_ref().map(|c| c.url.value()))
            .filter(|u| !u.is_empty())
    }
}

/// The id given to a key that has none: a UUID-shaped (version 8) hash of the provider name, the
/// key name and how many earlier keys of that provider share the name (or of the key's index when
/// it has no name). Stable across restarts and reorderings that keep names, so virtual keys and
/// pinned ids keep working when `config.json` is reloaded.
pub fn generated_key_id(provider: &str, name: &str, occurrence: usize) -> String {
    let seed = format!("{provider}\u{0}{name}\u{0}{occurrence}");
    let hi = fnv1a(0xcbf2_9ce4_8422_2325, seed.as_bytes());
    let lo = fnv1a(0x6c62_272e_07bb_0142, seed.as_bytes());
    // Version 8 ("custom") in the version nibble, RFC 4122 variant in the top bits of `lo`.
    let hi = (hi & !0xf000) | 0x8000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

fn fnv1a(basis: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(basis, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `azure_key_config`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AzureKeyConfig {
    /// `https://<resource>.openai.azure.com` (may be `env.NAME`).
    pub endpoint: EnvVar,
    /// Model name to deployment name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
    /// `api-version` query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<EnvVar>,
    /// Entra ID client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<EnvVar>,
    /// Entra ID client secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<EnvVar>,
    /// Entra ID tenant id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<EnvVar>,
    /// OAuth2 scopes for Entra ID.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `vertex_key_config`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VertexKeyConfig {
    /// Google Cloud project id.
    pub project_id: EnvVar,
    /// Google Cloud project number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_number: Option<EnvVar>,
    /// Region (`us-central1`, `global`, ...).
    pub region: EnvVar,
    /// Service-account JSON (empty = ambient credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_credentials: Option<EnvVar>,
    /// Model name to endpoint/deployment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `bedrock_key_config` (all optional: an empty block means IAM role / ambient credentials).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BedrockKeyConfig {
    /// AWS access key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<EnvVar>,
    /// AWS secret access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<EnvVar>,
    /// AWS session token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<EnvVar>,
    /// AWS region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<EnvVar>,
    /// Resource ARN (inference profiles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<EnvVar>,
    /// Role to assume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<EnvVar>,
    /// External id for AssumeRole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<EnvVar>,
    /// Session name for AssumeRole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<EnvVar>,
    /// Bedrock project id (Mantle routing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<EnvVar>,
    /// Model name to inference profile.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `vllm_key_config`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VllmKeyConfig {
    /// Server base URL (may be `env.NAME`).
    pub url: EnvVar,
    /// The model this server serves; the key only matches requests for it.
    pub model_name: String,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `ollama_key_config` and `sgl_key_config`: a server URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrlKeyConfig {
    /// Server base URL (may be `env.NAME`).
    pub url: EnvVar,
    /// Other fields, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Visits an optional env var.
fn visit_opt(
    ev: &mut Option<EnvVar>,
    path: &JsonPath,
    name: &str,
    f: &mut dyn FnMut(&JsonPath, &mut EnvVar),
) {
    if let Some(ev) = ev {
        f(&path.key(name), ev);
    }
}

/// Reads a `{model: deployment}` map.
fn deployments(f: &mut Fields) -> Result<BTreeMap<String, String>, ConfigError> {
    Ok(f.serde("deployments")?.unwrap_or_default())
}

impl Section for Key {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        Ok(Self {
            id: f.string("id")?.unwrap_or_default(),
            name: f.string("name")?.unwrap_or_default(),
            value: f.env("value")?.unwrap_or_default(),
            models: f.strings("models")?,
            blacklisted_models: f.strings("blacklisted_models")?,
            weight: f.f64("weight")?.unwrap_or(1.0),
            enabled: f.bool("enabled")?,
            use_for_batch_api: f.bool("use_for_batch_api")?,
            azure_key_config: f.section("azure_key_config", w)?,
            vertex_key_config: f.section("vertex_key_config", w)?,
            bedrock_key_config: f.section("bedrock_key_config", w)?,
            vllm_key_config: f.section("vllm_key_config", w)?,
            ollama_key_config: f.section("ollama_key_config", w)?,
            sgl_key_config: f.section("sgl_key_config", w)?,
            other: f.finish(known::KEY, w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        f(&path.key("value"), &mut self.value);
        if let Some(c) = &mut self.azure_key_config {
            c.visit_env(&path.key("azure_key_config"), f);
        }
        if let Some(c) = &mut self.vertex_key_config {
            c.visit_env(&path.key("vertex_key_config"), f);
        }
        if let Some(c) = &mut self.bedrock_key_config {
            c.visit_env(&path.key("bedrock_key_config"), f);
        }
        if let Some(c) = &mut self.vllm_key_config {
            c.visit_env(&path.key("vllm_key_config"), f);
        }
        if let Some(c) = &mut self.ollama_key_config {
            c.visit_env(&path.key("ollama_key_config"), f);
        }
        if let Some(c) = &mut self.sgl_key_config {
            c.visit_env(&path.key("sgl_key_config"), f);
        }
    }
}

impl Section for AzureKeyConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        Ok(Self {
            endpoint: f.required_env("endpoint")?,
            deployments: deployments(&mut f)?,
            api_version: f.env("api_version")?,
            client_id: f.env("client_id")?,
            client_secret: f.env("client_secret")?,
            tenant_id: f.env("tenant_id")?,
            scopes: f.strings("scopes")?,
            other: f.finish(known::AZURE_KEY, w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        f(&path.key("endpoint"), &mut self.endpoint);
        visit_opt(&mut self.api_version, path, "api_version", f);
        visit_opt(&mut self.client_id, path, "client_id", f);
        visit_opt(&mut self.client_secret, path, "client_secret", f);
        visit_opt(&mut self.tenant_id, path, "tenant_id", f);
    }
}

impl Section for VertexKeyConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        Ok(Self {
            project_id: f.required_env("project_id")?,
            project_number: f.env("project_number")?,
            region: f.required_env("region")?,
            auth_credentials: f.env("auth_credentials")?,
            deployments: deployments(&mut f)?,
            other: f.finish(known::VERTEX_KEY, w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        f(&path.key("project_id"), &mut self.project_id);
        visit_opt(&mut self.project_number, path, "project_number", f);
        f(&path.key("region"), &mut self.region);
        visit_opt(&mut self.auth_credentials, path, "auth_credentials", f);
    }
}

impl Section for BedrockKeyConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        Ok(Self {
            access_key: f.env("access_key")?,
            secret_key: f.env("secret_key")?,
            session_token: f.env("session_token")?,
            region: f.env("region")?,
            arn: f.env("arn")?,
            role_arn: f.env("role_arn")?,
            external_id: f.env("external_id")?,
            session_name: f.env("session_name")?,
            project_id: f.env("project_id")?,
            deployments: deployments(&mut f)?,
            other: f.finish(known::BEDROCK_KEY, w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        visit_opt(&mut self.access_key, path, "access_key", f);
        visit_opt(&mut self.secret_key, path, "secret_key", f);
        visit_opt(&mut self.session_token, path, "session_token", f);
        visit_opt(&mut self.region, path, "region", f);
        visit_opt(&mut self.arn, path, "arn", f);
        visit_opt(&mut self.role_arn, path, "role_arn", f);
        visit_opt(&mut self.external_id, path, "external_id", f);
        visit_opt(&mut self.session_name, path, "session_name", f);
        visit_opt(&mut self.project_id, path, "project_id", f);
    }
}

impl Section for VllmKeyConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        Ok(Self {
            url: f.required_env("url")?,
            model_name: f.string("model_name")?.unwrap_or_default(),
            other: f.finish(&[], w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        f(&path.key("url"), &mut self.url);
    }
}

impl Section for UrlKeyConfig {
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError> {
        let mut f = Fields::new(v, path)?;
        Ok(Self {
            url: f.required_env("url")?,
            other: f.finish(&[], w),
        })
    }

    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar)) {
        f(&path.key("url"), &mut self.url);
    }
}

deserialize_via_section!(
    Key,
    AzureKeyConfig,
    VertexKeyConfig,
    BedrockKeyConfig,
    VllmKeyConfig,
    UrlKeyConfig
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_stable_and_distinct() {
        let a = generated_key_id("openai", "primary", 0);
        assert_eq!(a, generated_key_id("openai", "primary", 0));
        assert_ne!(a, generated_key_id("openai", "primary", 1));
        assert_ne!(a, generated_key_id("groq", "primary", 0));
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'8', "version 8: {a}");
        assert!(
            matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "variant: {a}"
        );
    }

    #[test]
    fn enabled_defaults_to_true() {
        let mut k = Key::new("id", EnvVar::literal("v"));
        assert!(k.is_enabled());
        k.enabled = Some(false);
        assert!(!k.is_enabled());
    }
}
