//! The admin thread's state and the one write path every change takes.
//!
//! ```text
//! handler: read the stored sections, build the changed ones (typed, references kept)
//!  -> commit: assemble the whole document, parse + resolve + validate it   (400 naming the field)
//!          -> compile a new route table                                   (400)
//!          -> persist the changed sections in ONE LMDB transaction        (500, nothing published)
//!          -> publish the table: every core switches at its next request
//! ```
//!
//! Only the admin thread runs this, one request at a time, so a read-modify-write cannot
//! interleave with another.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::auth::{AuthConfig, AuthState, Credentials};
use super::response::{AdminError, AdminReply};
use super::routes::RouteId;
use super::{client_config, keys, logs, openapi, plugins, providers, proxy_config, session};
use crate::config::snapshot::Publisher;
use crate::config::{self, GlobalProxyConfig, JsonPath, ProviderConfig, Section};
use crate::logging::Logging;
use crate::routing::table::RouteTable;
use crate::store::sections::{self, PROXY, provider_of, provider_section};
use crate::store::{SectionWrite, Store, StoreContents};

/// One admin request, as the worker hands it over.
#[derive(Debug)]
pub struct Job {
    /// The matched route.
    pub route: RouteId,
    /// Served without credentials.
    pub public: bool,
    /// Path parameters, in pattern order.
    pub params: Vec<String>,
    /// The query string.
    pub query: Option<String>,
    /// The request body.
    pub body: Bytes,
    /// Credentials the request carried.
    pub creds: Credentials,
    /// The client reached us over HTTPS (`X-Forwarded-Proto: https`): cookies get `Secure`.
    pub https: bool,
}

/// What the admin thread owns.
pub struct AdminCore {
    store: Option<Store>,
    contents: StoreContents,
    publisher: Arc<Publisher<RouteTable>>,
    workers: usize,
    auth: AuthState,
    restart_reasons: Vec<String>,
    plugins: plugins::PluginRuntime,
    logs: Option<Arc<Logging>>,
}

impl AdminCore {
    /// State over `contents` (already in `store`, if there is one), publishing to `publisher`.
    pub fn new(
        store: Option<Store>,
        contents: StoreContents,
        publisher: Arc<Publisher<RouteTable>>,
        workers: usize,
        auth: AuthState,
        plugins: plugins::PluginRuntime,
    ) -> Self {
        Self {
            store,
            contents,
            publisher,
            workers,
            auth,
            restart_reasons: Vec::new(),
            plugins,
            logs: None,
        }
    }

    /// Serves the request log (`/api/logs`) from `logs`.
    pub fn set_logs(&mut self, logs: Arc<Logging>) {
        self.logs = Some(logs);
    }

    /// The request log, when logging is on.
    pub fn logs(&self) -> Option<&Arc<Logging>> {
        self.logs.as_ref()
    }

    /// Answers one request.
    pub fn handle(&mut self, job: &Job) -> AdminReply {
        if !job.public
            && let Err(e) = self.auth.check(&job.creds)
        {
            return e.into();
        }
        let result = match job.route {
            RouteId::ListProviders => providers::list(self),
            RouteId::CreateProvider => providers::create(self, job),
            RouteId::GetProvider => providers::get(self, job),
            RouteId::UpdateProvider => providers::update(self, job),
            RouteId::DeleteProvider => providers::delete(self, job),
            RouteId::ListKeys => keys::list(self, job),
            RouteId::CreateKey => keys::create(self, job),
            RouteId::GetKey => keys::get(self, job),
            RouteId::UpdateKey => keys::update(self, job),
            RouteId::DeleteKey => keys::delete(self, job),
            RouteId::GetProxyConfig => proxy_config::get(self),
            RouteId::UpdateProxyConfig => proxy_config::update(self, job),
            RouteId::GetConfig => client_config::get(self),
            RouteId::UpdateConfig => client_config::update(self, job),
            RouteId::Version => Ok(AdminReply::ok(&format!("v{}", env!("CARGO_PKG_VERSION")))),
            RouteId::Login => session::login(self, job),
            RouteId::Logout => session::logout(self, job),
            RouteId::IsAuthEnabled => session::is_auth_enabled(self, job),
            RouteId::OpenApi => Ok(openapi::reply()),
            RouteId::ListPlugins => plugins::list(self),
            RouteId::CreatePlugin => plugins::create(self, job),
            RouteId::GetPlugin => plugins::get(self, job),
            RouteId::UpdatePlugin => plugins::update(self, job),
            RouteId::DeletePlugin => plugins::delete(self, job),
            RouteId::ListLogs => logs::list(self, job),
            RouteId::LogStats => logs::stats(self, job),
            RouteId::DroppedLogs => logs::dropped(self),
            RouteId::GetLog => logs::get(self, job),
            RouteId::DeleteLogs => logs::delete(self, job),
            // The credentials were checked above.
            RouteId::InferenceAuth => Ok(AdminReply::ok(&serde_json::json!({"authorized": true}))),
        };
        result.unwrap_or_else(AdminReply::from)
    }

