//! The semantic pass after decoding: what Bifrost refuses becomes an error with its JSON path,
//! what it accepts but ringway ignores (or that is probably a mistake) becomes a warning.

use std::collections::HashMap;
use std::time::Duration;

use super::Config;
use super::decode::Warnings;
use super::env_var::EnvVar;
use super::error::ConfigError;
use super::key::Key;
use super::known;
use super::path::JsonPath;
use super::provider::{
    CustomProviderConfig, NetworkConfig, ProviderConfig, ProxyConfig, ProxyType,
};
use crate::providers::catalog::{self, ProviderSpec};

/// Bifrost's schema minimum for retry backoffs (its runtime accepts less).
const MIN_DOCUMENTED_BACKOFF: Duration = Duration::from_millis(100);

/// Checks `config` as a whole; appends warnings, returns the first error.
pub(crate) fn validate(config: &Config, w: &mut Warnings) -> Result<(), ConfigError> {
    let root = JsonPath::root();
    for key in config.other.keys() {
        if known::TOP_LEVEL_SILENT.contains(&key.as_str())
            || known::TOP_LEVEL_AT_BOOT.contains(&key.as_str())
        {
            continue;
        }
        if key == "plugins" {
            plugins(&config.other[key], &root.key(key), w)?;
            continue;
        }
        let what = if known::TOP_LEVEL_SECTIONS.contains(&key.as_str()) {
            "not implemented yet, ignored"
        } else {
            "unknown field (not a Bifrost setting), ignored"
        };
        w.push(format!("{}: {what}", root.key(key)));
    }
    unapplied_client(&config.client, &root.key("client"), w);
    if config.client.enforce_auth_on_inference {
        w.push(format!(
            "{}: not implemented yet (virtual keys are not built): no virtual key is required; \
             only governance.auth_config credentials can protect inference routes",
            root.key("client").key("enforce_auth_on_inference")
        ));
    }
    let providers = root.key("providers");
    let mut ids = HashMap::new();
    for (name, pc) in &config.providers {
        provider(name, pc, &providers.key(name), config.version, &mut ids, w)?;
    }
    Ok(())
}

/// What one provider entry is: its spec, its kind (the base type for custom providers).
struct Resolved<'a> {
    spec: Option<&'static ProviderSpec>,
    kind: &'a str,
    keyless: bool,
}

fn provider(
    name: &str,
    pc: &ProviderConfig,
    path: &JsonPath,
    version: u8,
    ids: &mut HashMap<String, JsonPath>,
    w: &mut Warnings,
) -> Result<(), ConfigError> {
    if name.is_empty() || name.contains('/') {
        // `provider/model` splits at the first '/': such a name could never be addressed.
        return Err(ConfigError::invalid(
            path,
            "provider names must be non-empty and must not contain '/'",
        ));
    }
    let Some(r) = resolve(name, pc, path, w)? else {
        return Ok(()); // Known to Bifrost, not served here: warned, nothing more to check.
    };
    network(&pc.network_config, &path.key("network_config"), w)?;
    unapplied_network(pc, path, w);
    let cb = &pc.concurrency_and_buffer_size;
    if cb.buffer_size < cb.concurrency {
        return Err(ConfigError::invalid(
            &path.key("concurrency_and_buffer_size").key("buffer_size"),
            format!(
                "must be >= concurrency ({}), got {}",
                cb.concurrency, cb.buffer_size
            ),
        ));
    }
    if let Some(proxy) = &pc.proxy_config {
        proxy_config(proxy, &path.key("proxy_config"), w)?;
    }
    let keys_path = path.key("keys");
    if pc.keys.is_empty() && !r.keyless {
        w.push(format!(
            "{keys_path}: no keys; requests to {name} will fail"
        ));
    }
    for (i, k) in pc.keys.iter().enumerate() {
        let kp = keys_path.index(i);
        if let Some(first) = ids.get(&k.id) {
            return Err(ConfigError::invalid(
                &kp.key("id"),
                format!("duplicate key id {:?} (also at {first})", k.id),
            ));
        }
        ids.insert(k.id.clone(), kp.key("id"));
        if !k.name.is_empty() && pc.keys[..i].iter().any(|o| o.name == k.name) {
            w.push(format!(
                "{}: duplicate key name {:?}; x-bf-api-key pins the first one",
                kp.key("name"),
                k.name
            ));
        }
        key(k, &kp, &r, pc, version, w)?;
    }
    Ok(())
}

