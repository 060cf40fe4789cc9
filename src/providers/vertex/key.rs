//! One key's compiled Vertex settings: project, region, deployments and token source.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Publisher, ServiceAccount, TokenSource, VertexAuthError};
use crate::config::VertexKeyConfig;
use crate::error::RequestType;

/// Environment variable naming a service-account file (Application Default Credentials).
const ADC_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// A Vertex key ready for requests.
#[derive(Debug, Clone)]
pub struct VertexKey {
    /// Google Cloud project id.
    pub project: String,
    /// Region (`us-central1`, `global`, ...).
    pub region: String,
    deployments: BTreeMap<String, String>,
    /// The token source, or why this key cannot authenticate (answered per request).
    auth: Result<Arc<TokenSource>, VertexAuthError>,
}

impl VertexKey {
    /// Compiles a key; an empty `auth_credentials` falls back to the service-account file named
    /// by `GOOGLE_APPLICATION_CREDENTIALS`, as Google's default credentials do.
    pub fn new(cfg: Option<&VertexKeyConfig>) -> VertexKey {
        let read_file = |p: &str| std::fs::read_to_string(p).map_err(|e| e.to_string());
        Self::with_env(cfg, &|n| std::env::var(n).ok(), &read_file)
    }

    /// Like [`VertexKey::new`] with an explicit environment and file reader (for tests).
    pub fn with_env(
        cfg: Option<&VertexKeyConfig>,
        env: &dyn Fn(&str) -> Option<String>,
        read_file: &dyn Fn(&str) -> Result<String, String>,
    ) -> VertexKey {
        let value = |v: Option<&crate::config::EnvVar>| {
            v.map(|e| e.value().trim().to_string()).unwrap_or_default()
        };
        let creds = value(cfg.and_then(|c| c.auth_credentials.as_ref()));
        let json = if creds.is_empty() {
            match env(ADC_ENV).filter(|p| !p.trim().is_empty()) {
                Some(path) => read_file(path.trim()).map_err(|e| {
                    VertexAuthError::Credentials(format!("reading {ADC_ENV} file {path:?}: {e}"))
                }),
                None => Err(VertexAuthError::Credentials(format!(
                    "auth_credentials is empty and {ADC_ENV} is not set (the metadata server \
                     and gcloud user credentials are not supported)"
                ))),
            }
        } else {
            Ok(creds)
        };
        let auth = json
            .and_then(|j| ServiceAccount::from_json(&j))
            .and_then(TokenSource::new)
            .map(Arc::new);
        VertexKey {
            project: value(cfg.map(|c| &c.project_id)),
            region: value(cfg.map(|c| &c.region)),
            deployments: cfg.map(|c| c.deployments.clone()).unwrap_or_default(),
            auth,
        }
    }

    /// Fetches tokens through `proxy`, the route the provider's requests take (called while the
    /// route table is built, before the source is shared).
    pub fn route_tokens_via(&mut self, proxy: &crate::upstream::ProxyRoute) {
        if let Ok(source) = &mut self.auth
            && let Some(source) = Arc::get_mut(source)
        {
            source.set_proxy(proxy.clone());
        }
    }

    /// The model id sent for `model`: its deployment when the key maps it.
    pub fn model_id<'m>(&'m self, model: &'m str) -> &'m str {
        self.deployments.get(model).map_or(model, String::as_str)
    }

    /// The publisher of `model` as this key would send it.
    pub fn publisher(&self, model: &str) -> Publisher {
        Publisher::of(self.model_id(model))
    }

    /// The token source, or the error every request on this key gets.
    pub fn auth(&self) -> Result<&Arc<TokenSource>, VertexAuthError> {
        self.auth.as_ref().map_err(Clone::clone)
    }

    /// The request path for `model` and `op` below `base_path`, on `publisher`'s route (the one
    /// whose format the body was encoded in).
    pub fn path(
        &self,
        base_path: &str,
        model: &str,
        publisher: Publisher,
        op: RequestType,
    ) -> Option<String> {
        let id = self.model_id(model);
        super::model_path(base_path, &self.project, &self.region, publisher, id, op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EnvVar;

    fn cfg(creds: &str) -> VertexKeyConfig {
        VertexKeyConfig {
            project_id: EnvVar::literal("p"),
            project_number: None,
            region: EnvVar::literal("us-east5"),
            auth_credentials: Some(EnvVar::literal(creds)),
            deployments: [("alias".to_string(), "claude-x@1".to_string())].into(),
            other: Default::default(),
        }
    }

    #[test]
    fn empty_credentials_fall_back_to_the_adc_file() {
        let none = |_: &str| None;
        let no_file = |_: &str| Err("unreadable".to_string());
        let k = VertexKey::with_env(Some(&cfg("")), &none, &no_file);
        let e = k.auth().expect_err("no credentials");
        assert!(
            e.to_string().contains("GOOGLE_APPLICATION_CREDENTIALS"),
            "{e}"
        );
        let env = |n: &str| (n == ADC_ENV).then(|| "/sa.json".to_string());
        let read = |p: &str| {
            assert_eq!(p, "/sa.json");
            Ok(r#"{"type":"external_account"}"#.to_string())
        };
        let k = VertexKey::with_env(Some(&cfg("")), &env, &read);
        // The file was read: its (unsupported) type is what is reported.
        assert!(
            k.auth()
                .expect_err("type")
                .to_string()
                .contains("external_account")
        );
    }

    #[test]
    fn deployments_choose_model_and_publisher() {
        let none = |_: &str| None;
        let no_file = |_: &str| Err(String::new());
        let k = VertexKey::with_env(Some(&cfg("{}")), &none, &no_file);
        assert_eq!(k.model_id("alias"), "claude-x@1");
        assert_eq!(k.publisher("alias"), Publisher::Anthropic);
        assert_eq!(
            k.path(
                "/v1",
                "alias",
                k.publisher("alias"),
                RequestType::ChatCompletion
            )
            .as_deref(),
            Some(
                "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-x@1:rawPredict"
            )
        );
        assert_eq!(k.model_id("gemini-2.5-pro"), "gemini-2.5-pro");
    }
}
