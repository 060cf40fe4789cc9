//! The built-in provider table: default base URL, auth style and wire format of each provider.

/// Wire format a provider speaks upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// OpenAI's chat/completions/embeddings/models API (also every OpenAI-compatible provider).
    OpenAi,
    /// Azure OpenAI deployments (OpenAI bodies on deployment URLs).
    Azure,
    /// Anthropic Messages API.
    Anthropic,
    /// Google Gemini (generateContent).
    Gemini,
    /// Gemini and Anthropic models on Google Vertex AI.
    Vertex,
    /// AWS Bedrock Converse.
    Bedrock,
    /// Cohere v2.
    Cohere,
}

/// How the API key is attached to an upstream request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
    /// `api-key: <key>` (Azure).
    ApiKeyHeader,
    /// `x-goog-api-key: <key>` (Gemini).
    GoogApiKey,
    /// Signed or token-based auth handled by the format module (Bedrock SigV4, Vertex OAuth2).
    Signed,
}

/// One row of the provider table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderSpec {
    /// Provider name as written in `config.json` and in `provider/model`.
    pub name: &'static str,
    /// Wire format spoken upstream.
    pub format: WireFormat,
    /// Default base URL (scheme, host and any fixed prefix, without the API version segment).
    pub base_url: &'static str,
    /// Path prefix placed before the operation path (`/v1` for most OpenAI-compatible APIs).
    pub version_prefix: &'static str,
    /// How the key is sent.
    pub auth: AuthStyle,
    /// Whether a key with an empty value is usable (self-hosted servers, signed auth).
    pub allows_empty_key: bool,
}

const fn openai_compatible(name: &'static str, base_url: &'static str) -> ProviderSpec {
    ProviderSpec {
        name,
        format: WireFormat::OpenAi,
        base_url,
        version_prefix: "/v1",
        auth: AuthStyle::Bearer,
        allows_empty_key: false,
    }
}

const fn self_hosted(name: &'static str, base_url: &'static str) -> ProviderSpec {
    ProviderSpec {
        allows_empty_key: true,
        ..openai_compatible(name, base_url)
    }
}

/// Every provider ringway knows by name, in Bifrost's spelling.
pub const PROVIDERS: &[ProviderSpec] = &[
    openai_compatible("openai", "https://api.openai.com"),
    openai_compatible("groq", "https://api.groq.com/openai"),
    openai_compatible("mistral", "https://api.mistral.ai"),
    openai_compatible("xai", "https://api.x.ai"),
    openai_compatible("openrouter", "https://openrouter.ai/api"),
    openai_compatible("cerebras", "https://api.cerebras.ai"),
    openai_compatible("fireworks", "https://api.fireworks.ai/inference"),
    // Perplexity serves its OpenAI-compatible API at the root, without a version segment.
    ProviderSpec {
        version_prefix: "",
        ..openai_compatible("perplexity", "https://api.perplexity.ai")
    },
    openai_compatible("nebius", "https://api.studio.nebius.com"),
    openai_compatible("parasail", "https://api.parasail.io"),
    openai_compatible("deepseek", "https://api.deepseek.com"),
    openai_compatible("huggingface", "https://router.huggingface.co"),
    self_hosted("sgl", "http://localhost:30000"),
    self_hosted("vllm", "http://localhost:8000"),
    self_hosted("ollama", "http://localhost:11434"),
    ProviderSpec {
        name: "azure",
        format: WireFormat::Azure,
        base_url: "",
        version_prefix: "/openai",
        auth: AuthStyle::ApiKeyHeader,
        allows_empty_key: true,
    },
    ProviderSpec {
        name: "anthropic",
        format: WireFormat::Anthropic,
        base_url: "https://api.anthropic.com",
        version_prefix: "/v1",
        auth: AuthStyle::XApiKey,
        allows_empty_key: false,
    },
    ProviderSpec {
        name: "gemini",
        format: WireFormat::Gemini,
        base_url: "https://generativelanguage.googleapis.com",
        version_prefix: "/v1beta",
        auth: AuthStyle::GoogApiKey,
        allows_empty_key: false,
    },
    ProviderSpec {
        name: "vertex",
        format: WireFormat::Vertex,
        base_url: "",
        version_prefix: "/v1",
        auth: AuthStyle::Signed,
        allows_empty_key: true,
    },
    ProviderSpec {
        name: "bedrock",
        format: WireFormat::Bedrock,
        base_url: "",
        version_prefix: "",
        auth: AuthStyle::Signed,
        allows_empty_key: true,
    },
    ProviderSpec {
        name: "cohere",
        format: WireFormat::Cohere,
        base_url: "https://api.cohere.ai",
        version_prefix: "/v2",
        auth: AuthStyle::Bearer,
        allows_empty_key: false,
    },
];

/// Providers Bifrost knows that ringway does not serve yet: accepted in config with a warning.
pub const KNOWN_UNSUPPORTED: &[&str] = &[
    "bedrock_mantle",
    "opencode-go",
    "opencode-zen",
    "elevenlabs",
    "replicate",
    "runway",
    "runware",
    "sarvam",
    "wafer",
    "github-copilot",
    "databricks",
    "typesafe",
];

/// Base provider types a `custom_provider_config` may name (Bifrost's `SupportedBaseProviders`).
pub const CUSTOM_BASES: &[&str] = &[
    "openai",
    "anthropic",
    "bedrock",
    "cohere",
    "gemini",
    "huggingface",
    "replicate",
];

/// Looks up a built-in provider by name.
pub fn lookup(name: &str) -> Option<&'static ProviderSpec> {
    PROVIDERS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        for (i, p) in PROVIDERS.iter().enumerate() {
            assert!(
                PROVIDERS[i + 1..].iter().all(|q| q.name != p.name),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn openai_family_uses_bearer_and_v1() {
        let groq = lookup("groq").expect("groq");
        assert_eq!(groq.format, WireFormat::OpenAi);
        assert_eq!(groq.auth, AuthStyle::Bearer);
        assert_eq!(groq.version_prefix, "/v1");
        assert!(lookup("nope").is_none());
    }
}