/// Finds the spec of a provider entry, checking its name and `custom_provider_config`.
/// `None` means a provider Bifrost knows that ringway does not serve (already warned).
fn resolve<'a>(
    name: &str,
    pc: &'a ProviderConfig,
    path: &JsonPath,
    w: &mut Warnings,
) -> Result<Option<Resolved<'a>>, ConfigError> {
    let bifrost_only = catalog::KNOWN_UNSUPPORTED.contains(&name)
        || known::EXTRA_BIFROST_PROVIDERS.contains(&name);
    let Some(custom) = &pc.custom_provider_config else {
        if let Some(spec) = catalog::lookup(name) {
            return Ok(Some(Resolved {
                spec: Some(spec),
                kind: spec.name,
                keyless: false,
            }));
        }
        if bifrost_only {
            w.push(format!(
                "{path}: provider not served by ringway yet, ignored"
            ));
            return Ok(None);
        }
        let some: Vec<&str> = catalog::PROVIDERS.iter().take(8).map(|p| p.name).collect();
        return Err(ConfigError::invalid(
            path,
            format!(
                "unknown provider {name:?}; known providers include {}, ... \
                 (add custom_provider_config to define a custom provider)",
                some.join(", ")
            ),
        ));
    };
    let cp = path.key("custom_provider_config");
    if catalog::lookup(name).is_some() || bifrost_only {
        return Err(ConfigError::invalid(
            &cp,
            format!("{name:?} is a built-in provider name; give the custom provider another name"),
        ));
    }
    custom_provider(custom, &cp, w)?;
    let base = custom.base_provider_type.as_str();
    let spec = catalog::lookup(base);
    if spec.is_none() {
        w.push(format!(
            "{}: base provider {base} not served by ringway yet; requests to this provider will fail",
            cp.key("base_provider_type")
        ));
    }
    Ok(Some(Resolved {
        spec,
        kind: base,
        keyless: custom.is_key_less,
    }))
}

fn custom_provider(
    c: &CustomProviderConfig,
    path: &JsonPath,
    w: &mut Warnings,
) -> Result<(), ConfigError> {
    let base = c.base_provider_type.as_str();
    if !catalog::CUSTOM_BASES.contains(&base) {
        return Err(ConfigError::invalid(
            &path.key("base_provider_type"),
            format!(
                "must be one of {}; got {base:?}",
                catalog::CUSTOM_BASES.join(", ")
            ),
        ));
    }
    if c.is_key_less && base == "bedrock" {
        return Err(ConfigError::invalid(
            &path.key("is_key_less"),
            "not allowed for a bedrock-based provider",
        ));
    }
    if !c.request_path_overrides.is_empty() && base == "bedrock" {
        return Err(ConfigError::invalid(
            &path.key("request_path_overrides"),
            "not allowed for a bedrock-based provider",
        ));
    }
    let overrides = path.key("request_path_overrides");
    for (op, p) in &c.request_path_overrides {
        if !p.starts_with('/') {
            return Err(ConfigError::invalid(
                &overrides.key(op),
                format!("must be a path starting with '/', got {p:?}"),
            ));
        }
        if !known::REQUEST_TYPES.contains(&op.as_str()) {
            w.push(format!(
                "{}: unknown request type, ignored",
                overrides.key(op)
            ));
        }
    }
    if let Some(allowed) = &c.allowed_requests {
        let ap = path.key("allowed_requests");
        for op in allowed.keys() {
            if !known::REQUEST_TYPES.contains(&op.as_str()) {
                w.push(format!("{}: unknown request type, ignored", ap.key(op)));
            }
        }
    }
    Ok(())
}