    /// The table every core serves now.
    pub fn table(&self) -> Arc<RouteTable> {
        self.publisher.load().1
    }

    /// Whether writes survive a restart (`config_store.enabled`).
    pub fn persistent(&self) -> bool {
        self.store.is_some()
    }

    /// The store directory, when there is a store.
    pub fn store_path(&self) -> Option<&std::path::Path> {
        self.store.as_ref().map(Store::path)
    }

    /// A stored section.
    pub fn section(&self, name: &str) -> Option<&Value> {
        self.contents.sections.get(name)
    }

    /// The hash of `config.json`'s version of a section, if the file seeded it.
    pub fn file_hash(&self, section: &str) -> Option<&str> {
        self.contents
            .hashes
            .get(section)
            .map(|h| h.split('|').next().unwrap_or(h))
    }

    /// Names of every stored provider, sorted.
    pub fn provider_names(&self) -> Vec<String> {
        self.contents
            .sections
            .keys()
            .filter_map(|s| provider_of(s).map(str::to_string))
            .collect()
    }

    /// A stored provider, decoded with references unresolved and key ids assigned.
    pub fn provider(&self, name: &str) -> Result<Option<ProviderConfig>, AdminError> {
        let Some(v) = self.section(&provider_section(name)) else {
            return Ok(None);
        };
        let mut pc = decode_provider(v.clone(), name)?;
        pc.assign_key_ids(name);
        Ok(Some(pc))
    }

    /// The global proxy.
    pub fn proxy(&self) -> GlobalProxyConfig {
        proxy_of(&self.contents)
    }

    /// The admin credentials and sessions.
    pub fn auth(&self) -> &AuthState {
        &self.auth
    }

    /// The admin credentials and sessions, for changes.
    pub fn auth_mut(&mut self) -> &mut AuthState {
        &mut self.auth
    }

    /// Replaces the credentials once their section is committed.
    pub fn set_auth(&mut self, config: AuthConfig) {
        self.auth.set_config(config);
    }

    /// Settings changed since start that only take effect after a restart.
    pub fn restart_reasons(&self) -> &[String] {
        &self.restart_reasons
    }

    /// Records settings that need a restart.
    pub fn add_restart_reasons(&mut self, reasons: &[String]) {
        for r in reasons {
            if !self.restart_reasons.contains(r) {
                self.restart_reasons.push(r.clone());
            }
        }
    }

    /// The running plugins and their load state.
    pub fn plugins(&self) -> &plugins::PluginRuntime {
        &self.plugins
    }

    /// The running plugins and their load state, for changes.
    pub fn plugins_mut(&mut self) -> &mut plugins::PluginRuntime {
        &mut self.plugins
    }

    /// Persists `writes` (when there is a store) and applies them to the in-memory copy,
    /// without rebuilding the route table: for sections no route depends on (plugins).
    pub fn persist(&mut self, writes: Vec<SectionWrite>) -> Result<(), AdminError> {
        if let Some(store) = &self.store {
            store.apply(&writes)?;
        }
        self.contents.apply(&writes);
        Ok(())
    }

    /// Validates, compiles, persists and publishes the config with `writes` applied; on any
    /// error nothing is stored or published.
    pub fn commit(&mut self, writes: Vec<SectionWrite>) -> Result<(), AdminError> {
        let mut next = self.contents.clone();
        next.apply(&writes);
        let (table, warnings) = build_table(&next, self.workers)?;
        if let Some(store) = &self.store {
            store.apply(&writes)?;
        }
        self.contents = next;
        for w in &warnings {
            tracing::debug!("config after admin write: {w}");
        }
        self.publisher.publish(Arc::new(table));
        Ok(())
    }

    /// The reply to a successful write: in memory-only mode the body says the change is lost on
    /// restart (and a header says so for bodies that are not objects).
    pub fn written(&self, mut body: Value) -> AdminReply {
        if self.persistent() {
            return AdminReply::ok(&body);
        }
        if let Value::Object(m) = &mut body {
            m.insert(
                "warning".to_string(),
                Value::String(MEMORY_ONLY.to_string()),
            );
        }
        AdminReply::ok(&body).with_header("x-ringway-config-persisted", "false".into())
    }
}

/// What memory-only writes are told.
pub const MEMORY_ONLY: &str = "config_store is disabled (config_store.enabled = false): this \
                               change is applied in memory only and is lost on restart";

/// Decodes a provider section or body with the path it has in the config.
pub fn decode_provider(v: Value, name: &str) -> Result<ProviderConfig, AdminError> {
    let path = JsonPath::root().key("providers").key(name);
    Ok(ProviderConfig::decode(v, &path, &mut Vec::new())?)
}

