//! Each built-in provider's default endpoint: host, path per operation and auth header, as
//! Bifrost's providers call them when `network_config.base_url` is not set.

use serde_json::json;

use super::table::RouteTable;
use crate::error::RequestType;
use crate::upstream::Scheme;

/// `(provider, https host, chat path, auth header name, auth value for key "k-1")`.
const DEFAULTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "openai",
        "api.openai.com",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "groq",
        "api.groq.com",
        "/openai/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "mistral",
        "api.mistral.ai",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "xai",
        "api.x.ai",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "openrouter",
        "openrouter.ai",
        "/api/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "cerebras",
        "api.cerebras.ai",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "fireworks",
        "api.fireworks.ai",
        "/inference/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "perplexity",
        "api.perplexity.ai",
        "/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "nebius",
        "api.studio.nebius.com",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "parasail",
        "api.parasail.io",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "deepseek",
        "api.deepseek.com",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "huggingface",
        "router.huggingface.co",
        "/v1/chat/completions",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "anthropic",
        "api.anthropic.com",
        "/v1/messages",
        "x-api-key",
        "k-1",
    ),
    (
        "cohere",
        "api.cohere.ai",
        "/v2/chat",
        "Authorization",
        "Bearer k-1",
    ),
    (
        "gemini",
        "generativelanguage.googleapis.com",
        "/v1beta/models/{model}:generateContent",
        "x-goog-api-key",
        "k-1",
    ),
];

fn table(providers: serde_json::Value) -> RouteTable {
    let doc = json!({ "providers": providers }).to_string();
    let loaded = crate::config::parse_with_env(doc.as_bytes(), &|_| None).expect("config");
    RouteTable::build(loaded.config, 1).expect("table")
}

#[test]
fn hosted_providers_default_endpoints() {
    let mut providers = serde_json::Map::new();
    for (name, ..) in DEFAULTS {
        providers.insert(
            (*name).to_string(),
            json!({"keys": [{"name": "k", "value": "k-1", "models": ["*"]}]}),
        );
    }
    let table = table(serde_json::Value::Object(providers));
    for &(name, host, chat, header, value) in DEFAULTS {
        let route = table.provider(name).expect(name);
        let endpoint = route.endpoint(Some(0));
        assert_eq!(endpoint.target.scheme, Scheme::Https, "{name}");
        assert_eq!(endpoint.target.host, host, "{name}");
        assert_eq!(endpoint.target.port, 443, "{name}");
        assert_eq!(
            route.path_for(endpoint, RequestType::ChatCompletion),
            chat,
            "{name}"
        );
        assert_eq!(route.auth_header(Some(0)), Some((header, value)), "{name}");
    }
    // The rest of the OpenAI family's operations sit beside chat.
    let groq = table.provider("groq").expect("groq");
    let e = groq.endpoint(Some(0));
    assert_eq!(
        groq.path_for(e, RequestType::Embedding),
        "/openai/v1/embeddings"
    );
    assert_eq!(
        groq.path_for(e, RequestType::ListModels),
        "/openai/v1/models"
    );
    assert_eq!(
        groq.path_for(e, RequestType::TextCompletion),
        "/openai/v1/completions"
    );
}

#[test]
fn self_hosted_providers_take_their_key_url_and_no_key() {
    let table = table(json!({
        "vllm": {"keys": [{"name": "v", "value": "", "models": ["*"],
                           "vllm_key_config": {"url": "http://gpu-box:8000/v1", "model_name": "llama"}}]},
        "ollama": {"keys": [{"name": "o", "value": "", "models": ["*"],
                             "ollama_key_config": {"url": "http://127.0.0.1:11434", "model_name": "llama"}}]},
        "sgl": {"keys": [{"name": "s", "value": "", "models": ["*"],
                          "sgl_key_config": {"url": "http://sgl:30000/", "model_name": "llama"}}]}
    }));
    for (name, host, port) in [
        ("vllm", "gpu-box", 8000),
        ("ollama", "127.0.0.1", 11434),
        ("sgl", "sgl", 30000),
    ] {
        let route = table.provider(name).expect(name);
        let endpoint = route.endpoint(Some(0));
        assert_eq!(endpoint.target.scheme, Scheme::Http, "{name}");
        assert_eq!(
            (endpoint.target.host.as_str(), endpoint.target.port),
            (host, port),
            "{name}"
        );
        assert_eq!(
            route.path_for(endpoint, RequestType::ChatCompletion),
            "/v1/chat/completions",
            "{name}: trailing / and /v1 normalised"
        );
        assert_eq!(
            route.auth_header(Some(0)),
            None,
            "{name}: an empty key sends no auth"
        );
    }
}