fn network(nc: &NetworkConfig, path: &JsonPath, w: &mut Warnings) -> Result<(), ConfigError> {
    if let Some(url) = &nc.base_url {
        check_http_url(url).map_err(|m| ConfigError::invalid(&path.key("base_url"), m))?;
    }
    let hp = path.key("extra_headers");
    for (name, value) in &nc.extra_headers {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ConfigError::invalid(
                &hp.key(name),
                "not a valid HTTP header name",
            ));
        }
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(ConfigError::invalid(
                &hp.key(name),
                "header values must not contain CR, LF or NUL",
            ));
        }
    }
    for (field, d) in [
        ("retry_backoff_initial", nc.retry_backoff_initial),
        ("retry_backoff_max", nc.retry_backoff_max),
    ] {
        if d < MIN_DOCUMENTED_BACKOFF {
            w.push(format!(
                "{}: {}ms is below Bifrost's documented minimum of 100ms; accepted",
                path.key(field),
                d.as_millis()
            ));
        }
    }
    if nc.retry_backoff_initial > nc.retry_backoff_max {
        w.push(format!(
            "{}: larger than retry_backoff_max; every backoff is capped at retry_backoff_max",
            path.key("retry_backoff_initial")
        ));
    }
    if !(5..=3600).contains(&nc.stream_idle_timeout_in_seconds) {
        w.push(format!(
            "{}: outside Bifrost's documented range 5..=3600; accepted",
            path.key("stream_idle_timeout_in_seconds")
        ));
    }
    if let Some(pem) = &nc.ca_cert_pem {
        check_pem(pem, &path.key("ca_cert_pem"))?;
    }
    Ok(())
}

fn proxy_config(p: &ProxyConfig, path: &JsonPath, w: &mut Warnings) -> Result<(), ConfigError> {
    let up = path.key("url");
    match p.kind {
        ProxyType::Http | ProxyType::Socks5 => {
            let kind = p.kind.as_str();
            if p.url.value().trim().is_empty() {
                let why = match p.url.env_name() {
                    Some(n) => format!(" (environment variable {n} is not set)"),
                    None => String::new(),
                };
                return Err(ConfigError::invalid(
                    &up,
                    format!("required for proxy type {kind}{why}"),
                ));
            }
            if let Some((scheme, _)) = p.url.value().split_once("://") {
                let ok = match p.kind {
                    ProxyType::Http => ["http", "https"].contains(&scheme),
                    _ => ["socks5", "socks5h"].contains(&scheme),
                };
                if !ok {
                    return Err(ConfigError::invalid(
                        &up,
                        format!("scheme {scheme:?} does not match proxy type {kind}"),
                    ));
                }
            }
        }
        ProxyType::None | ProxyType::Environment => {
            if !p.url.is_unset() {
                w.push(format!("{up}: ignored for proxy type {}", p.kind.as_str()));
            }
        }
    }
    if let Some(pem) = &p.ca_cert_pem {
        check_pem(pem, &path.key("ca_cert_pem"))?;
    }
    Ok(())
}

/// Provider kinds that carry a per-key block, and the block's field name.
const KEY_BLOCKS: &[(&str, &str)] = &[
    ("azure", "azure_key_config"),
    ("vertex", "vertex_key_config"),
    ("bedrock", "bedrock_key_config"),
    ("vllm", "vllm_key_config"),
    ("ollama", "ollama_key_config"),
    ("sgl", "sgl_key_config"),
];