/// The global proxy stored in `contents` (Bifrost's default when none).
pub fn proxy_of(contents: &StoreContents) -> GlobalProxyConfig {
    contents
        .sections
        .get(PROXY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_else(GlobalProxyConfig::disabled)
}

/// Parses, resolves and validates the document the sections make, and compiles it.
pub fn build_table(
    contents: &StoreContents,
    workers: usize,
) -> Result<(RouteTable, Vec<String>), AdminError> {
    let doc = sections::assemble(&contents.sections);
    let bytes = serde_json::to_vec(&doc)
        .map_err(|e| AdminError::Internal(format!("cannot encode config: {e}")))?;
    let loaded = config::parse(&bytes)?;
    let proxy = proxy_of(contents);
    let table = RouteTable::build_with_proxy(loaded.config, workers, Some(&proxy))?;
    Ok((table, loaded.warnings))
}

/// Parses a request body as a JSON object (400 naming the problem otherwise).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AdminError::BadRequest(
            "invalid request payload: the body is empty (expected a JSON object)".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(AdminError::BadRequest(format!(
            "invalid request payload: expected a JSON object, got {}",
            json_type(&other)
        ))),
        Err(e) => Err(AdminError::BadRequest(format!(
            "invalid request payload: invalid JSON: {e}"
        ))),
    }
}

/// "a string", "an array", ... for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sections::split;
    use serde_json::json;

    /// Providers are stored in their typed, serialised form: it must read back identically.
    #[test]
    fn stored_provider_form_round_trips() {
        let raw = json!({
            "keys": [
                {"name": "a", "value": "sk-literal-0123456789", "models": ["gpt-4o"], "weight": 0.5,
                 "blacklisted_models": ["gpt-3.5"], "enabled": false, "use_for_batch_api": true,
                 "azure_key_config": {"endpoint": "env.AZ", "deployments": {"gpt-4o": "prod"},
                                      "api_version": "2024-10-21"}},
                {"value": "env.SECOND_KEY", "models": ["*"], "description": "kept verbatim"}
            ],
            "network_config": {"base_url": "http://10.0.0.1:8000/v1", "extra_headers": {"x-a": "1"},
                               "default_request_timeout_in_seconds": 12, "max_retries": 3,
                               "retry_backoff_initial": "250ms", "retry_backoff_max": 4000,
                               "enforce_http2": true},
            "concurrency_and_buffer_size": {"concurrency": 7, "buffer_size": 9},
            "proxy_config": {"type": "socks5", "url": "socks5://p:1080", "username": "u", "password": "env.PROXY_PW"},
            "send_back_raw_response": true,
            "store_raw_request_response": true
        });
        let mut first = decode_provider(raw, "openai").expect("decode");
        first.assign_key_ids("openai");
        let stored = serde_json::to_value(&first).expect("encode");
        let mut second = decode_provider(stored.clone(), "openai").expect("decode stored");
        second.assign_key_ids("openai");
        assert_eq!(first, second);
        assert_eq!(serde_json::to_value(&second).expect("encode"), stored);
        assert_eq!(
            stored["keys"][1]["value"], "env.SECOND_KEY",
            "references stay references"
        );
    }

    #[test]
    fn build_table_uses_the_stored_global_proxy() {
        let doc = json!({"providers": {"openai": {"keys": [{"value": "sk-1", "models": ["*"]}]}}});
        let Value::Object(doc) = doc else {
            panic!("object")
        };
        let mut contents = StoreContents {
            sections: split(&doc),
            ..StoreContents::default()
        };
        let (table, _) = build_table(&contents, 1).expect("table");
        let direct = table.provider("openai").expect("openai").endpoint(None);
        assert!(direct.target.proxy.is_direct());
        contents.sections.insert(
            PROXY.to_string(),
            json!({"enabled": true, "type": "http", "url": "http://10.1.1.1:3128", "enable_for_inference": true}),
        );
        let (table, _) = build_table(&contents, 1).expect("table");
        let proxied = table.provider("openai").expect("openai").endpoint(None);
        assert!(!proxied.target.proxy.is_direct());
        contents.sections.insert(
            PROXY.to_string(),
            json!({"enabled": true, "type": "http", "url": "http://10.1.1.1:3128",
                   "enable_for_inference": true, "no_proxy": ".openai.com"}),
        );
        let (table, _) = build_table(&contents, 1).expect("table");
        assert!(
            table
                .provider("openai")
                .expect("openai")
                .endpoint(None)
                .target
                .proxy
                .is_direct()
        );

        // A provider's own proxy wins; type "none" inherits (Bifrost's UI default).
        contents.sections.insert(
            PROXY.to_string(),
            json!({"enabled": true, "type": "http", "url": "http://10.1.1.1:3128", "enable_for_inference": true}),
        );
        for (own, want_socks) in [
            (
                json!({"type": "socks5", "url": "socks5://10.2.2.2:1080"}),
                true,
            ),
            (json!({"type": "none"}), false),
        ] {
            contents.sections.insert(
                "providers/openai".into(),
                json!({"keys": [{"value": "sk-1", "models": ["*"]}], "proxy_config": own}),
            );
            let (table, _) = build_table(&contents, 1).expect("table");
            let route = &table
                .provider("openai")
                .expect("openai")
                .endpoint(None)
                .target
                .proxy;
            assert!(!route.is_direct());
            assert_eq!(
                matches!(route, crate::upstream::ProxyRoute::Socks5 { .. }),
                want_socks,
                "{route:?}"
            );
        }
    }
}
