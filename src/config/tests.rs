//! Loader tests: Bifrost's documented examples, round trips, validation paths, defaults.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::providers::catalog::WireFormat;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/spec/bifrost-configs"
);

/// Every variable is set, to a value that is easy to spot if it ever leaks into output.
fn dummy_env(name: &str) -> Option<String> {
    Some(format!("https://SECRET-{name}.example.com"))
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn examples() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(EXAMPLES)
        .expect("examples dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

fn example(prefix: &str) -> Loaded {
    let (_, bytes) = examples()
        .into_iter()
        .find(|(n, _)| n.starts_with(prefix))
        .expect("example exists");
    parse_with_env(&bytes, &dummy_env).expect("parses")
}

fn load(v: serde_json::Value) -> Result<Loaded, ConfigError> {
    parse_with_env(v.to_string().as_bytes(), &dummy_env)
}

fn err(v: serde_json::Value) -> String {
    load(v).expect_err("must be rejected").to_string()
}

fn has_warning(l: &Loaded, needle: &str) -> bool {
    l.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn every_bifrost_example_parses() {
    let all = examples();
    assert_eq!(all.len(), 20, "expected the 20 saved examples");
    for (name, bytes) in &all {
        let l = parse_with_env(bytes, &dummy_env).unwrap_or_else(|e| panic!("{name}: {e}"));
        for w in &l.warnings {
            assert!(
                !w.contains("SECRET-"),
                "{name}: warning leaks a secret: {w}"
            );
        }
        // Unset variables only warn (by name), as in Bifrost.
        let l = parse_with_env(bytes, &no_env).unwrap_or_else(|e| panic!("{name} (no env): {e}"));
        let text = String::from_utf8_lossy(bytes);
        if text.contains("\"env.OPENAI_API_KEY\"") && text.contains("\"providers\"") {
            assert!(
                has_warning(&l, "environment variable OPENAI_API_KEY is not set"),
                "{name}: {:?}",
                l.warnings
            );
        }
    }
}

#[test]
fn round_trip_keeps_references_and_never_writes_secrets() {
    for (name, bytes) in examples() {
        let first = parse_with_env(&bytes, &dummy_env).expect("parses").config;
        let text = serde_json::to_string_pretty(&first).expect("serializes");
        assert!(
            !text.contains("SECRET-"),
            "{name}: resolved secret written:\n{text}"
        );
        let original = String::from_utf8_lossy(&bytes);
        for reference in original.split('"').filter(|s| s.starts_with("env.")) {
            assert!(
                text.contains(reference),
                "{name}: lost {reference}:\n{text}"
            );
        }
        let again = parse_with_env(text.as_bytes(), &dummy_env)
            .unwrap_or_else(|e| panic!("{name}: re-parse: {e}\n{text}"))
            .config;
        assert_eq!(first, again, "{name}: round trip changed the config");
    }
}

#[test]
fn example_01_keys_and_network() {
    let c = example("01-").config;
    let p = &c.providers["openai"];
    assert_eq!(p.keys.len(), 3);
    assert_eq!(p.keys[0].weight, 2.0);
    assert_eq!(
        p.keys[0].value.value(),
        "https://SECRET-OPENAI_KEY_1.example.com"
    );
    assert_eq!(p.keys[0].value.env_name(), Some("OPENAI_KEY_1"));
    assert_eq!(p.keys[1].models, ["gpt-4o-mini"]);
    assert_eq!(p.keys[2].use_for_batch_api, Some(true));
    assert!(p.keys.iter().all(Key::is_enabled));
    let n = &p.network_config;
    assert_eq!(n.default_request_timeout_in_seconds, 120);
    assert_eq!(n.max_retries, 3);
    assert_eq!(n.retry_backoff_initial, Duration::from_millis(500));
    assert_eq!(n.retry_backoff_max, Duration::from_secs(5));
    // Generated ids: distinct, stable, and written back.
    assert_ne!(p.keys[0].id, p.keys[1].id);
    assert_eq!(
        p.keys[0].id,
        generated_key_id("openai", "openai-primary", 0)
    );
    assert_eq!(c.base_format("openai").map(|s| s.name), Some("openai"));
}

#[test]
fn example_02_azure_endpoint_from_env_and_format_warning() {
    let l = example("02-");
    let k = &l.config.providers["azure"].keys[0];
    let az = k.azure_key_config.as_ref().expect("azure block");
    assert_eq!(az.endpoint.env_name(), Some("AZURE_ENDPOINT_EAST"));
    assert_eq!(
        az.endpoint.value(),
        "https://SECRET-AZURE_ENDPOINT_EAST.example.com"
    );
    assert!(
        !has_warning(&l, "wire format not served yet"),
        "azure is served"
    );
}

#[test]
fn example_03_bedrock_assume_role() {
    let l = example("03-");
    let b = l.config.providers["bedrock"].keys[0]
        .bedrock_key_config
        .as_ref()
        .expect("bedrock block");
    assert_eq!(b.region.as_deref(), Some("us-west-2"));
    assert_eq!(
        b.role_arn.as_ref().and_then(|r| r.env_name()),
        Some("AWS_ROLE_ARN")
    );
    assert_eq!(b.session_name.as_deref(), Some("bifrost-session"));
    assert!(
        !has_warning(&l, "wire format not served yet"),
        "bedrock is served"
    );
    assert!(has_warning(
        &l,
        "providers.bedrock.keys[0].bedrock_key_config.role_arn: STS AssumeRole is not implemented"
    ));
}

#[test]
fn example_04_openai_compatible_providers_do_not_warn_about_format() {
    let l = example("04-");
    assert_eq!(l.config.providers.len(), 10);
    for served in ["groq", "mistral", "xai", "openrouter", "deepseek", "nebius"] {
        assert!(
            !l.warnings
                .iter()
                .any(|w| w.starts_with(&format!("providers.{served}:"))),
            "{served}: {:?}",
            l.warnings
        );
    }
    assert!(!has_warning(&l, "wire format not served yet"));
}

#[test]
fn example_05_vllm_key_urls() {
    let c = example("05-").config;
    let keys = &c.providers["vllm"].keys;
    assert_eq!(keys[0].self_hosted_url(), Some("http://vllm-server:8000"));
    let v = keys[1].vllm_key_config.as_ref().expect("vllm block");
    assert_eq!(v.model_name, "mistralai/Mistral-7B-Instruct-v0.3");
}

#[test]
fn example_06_proxy() {
    let c = example("06-").config;
    let proxy = c.providers["openai"].proxy_config.as_ref().expect("proxy");
    assert_eq!(proxy.kind, ProxyType::Http);
    let url: &str = &proxy.url;
    assert_eq!(url, "http://proxy.corp.example.com:3128");
    assert_eq!(
        proxy.username.as_ref().and_then(|u| u.env_name()),
        Some("PROXY_USER")
    );
    assert_eq!(
        proxy.password.as_ref().map(|p| p.value()),
        Some("https://SECRET-PROXY_PASS.example.com")
    );
}

#[test]
fn example_07_custom_provider() {
    let c = example("07-").config;
    let p = &c.providers["vllm-local"];
    let custom = p.custom_provider_config.as_ref().expect("custom");
    assert_eq!(custom.base_provider_type, "openai");
    assert!(!custom.is_key_less);
    let allowed = custom.allowed_requests.as_ref().expect("allowed");
    assert_eq!(allowed.get("chat_completion"), Some(&true));
    assert_eq!(allowed.len(), 2);
    assert_eq!(
        p.network_config.base_url.as_deref(),
        Some("http://vllm-endpoint:8000")
    );
    let spec = c.base_format("vllm-local").expect("spec");
    assert_eq!((spec.name, spec.format), ("openai", WireFormat::OpenAi));
    assert!(c.base_format("not-configured").is_none());
}

#[test]
fn example_08_concurrency() {
    let c = example("08-").config;
    assert_eq!(
        c.providers["openai"].concurrency_and_buffer_size,
        ConcurrencyAndBufferSize {
            concurrency: 100,
            buffer_size: 500
        }
    );
    assert_eq!(
        c.providers["anthropic"]
            .concurrency_and_buffer_size
            .concurrency,
        25
    );
}

#[test]
fn example_09_tiny_backoff_is_accepted_with_a_warning() {
    let l = example("09-");
    let n = &l.config.providers["openai"].network_config;
    assert_eq!(n.retry_backoff_initial, Duration::from_millis(1));
    assert_eq!(n.retry_backoff_max, Duration::from_secs(10));
    assert_eq!(n.max_retries, 5);
    assert!(has_warning(
        &l,
        "providers.openai.network_config.retry_backoff_initial: 1ms is below"
    ));
}

#[test]
fn example_10_and_11_client() {
    let l = example("10-");
    let cl = &l.config.client;
    assert_eq!(cl.allowed_origins.len(), 2);
    assert_eq!(cl.max_request_body_size_mb, 50);
    assert!(cl.enforce_auth_on_inference);
    assert_eq!(cl.whitelisted_routes, ["/health", "/metrics"]);
    assert!(has_warning(
        &l,
        "client.enforce_auth_on_inference: not implemented yet"
    ));

    let l = example("11-");
    let cl = &l.config.client;
    assert_eq!(cl.initial_pool_size, 1000);
    assert!(cl.drop_excess_requests);
    assert_eq!(cl.log_retention_days, 90);
    assert_eq!(cl.logging_headers, ["x-request-id", "x-user-id"]);
    assert_eq!(
        cl.other["mcp_external_client_url"],
        "env.BIFROST_EXTERNAL_URL"
    );
    assert!(cl.other.contains_key("compat"));
    assert!(has_warning(&l, "governance: not implemented yet, ignored"));
    assert!(has_warning(
        &l,
        "encryption_key: not implemented yet, ignored"
    ));
    assert!(!has_warning(&l, "$schema"));
    // Known Bifrost client fields are kept without an "unknown field" warning.
    assert!(!has_warning(&l, "unknown field"), "{:?}", l.warnings);
    assert_eq!(
        l.config.other["encryption_key"],
        "env.BIFROST_ENCRYPTION_KEY"
    );
}

#[test]
fn settings_not_applied_yet_are_named() {
    let l = load(json!({
        "client": {"allowed_origins": ["https://app.example"], "prometheus_labels": ["team"]},
        "providers": {"openai": {
            "keys": [{"value": "sk-1", "models": ["*"]}],
            "network_config": {"insecure_skip_verify": true, "max_conns_per_host": 10}
        }}
    }))
    .expect("loads");
    for field in [
        "client.allowed_origins",
        "client.prometheus_labels",
        "providers.openai.network_config.insecure_skip_verify",
        "providers.openai.network_config.max_conns_per_host",
    ] {
        assert!(
            l.warnings
                .iter()
                .any(|w| w.starts_with(&format!("{field}: accepted but not applied yet"))),
            "{field}: {:?}",
            l.warnings
        );
    }
    // Defaults say nothing.
    let l = load(json!({"providers": {"openai": {"keys": [{"value": "sk-1", "models": ["*"]}]}}}))
        .expect("loads");
    assert!(
        l.warnings.iter().all(|w| !w.contains("not applied")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn the_repo_config_json_loads() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/config.json")).expect("read");
    let l = parse_with_env(&bytes, &dummy_env).expect("the repo's config.json loads");
    for p in ["openai", "anthropic"] {
        assert!(l.config.providers.contains_key(p), "{p}");
    }
}

#[test]
fn plugins_are_checked_and_built_ins_named() {
    let l = example("12-");
    assert!(
        l.warnings
            .iter()
            .any(|w| w
                == "plugins[0] (semantic_cache): built-in plugin not implemented yet, ignored"),
        "{:?}",
        l.warnings
    );
    let l = example("15-");
    assert!(
        !l.warnings.iter().any(|w| w.starts_with("plugins")),
        "a custom plugin is implemented: {:?}",
        l.warnings
    );
    for (doc, path) in [
        (json!({"plugins": {}}), "plugins"),
        (json!({"plugins": [{"enabled": true}]}), "plugins[0].name"),
        (
            json!({"plugins": [{"name": "a"}, {"name": "a"}]}),
            "plugins[1].name",
        ),
        (
            json!({"plugins": [{"name": "a", "enabled": "yes"}]}),
            "plugins[0].enabled",
        ),
        (
            json!({"plugins": [{"name": "a", "placement": "first"}]}),
            "plugins[0].placement",
        ),
    ] {
        let e = load(doc).expect_err(path);
        assert_eq!(e.path(), path, "{e}");
    }
}

#[test]
fn sections_not_implemented_are_named() {
    for (prefix, sections) in [
        ("16-", &["governance"][..]),
        ("20-", &["config_store", "vector_store"][..]),
    ] {
        let l = example(prefix);
        for s in sections {
            let line = format!("{s}: not implemented yet, ignored");
            assert!(l.warnings.contains(&line), "{prefix} {s}: {:?}", l.warnings);
        }
    }
    // Request logging reads logs_store at start-up: it is implemented, not ignored.
    let l = example("20-");
    assert!(
        !l.warnings.iter().any(|w| w.starts_with("logs_store")),
        "{:?}",
        l.warnings
    );
    let l = load(json!({"websocket": {}, "framework": {}, "mcp": {}})).expect("ok");
    assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
}

#[test]
fn defaults() {
    let c = load(json!({})).expect("empty config").config;
    assert_eq!(c, Config::default());
    assert_eq!(c.version, 2);
    assert_eq!(c.client.max_request_body_size_mb, 100);
    assert!(c.client.enable_logging);
    assert!(!c.client.drop_excess_requests);
    assert_eq!(c.client.allowed_origins, ["*"]);

    let l = load(json!({"providers": {"openai": {"keys": [{"value": "sk", "models": ["*"]}]}}}))
        .expect("minimal provider");
    let p = &l.config.providers["openai"];
    let k = &p.keys[0];
    assert_eq!(k.weight, 1.0);
    assert_eq!((k.enabled, k.is_enabled()), (None, true));
    assert!(!k.id.is_empty());
    let n = &p.network_config;
    assert_eq!(n.default_request_timeout_in_seconds, 30);
    assert_eq!(n.max_retries, 0);
    assert_eq!(n.retry_backoff_initial, Duration::from_millis(500));
    assert_eq!(n.retry_backoff_max, Duration::from_secs(5));
    assert_eq!(n.stream_idle_timeout_in_seconds, 60);
    assert_eq!(n.max_conns_per_host, 5000);
    assert_eq!(
        p.concurrency_and_buffer_size,
        ConcurrencyAndBufferSize {
            concurrency: 1000,
            buffer_size: 5000
        }
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);

    // Zero means "default", as in Bifrost's CheckAndSetDefaults.
    let l = load(json!({"providers": {"openai": {
        "keys": [{"value": "sk", "models": ["*"]}],
        "network_config": {"default_request_timeout_in_seconds": 0, "retry_backoff_initial": 0,
                           "retry_backoff_max": "0s", "stream_idle_timeout_in_seconds": 0},
        "concurrency_and_buffer_size": {"concurrency": 0, "buffer_size": 0}
    }}}))
    .expect("zeros");
    let p = &l.config.providers["openai"];
    assert_eq!(p.network_config, NetworkConfig::default());
    assert_eq!(
        p.concurrency_and_buffer_size,
        ConcurrencyAndBufferSize::default()
    );
}

#[test]
fn backoff_accepts_go_durations_and_writes_millis() {
    let l = load(json!({"providers": {"openai": {
        "keys": [{"value": "sk", "models": ["*"]}],
        "network_config": {"retry_backoff_initial": "1.5s", "retry_backoff_max": "2m"}
    }}}))
    .expect("durations");
    let n = &l.config.providers["openai"].network_config;
    assert_eq!(n.retry_backoff_initial, Duration::from_millis(1500));
    assert_eq!(n.retry_backoff_max, Duration::from_secs(120));
    let v = serde_json::to_value(n).expect("ser");
    assert_eq!(v["retry_backoff_initial"], 1500);
    assert_eq!(v["retry_backoff_max"], 120_000);
}

#[test]
fn validation_errors_carry_their_path() {
    let key = |extra: serde_json::Value| {
        let mut k = json!({"name": "k", "value": "sk", "models": ["*"]});
        if let (Some(o), Some(e)) = (k.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        k
    };
    let openai = |p: serde_json::Value| json!({"providers": {"openai": p}});
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            openai(json!({"keys": [key(json!({})), key(json!({"name": "b", "weight": -1}))]})),
            "providers.openai.keys[1].weight: must be >= 0, got -1",
        ),
        (
            openai(json!({"keys": [key(json!({}))],
                "network_config": {"default_request_timeout_in_seconds": -5}})),
            "providers.openai.network_config.default_request_timeout_in_seconds: must be >= 0, got -5",
        ),
        (
            openai(json!({"keys": [key(json!({}))],
                "network_config": {"retry_backoff_max": -1}})),
            "providers.openai.network_config.retry_backoff_max: must be >= 0, got -1",
        ),
        (
            openai(json!({"keys": [key(json!({}))],
                "concurrency_and_buffer_size": {"concurrency": 100, "buffer_size": 10}})),
            "providers.openai.concurrency_and_buffer_size.buffer_size: must be >= concurrency (100), got 10",
        ),
        (
            openai(json!({"keys": [key(json!({}))],
                "concurrency_and_buffer_size": {"concurrency": 6000}})),
            "providers.openai.concurrency_and_buffer_size.buffer_size: must be >= concurrency (6000), got 5000",
        ),
        (
            openai(json!({"keys": [key(json!({}))], "proxy_config": {"type": "http"}})),
            "providers.openai.proxy_config.url: required for proxy type http",
        ),
        (
            openai(json!({"keys": [key(json!({}))],
                "proxy_config": {"type": "socks5", "url": "http://p:1080"}})),
            "providers.openai.proxy_config.url: scheme \"http\" does not match proxy type socks5",
        ),
        (
            openai(json!({"keys": [key(json!({}))], "proxy_config": {"type": "ftp"}})),
            "providers.openai.proxy_config.type: must be one of none, http, socks5, environment; got \"ftp\"",
        ),
        (
            openai(json!({"keys": [key(json!({}))],
                "network_config": {"base_url": "api.openai.com"}})),
            "providers.openai.network_config.base_url: not an http(s) URL",
        ),
        (
            openai(json!({"keys": [key(json!({}))],
                "network_config": {"extra_headers": {"X-Bad\r\n": "v"}}})),
            "providers.openai.network_config.extra_headers[\"X-Bad\\r\\n\"]: not a valid HTTP header name",
        ),
        (
            openai(json!({"keys": [key(json!({"models": "gpt-4o"}))]})),
            "providers.openai.keys[0].models: invalid type: string \"gpt-4o\", expected a sequence",
        ),
        (
            openai(json!({"keys": [key(json!({"models": ["a", 5]}))]})),
            "providers.openai.keys[0].models[1]: invalid type: integer `5`, expected a string",
        ),
        (
            openai(json!({"keys": [key(json!({"weight": "heavy"}))]})),
            "providers.openai.keys[0].weight: invalid type: string \"heavy\"",
        ),
        (
            openai(json!({"keys": {"value": "sk"}})),
            "providers.openai.keys: expected an array, got an object",
        ),
        (
            openai(
                json!({"keys": [key(json!({"id": "same"})), key(json!({"name": "b", "id": "same"}))]}),
            ),
            "providers.openai.keys[1].id: duplicate key id \"same\" (also at providers.openai.keys[0].id)",
        ),
        (
            json!({"providers": {"my-llm": {"keys": [key(json!({}))]}}}),
            "providers.my-llm: unknown provider \"my-llm\"; known providers include openai, groq",
        ),
        (
            json!({"providers": {"eu": {"keys": [key(json!({}))],
                "custom_provider_config": {"base_provider_type": "mistral"}}}}),
            "providers.eu.custom_provider_config.base_provider_type: must be one of openai, anthropic",
        ),
        (
            json!({"providers": {"eu": {"keys": [],
                "custom_provider_config": {"base_provider_type": "bedrock", "is_key_less": true}}}}),
            "providers.eu.custom_provider_config.is_key_less: not allowed for a bedrock-based provider",
        ),
        (
            json!({"providers": {"eu": {"keys": [],
                "custom_provider_config": {"is_key_less": true}}}}),
            "providers.eu.custom_provider_config.base_provider_type: required field is missing",
        ),
        (
            json!({"providers": {"openai": {"keys": [],
                "custom_provider_config": {"base_provider_type": "openai"}}}}),
            "providers.openai.custom_provider_config: \"openai\" is a built-in provider name",
        ),
        (
            json!({"providers": {"azure": {"keys": [key(json!({}))]}}}),
            "providers.azure.keys[0].azure_key_config: required for azure keys",
        ),
        (
            json!({"providers": {"azure": {"keys": [key(json!({"azure_key_config": {"endpoint": "x.azure.com"}}))]}}}),
            "providers.azure.keys[0].azure_key_config.endpoint: not an http(s) URL",
        ),
        (
            json!({"providers": {"vllm": {"keys": [key(json!({}))]}}}),
            "providers.vllm.keys[0].vllm_key_config: required (the server url) unless network_config.base_url is set",
        ),
        (
            json!({"providers": {"ollama": {"keys": [key(json!({"ollama_key_config": {"url": "localhost:11434"}}))]}}}),
            "providers.ollama.keys[0].ollama_key_config.url: not an http(s) URL",
        ),
        (
            json!({"providers": {"a/b": {"keys": []}}}),
            "providers[\"a/b\"]: provider names must be non-empty and must not contain '/'",
        ),
        (json!({"version": 3}), "version: must be 1 or 2, got 3"),
        (
            json!({"client": []}),
            "client: expected an object, got an array",
        ),
        (
            json!({"client": {"drop_excess_requests": "yes"}}),
            "client.drop_excess_requests: invalid type: string \"yes\", expected a boolean",
        ),
        (json!([]), "$: expected an object, got an array"),
    ];
    for (config, expected) in cases {
        let got = err(config.clone());
        assert!(
            got.starts_with(expected),
            "\nconfig:   {config}\nexpected: {expected}\ngot:      {got}"
        );
    }
}

#[test]
fn unset_proxy_url_variable_is_named_in_the_error() {
    let e = parse_with_env(
        json!({"providers": {"openai": {"keys": [{"value": "sk", "models": ["*"]}],
            "proxy_config": {"type": "http", "url": "env.PROXY_URL"}}}})
        .to_string()
        .as_bytes(),
        &no_env,
    )
    .expect_err("no url");
    assert_eq!(
        e.to_string(),
        "providers.openai.proxy_config.url: required for proxy type http \
         (environment variable PROXY_URL is not set)"
    );
}

#[test]
fn env_sourced_bad_urls_warn_without_echoing_the_value() {
    // Bifrost starts with such a value and fails the requests that need it: a warning, not an
    // error, and the warning names the variable, never its value.
    let loaded = parse_with_env(
        json!({"providers": {"azure": {"keys": [{"value": "k", "models": ["*"],
            "azure_key_config": {"endpoint": "env.AZ_ENDPOINT"}}]}}})
        .to_string()
        .as_bytes(),
        &|_: &str| Some("not-a-url-secretish".to_string()),
    )
    .expect("starts with a warning");
    let w = loaded
        .warnings
        .iter()
        .find(|w| w.contains("azure_key_config.endpoint"))
        .expect("a warning about the endpoint");
    assert!(!w.contains("secretish"), "{w}");
    assert!(w.contains("AZ_ENDPOINT"), "{w}");
}

#[test]
fn syntax_errors_have_path_and_position() {
    let e = parse_with_env(b"{\"providers\": {\"openai\": {\"keys\": [}}}", &dummy_env)
        .expect_err("syntax");
    let ConfigError::Syntax { line, column, .. } = &e else {
        panic!("not a syntax error: {e:?}");
    };
    assert_eq!((*line, *column), (1, 36));
    assert!(e.to_string().starts_with("providers.openai.keys"), "{e}");
    let e = parse_with_env(b"{} trailing", &dummy_env).expect_err("trailing");
    assert!(
        e.to_string()
            .starts_with("$: invalid JSON at line 1 column 4"),
        "{e}"
    );
    let e = parse_with_env(b"", &dummy_env).expect_err("empty");
    assert!(e.to_string().starts_with("$: invalid JSON"), "{e}");
}

#[test]
fn unknown_fields_are_kept_and_warned_about() {
    let l = load(json!({
        "client": {"drop_excess_request": true},
        "providers": {"openai": {
            "keys": [{"value": "sk", "models": ["*"], "wieght": 3, "aliases": {"a": "b"}}],
            "network_config": {"base_url": "https://api.openai.com", "enforce_http2": true, "timeout": 5},
            "store_raw_request_response": true,
            "custom_thing": 1
        }},
        "my_section": {"x": 1}
    }))
    .expect("accepted");
    let expected = [
        "client.drop_excess_request: unknown field (not a Bifrost setting), ignored",
        "providers.openai.keys[0].wieght: unknown field (not a Bifrost setting), ignored",
        "providers.openai.network_config.timeout: unknown field (not a Bifrost setting), ignored",
        "providers.openai.custom_thing: unknown field (not a Bifrost setting), ignored",
        "my_section: unknown field (not a Bifrost setting), ignored",
    ];
    for e in expected {
        assert!(
            l.warnings.iter().any(|w| w == e),
            "missing {e:?} in {:?}",
            l.warnings
        );
    }
    assert_eq!(l.warnings.len(), expected.len(), "{:?}", l.warnings);
    let c = &l.config;
    let p = &c.providers["openai"];
    assert_eq!(p.keys[0].other["wieght"], 3);
    assert_eq!(p.keys[0].other["aliases"], json!({"a": "b"}));
    assert_eq!(p.network_config.other["enforce_http2"], true);
    assert_eq!(p.other["store_raw_request_response"], true);
    assert_eq!(c.client.other["drop_excess_request"], true);
    // And all of it is written back.
    let v = serde_json::to_value(c).expect("ser");
    assert_eq!(v["my_section"], json!({"x": 1}));
    assert_eq!(v["providers"]["openai"]["custom_thing"], 1);
    assert_eq!(v["providers"]["openai"]["keys"][0]["wieght"], 3);
}

#[test]
fn provider_warnings() {
    let l = load(json!({"providers": {
        "replicate": {"keys": [{"value": "r", "models": ["*"]}]},
        "deepgram": {"keys": [{"value": "d", "models": ["*"]}]},
        "openai": {"keys": [{"name": "a", "value": "", "models": []},
                            {"name": "a", "value": "sk", "models": ["*"],
                             "vllm_key_config": {"url": "http://v:8000", "model_name": "m"}}]},
        "groq": {"keys": []}
    }}))
    .expect("accepted");
    for w in [
        "providers.replicate: provider not served by ringway yet, ignored",
        "providers.deepgram: provider not served by ringway yet, ignored",
        "providers.openai.keys[0].value: empty key value",
        "providers.openai.keys[0].models: empty list serves no model",
        "providers.openai.keys[1].name: duplicate key name \"a\"",
        "providers.openai.keys[1].vllm_key_config: only used by vllm providers",
        "providers.groq.keys: no keys",
    ] {
        assert!(has_warning(&l, w), "missing {w:?} in {:?}", l.warnings);
    }
    assert!(l.config.base_format("replicate").is_none());
    // Version 1 reads an empty models list as "all": no warning then.
    let l = load(json!({"version": 1, "providers": {"openai": {"keys": [{"value": "sk"}]}}}))
        .expect("v1");
    assert_eq!(l.config.version, 1);
    assert!(!has_warning(&l, "models"), "{:?}", l.warnings);
}

#[test]
fn key_ids_are_kept_or_generated_stably() {
    let cfg = json!({"providers": {"openai": {"keys": [
        {"id": "explicit", "name": "a", "value": "sk", "models": ["*"]},
        {"name": "b", "value": "sk", "models": ["*"]},
        {"value": "sk", "models": ["*"]}
    ]}}});
    let a = load(cfg.clone()).expect("ok").config;
    let b = load(cfg).expect("ok").config;
    let ids: Vec<_> = a.providers["openai"]
        .keys
        .iter()
        .map(|k| k.id.clone())
        .collect();
    assert_eq!(ids[0], "explicit");
    assert_eq!(ids[1], generated_key_id("openai", "b", 0));
    assert_ne!(ids[1], ids[2]);
    assert_eq!(a, b, "generation is deterministic");
}

#[test]
fn object_form_env_var_and_redaction() {
    let l = load(json!({"providers": {"openai": {"keys": [
        {"value": {"value": "env.OPENAI_API_KEY", "env_var": "env.OPENAI_API_KEY", "from_env": true},
         "models": ["*"]},
        {"value": "sk-literal-key-abcdefgh", "models": ["*"]}
    ]}}}))
    .expect("ok");
    let keys = &l.config.providers["openai"].keys;
    assert_eq!(
        keys[0].value.value(),
        "https://SECRET-OPENAI_API_KEY.example.com"
    );
    assert_eq!(keys[0].value.redacted(), "env.OPENAI_API_KEY");
    assert_eq!(
        keys[1].value.redacted(),
        format!("sk-l{}efgh", "*".repeat(24))
    );
    let v = serde_json::to_value(&l.config).expect("ser");
    assert_eq!(
        v["providers"]["openai"]["keys"][0]["value"],
        "env.OPENAI_API_KEY"
    );
    assert_eq!(
        v["providers"]["openai"]["keys"][1]["value"],
        "sk-literal-key-abcdefgh"
    );
}

#[test]
fn debug_output_never_contains_resolved_secrets() {
    for prefix in ["01-", "02-", "06-", "11-"] {
        let l = example(prefix);
        let shown = format!("{:?}", l.config);
        assert!(!shown.contains("SECRET-"), "{prefix}: {shown}");
    }
}

#[test]
fn deserialize_impls_read_sections_alone() {
    let p: ProviderConfig = serde_json::from_value(json!({
        "keys": [{"name": "k", "value": "literal", "models": ["*"]}],
        "network_config": {"retry_backoff_initial": "250ms"}
    }))
    .expect("provider");
    assert_eq!(p.keys[0].value.value(), "literal");
    assert_eq!(
        p.network_config.retry_backoff_initial,
        Duration::from_millis(250)
    );
    let e = serde_json::from_value::<ProviderConfig>(json!({"keys": [{"weight": "x"}]}))
        .expect_err("bad weight");
    assert!(e.to_string().starts_with("keys[0].weight: "), "{e}");
    let c: Config = serde_json::from_str("{\"version\": 1}").expect("config");
    assert_eq!(c.version, 1);
}

#[test]
fn load_file_reports_missing_files_and_reads_real_ones() {
    let e = load_file(Path::new("/nonexistent/config.json")).expect_err("missing");
    assert!(
        e.to_string()
            .starts_with("$: cannot read /nonexistent/config.json"),
        "{e}"
    );
    let p = Path::new(EXAMPLES).join("07-custom-provider-vllm-local.json");
    let l = load_file(&p).expect("loads");
    assert!(l.config.providers.contains_key("vllm-local"));
}

#[test]
fn validate_can_run_again_on_an_edited_config() {
    let mut c = example("08-").config;
    assert!(c.validate().is_ok());
    if let Some(p) = c.providers.get_mut("openai") {
        p.keys[0].weight = -0.5;
    }
    let e = c.validate().expect_err("negative weight");
    assert_eq!(e.path(), "providers.openai.keys[0].weight");
}
