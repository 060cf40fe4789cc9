//! Azure OpenAI: OpenAI bodies on per-key deployment URLs.
//!
//! ```text
//! {endpoint}/openai/deployments/{deployment}/chat/completions?api-version={api_version}
//! {endpoint}/openai/deployments/{deployment}/completions?api-version=...
//! {endpoint}/openai/deployments/{deployment}/embeddings?api-version=...
//! {endpoint}/openai/models?api-version=...
//! ```
//!
//! The endpoint, the model -> deployment map and the API version come from each key's
//! `azure_key_config`; a model without a mapping is its own deployment name. Bodies are OpenAI's,
//! so an OpenAI client's body goes through the zero-copy path (Azure ignores the spliced
//! `model`), and the key travels in the `api-key` header. Paths are built when the route table
//! is compiled: only a model the key does not map pays for formatting one.

use std::borrow::Cow;
use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use crate::error::{ProviderError, RequestType};
use crate::providers::openai;

/// The `api-version` used when a key does not set one.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// The request paths of one Azure key (its resource, deployments and API version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentPaths {
    /// The resource's `/openai` base path (any path of the endpoint URL included).
    base: String,
    /// `?api-version=...`, escaped.
    query: String,
    /// Mapped model -> full path per operation ([`RequestType::index`]).
    mapped: HashMap<String, [String; RequestType::ALL.len()]>,
}

impl DeploymentPaths {
    /// Paths below `base` (e.g. `/openai`) for the key's `deployments` and `api_version`.
    pub fn new(
        base: &str,
        deployments: &BTreeMap<String, String>,
        api_version: Option<&str>,
    ) -> Self {
        let version = api_version
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_API_VERSION);
        let mut out = Self {
            base: base.trim_end_matches('/').to_string(),
            query: format!("?api-version={}", encode_component(version)),
            mapped: HashMap::with_capacity(deployments.len()),
        };
        let mapped = deployments
            .iter()
            .filter(|(_, d)| !d.trim().is_empty())
            .map(|(model, deployment)| {
                let paths = RequestType::ALL.map(|op| out.format(op, deployment.trim()));
                (model.clone(), paths)
            })
            .collect();
        out.mapped = mapped;
        out
    }

    /// The path (with query) of `op` for `model`: its mapped deployment, or the model name.
    pub fn path(&self, op: RequestType, model: &str) -> Cow<'_, str> {
        if op == RequestType::ListModels {
            return Cow::Owned(self.models_path());
        }
        match self.mapped.get(model) {
            Some(paths) => Cow::Borrowed(&paths[op.index()]),
            None => Cow::Owned(self.format(op, model)),
        }
    }

    /// The model listing path (`{base}/models?api-version=...`), which names no deployment.
    pub fn models_path(&self) -> String {
        format!("{}/models{}", self.base, self.query)
    }

    fn format(&self, op: RequestType, deployment: &str) -> String {
        format!(
            "{}/deployments/{}{}{}",
            self.base,
            encode_component(deployment),
            openai::operation_path(op),
            self.query
        )
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a model name sent by a
/// client cannot add path segments or a query to the upstream URL.
fn encode_component(s: &str) -> Cow<'_, str> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if s.bytes().all(plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if plain(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// Normalises an Azure OpenAI error body into a [`ProviderError`].
///
/// Azure answers in OpenAI's shape, usually with a `code` (`DeploymentNotFound`,
/// `content_filter`, `429`) and often without a `type`; its API gateway answers
/// `{"statusCode": 401, "message": ...}`. Both are OpenAI-parsable; a missing type is filled
/// from the code so the client still learns what kind of error it was.
pub fn parse_error(status: u16, body: &[u8]) -> ProviderError {
    let mut e = openai::parse_error(status, body);
    if e.kind.is_none()
        && let Some(code) = e
            .code
            .as_deref()
            .filter(|c| !c.bytes().all(|b| b.is_ascii_digit()))
    {
        e.kind = Some(code.to_string());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> DeploymentPaths {
        let mut d = BTreeMap::new();
        d.insert("gpt-4o".to_string(), "prod-gpt4o".to_string());
        d.insert("blank".to_string(), " ".to_string());
        DeploymentPaths::new("/openai", &d, Some("2024-06-01"))
    }

    #[test]
    fn mapped_models_use_their_deployment() {
        let p = paths();
        let chat = p.path(RequestType::ChatCompletion, "gpt-4o");
        assert!(matches!(chat, Cow::Borrowed(_)), "precomputed");
        assert_eq!(
            chat,
            "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-06-01"
        );
        assert_eq!(
            p.path(RequestType::ChatCompletionStream, "gpt-4o"),
            "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-06-01"
        );
        assert_eq!(
            p.path(RequestType::Embedding, "gpt-4o"),
            "/openai/deployments/prod-gpt4o/embeddings?api-version=2024-06-01"
        );
        assert_eq!(
            p.path(RequestType::TextCompletion, "gpt-4o"),
            "/openai/deployments/prod-gpt4o/completions?api-version=2024-06-01"
        );
    }

    #[test]
    fn unmapped_models_are_their_own_deployment() {
        let p = paths();
        assert_eq!(
            p.path(RequestType::ChatCompletion, "my-deploy"),
            "/openai/deployments/my-deploy/chat/completions?api-version=2024-06-01"
        );
        // An empty mapping is no mapping.
        assert_eq!(
            p.path(RequestType::ChatCompletion, "blank"),
            "/openai/deployments/blank/chat/completions?api-version=2024-06-01"
        );
        // A client's model name cannot escape its path segment.
        assert_eq!(
            p.path(RequestType::ChatCompletion, "../x?y=1#z"),
            "/openai/deployments/..%2Fx%3Fy%3D1%23z/chat/completions?api-version=2024-06-01"
        );
        assert_eq!(
            p.path(RequestType::ListModels, "anything"),
            "/openai/models?api-version=2024-06-01"
        );
    }

    #[test]
    fn default_version_and_prefixed_endpoint() {
        let p = DeploymentPaths::new("/proxy/openai/", &BTreeMap::new(), None);
        assert_eq!(
            p.path(RequestType::ChatCompletion, "d"),
            format!(
                "/proxy/openai/deployments/d/chat/completions?api-version={DEFAULT_API_VERSION}"
            )
        );
        let blank = DeploymentPaths::new("/openai", &BTreeMap::new(), Some("  "));
        assert!(blank.models_path().ends_with(DEFAULT_API_VERSION));
    }

    #[test]
    fn azure_error_bodies() {
        let e = parse_error(
            404,
            br#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#,
        );
        assert_eq!(e.status, 404);
        assert_eq!(e.code.as_deref(), Some("DeploymentNotFound"));
        assert_eq!(e.kind.as_deref(), Some("DeploymentNotFound"));
        assert!(e.message.starts_with("The API deployment"));

        let filtered = parse_error(
            400,
            br#"{"error":{"message":"The response was filtered","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#,
        );
        assert_eq!(filtered.code.as_deref(), Some("content_filter"));
        assert_eq!(filtered.kind.as_deref(), Some("content_filter"));
        assert_eq!(filtered.param, Some(serde_json::json!("prompt")));

        let limited = parse_error(
            429,
            br#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}}"#,
        );
        assert_eq!(limited.code.as_deref(), Some("429"));
        assert!(limited.kind.is_none(), "a numeric code is no type");

        let gateway = parse_error(
            401,
            br#"{"statusCode":401,"message":"Access denied due to invalid subscription key."}"#,
        );
        assert_eq!(
            gateway.message,
            "Access denied due to invalid subscription key."
        );
    }
}