fn key(
    k: &Key,
    path: &JsonPath,
    r: &Resolved<'_>,
    pc: &ProviderConfig,
    version: u8,
    w: &mut Warnings,
) -> Result<(), ConfigError> {
    if k.weight < 0.0 {
        return Err(ConfigError::invalid(
            &path.key("weight"),
            format!("must be >= 0, got {}", k.weight),
        ));
    }
    let needs_value = r.spec.is_some_and(|s| !s.allows_empty_key) && !r.keyless;
    if needs_value && k.value.is_unset() {
        w.push(format!(
            "{}: empty key value; this key is never selected",
            path.key("value")
        ));
    }
    if k.models.is_empty() && version != 1 {
        w.push(format!(
            "{}: empty list serves no model with config version 2 (use [\"*\"] for all)",
            path.key("models")
        ));
    }
    let present = [
        k.azure_key_config.is_some(),
        k.vertex_key_config.is_some(),
        k.bedrock_key_config.is_some(),
        k.vllm_key_config.is_some(),
        k.ollama_key_config.is_some(),
        k.sgl_key_config.is_some(),
    ];
    for (&(kind, field), &there) in KEY_BLOCKS.iter().zip(&present) {
        if there && kind != r.kind {
            w.push(format!(
                "{}: only used by {kind} providers, ignored here",
                path.key(field)
            ));
        }
    }
    match r.kind {
        "azure" => {
            let Some(az) = &k.azure_key_config else {
                return Err(ConfigError::invalid(
                    &path.key("azure_key_config"),
                    "required for azure keys (endpoint)",
                ));
            };
            endpoint_url(
                &az.endpoint,
                &path.key("azure_key_config").key("endpoint"),
                w,
            )?;
        }
        "bedrock"
            if k.bedrock_key_config
                .as_ref()
                .and_then(|b| b.role_arn.as_ref())
                .is_some_and(|r| !r.is_unset()) =>
        {
            w.push(format!(
                "{}: STS AssumeRole is not implemented yet; requests with this key will fail",
                path.key("bedrock_key_config").key("role_arn")
            ));
        }
        "vertex" if k.vertex_key_config.is_none() => {
            return Err(ConfigError::invalid(
                &path.key("vertex_key_config"),
                "required for vertex keys (project_id, region)",
            ));
        }
        "vllm" | "ollama" | "sgl" => {
            let field = format!("{}_key_config", r.kind);
            let bp = path.key(&field);
            let url = match r.kind {
                "vllm" => k.vllm_key_config.as_ref().map(|c| &c.url),
                "ollama" => k.ollama_key_config.as_ref().map(|c| &c.url),
                _ => k.sgl_key_config.as_ref().map(|c| &c.url),
            };
            match url {
                Some(url) => endpoint_url(url, &bp.key("url"), w)?,
                None if pc.network_config.base_url.is_none() => {
                    return Err(ConfigError::invalid(
                        &bp,
                        "required (the server url) unless network_config.base_url is set",
                    ));
                }
                None => {}
            }
            if let Some(v) = &k.vllm_key_config
                && r.kind == "vllm"
                && v.model_name.is_empty()
            {
                return Err(ConfigError::invalid(
                    &bp.key("model_name"),
                    "required: the model this vLLM server serves",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// An endpoint given literally must be a usable http(s) URL. One taken from the environment
/// only warns, as Bifrost starts and fails the requests that use it: the file is right, the
/// environment is not (an unset variable was already warned about).
fn endpoint_url(url: &EnvVar, path: &JsonPath, w: &mut Warnings) -> Result<(), ConfigError> {
    if url.value().is_empty() {
        if url.is_from_env() {
            return Ok(());
        }
        return Err(ConfigError::invalid(path, "must not be empty"));
    }
    match (check_http_url(url.value()), url.env_name()) {
        (Ok(()), _) => Ok(()),
        // Never echo a value that came from the environment: name the variable instead.
        (Err(_), Some(name)) => {
            w.push(format!(
                "{path}: the value of environment variable {name} is not a usable URL; \
                 requests needing it will fail"
            ));
            Ok(())
        }
        (Err(m), None) => Err(ConfigError::invalid(path, m)),
    }
}

/// `http://host[:port][/path]` or `https://...`.
fn check_http_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "{why}: {url:?} (expected http://host[:port][/path] or https://...)"
        ))
    };
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return bad("not an http(s) URL");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("URL contains whitespace");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return bad("unterminated IPv6 address"),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return bad("missing host");
    }
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return bad("invalid port");
    }
    Ok(())
}

fn check_pem(pem: &EnvVar, path: &JsonPath) -> Result<(), ConfigError> {
    let v = pem.value();
    if !v.is_empty() && !v.contains("-----BEGIN CERTIFICATE-----") {
        return Err(ConfigError::invalid(
            path,
            "not a PEM certificate (no -----BEGIN CERTIFICATE----- block)",
        ));
    }
    Ok(())
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `plugins[]`: each entry an object with a unique `name`; custom plugins (with a `path`) are
/// loaded at start-up, built-in ones (no `path`) are not provided yet and say so.
fn plugins(v: &serde_json::Value, path: &JsonPath, w: &mut Warnings) -> Result<(), ConfigError> {
    let err = |p: &JsonPath, message: String| ConfigError::invalid(p, message);
    let serde_json::Value::Array(items) = v else {
        return Err(err(path, "expected an array of plugin entries".into()));
    };
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let p = path.index(i);
        let Some(name) = item.get("name").and_then(|n| n.as_str()) else {
            return Err(err(&p.key("name"), "plugin name is required".into()));
        };
        if !seen.insert(name) {
            return Err(err(
                &p.key("name"),
                format!("duplicate plugin name {name:?}"),
            ));
        }
        for (field, ok) in [
            (
                "enabled",
                item.get("enabled").is_none_or(|v| v.is_boolean()),
            ),
            (
                "path",
                item.get("path")
                    .is_none_or(|v| v.is_string() || v.is_null()),
            ),
            (
                "config",
                item.get("config")
                    .is_none_or(|v| v.is_object() || v.is_null()),
            ),
            (
                "order",
                item.get("order").is_none_or(|v| v.is_i64() || v.is_null()),
            ),
        ] {
            if !ok {
                return Err(ConfigError::type_error(&p.key(field), "wrong type"));
            }
        }
        if let Some(placement) = item.get("placement").and_then(|v| v.as_str())
            && crate::plugins::Placement::parse(placement).is_none()
        {
            return Err(err(
                &p.key("placement"),
                format!("expected pre_builtin, builtin or post_builtin, got {placement:?}"),
            ));
        }
        let has_path = item
            .get("path")
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.is_empty());
        if !has_path {
            w.push(format!(
                "{p} ({name}): built-in plugin not implemented yet, ignored"
            ));
        }
    }
    Ok(())
}

/// What a field that is read but not acted on yet is told (so it is never silently ignored).
const NOT_APPLIED: &str = "accepted but not applied yet";

/// `client` fields ringway parses but does not act on yet, when set away from their defaults.
fn unapplied_client(c: &super::ClientConfig, path: &JsonPath, w: &mut Warnings) {
    let d = super::ClientConfig::default();
    let lists = [
        (
            "allowed_origins",
            c.allowed_origins != d.allowed_origins,
            "no CORS headers are sent",
        ),
        (
            "allowed_headers",
            !c.allowed_headers.is_empty(),
            "no CORS headers are sent",
        ),
        (
            "whitelisted_routes",
            !c.whitelisted_routes.is_empty(),
            "no route is restricted",
        ),
        (
            "required_headers",
            !c.required_headers.is_empty(),
            "requests without them pass",
        ),
        (
            "prometheus_labels",
            !c.prometheus_labels.is_empty(),
            "metrics keep their labels",
        ),
    ];
    for (field, set, effect) in lists {
        if set {
            w.push(format!("{}: {NOT_APPLIED} ({effect})", path.key(field)));
        }
    }
}

/// Provider connection settings ringway parses but does not act on yet.
fn unapplied_network(pc: &ProviderConfig, path: &JsonPath, w: &mut Warnings) {
    let n = &pc.network_config;
    let d = NetworkConfig::default();
    let np = path.key("network_config");
    let fields = [
        (
            "ca_cert_pem",
            n.ca_cert_pem.is_some(),
            "the webpki roots verify the upstream",
        ),
        (
            "insecure_skip_verify",
            n.insecure_skip_verify,
            "certificates are still verified",
        ),
        (
            "max_conns_per_host",
            n.max_conns_per_host != d.max_conns_per_host,
            "pools are bounded per core by idle count only",
        ),
        (
            "keep_alive_timeout_in_seconds",
            n.keep_alive_timeout_in_seconds != d.keep_alive_timeout_in_seconds,
            "idle upstream connections use the pool's own timeout",
        ),
    ];
    for (field, set, effect) in fields {
        if set {
            w.push(format!("{}: {NOT_APPLIED} ({effect})", np.key(field)));
        }
    }
    if pc
        .proxy_config
        .as_ref()
        .is_some_and(|p| p.ca_cert_pem.is_some())
    {
        w.push(format!(
            "{}: {NOT_APPLIED} (the proxy's TLS is verified with the webpki roots)",
            path.key("proxy_config").key("ca_cert_pem")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        for ok in [
            "http://vllm-server:8000",
            "https://api.example.com/v1/",
            "HTTPS://x",
            "http://user:pw@[::1]:8080/p?q",
            "http://10.0.0.1",
        ] {
            assert!(check_http_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x",
            "api.openai.com",
            "http://",
            "http://:80",
            "http://h:99999",
            "http://h x",
            "http://[::1",
        ] {
            assert!(check_http_url(bad).is_err(), "{bad}");
        }
    }
}
