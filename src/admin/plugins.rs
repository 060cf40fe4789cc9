//! `/api/plugins`: the stored plugin rows, the running [`PluginSet`], and the one place they are
//! changed together.
//!
//! ```text
//! POST / PUT (enabled)   load the library (private copy, ABI check, config_new)   500, no change
//!                     -> persist the rows (one LMDB txn, section `top/plugins`)   500, no change
//!                     -> publish the new set: each core builds its instances at its next
//!                        request; requests in flight finish on the old set, which keeps the
//!                        old library mapped until the last of them is done
//! PUT (enabled false), DELETE   persist, then publish the set without the plugin
//! ```
//!
//! The stored row and the running set never disagree: a load failure changes neither.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::response::{AdminError, AdminReply};
use super::state::{AdminCore, Job, json_object, json_type};
use crate::config::EnvVar;
use crate::config::snapshot::Publisher;
use crate::plugins::{LoadedPlugin, Placement, PluginError, PluginSet, PluginSpec, SetEntry};
use crate::store::SectionWrite;
use crate::store::clock::rfc3339;
use crate::store::hash::SectionHasher;
use crate::store::sections::TOP_PREFIX;

/// The store section holding the rows (`plugins[]` of `config.json`).
pub fn section() -> String {
    format!("{TOP_PREFIX}plugins")
}

/// One stored plugin: the `plugins[]` entry of `config.json` plus the row metadata Bifrost's
/// table has (`id`, `version`, timestamps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRow {
    /// Unique name (the key of `/api/plugins/{name}`).
    pub name: String,
    /// Whether the plugin runs.
    #[serde(default)]
    pub enabled: bool,
    /// Library path; absent for built-in plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Plugin-specific config (secrets may be `env.NAME` references).
    #[serde(default)]
    pub config: Value,
    /// Placement group (`pre_builtin`, `builtin`, `post_builtin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// Position within the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    /// Row id (assigned on first write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The plugin entry's `version` (Bifrost's int16, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i16>,
    /// When the row was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the row last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl PluginRow {
    /// The entry as the plugin host takes it.
    fn spec(&self) -> PluginSpec {
        PluginSpec {
            name: self.name.clone(),
            enabled: self.enabled,
            path: self.path.clone(),
            config: self.config.clone(),
            placement: self.placement.as_deref().and_then(Placement::parse),
            order: self.order,
        }
    }
}

/// Where a plugin stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadState {
    /// Loaded and in the running set.
    Active,
    /// Stored with `enabled: false`.
    Disabled,
    /// Enabled, but loading failed at start-up (the message says why).
    Error(String),
}

/// The running plugins and what happened to each stored row.
pub struct PluginRuntime {
    publisher: Arc<Publisher<PluginSet>>,
    states: BTreeMap<String, LoadState>,
    hasher: SectionHasher,
}

impl PluginRuntime {
    /// Loads every enabled custom plugin of `rows` (blocking: before the workers start) and
    /// publishes the set. A plugin that fails to load is logged, reported with status `error`
    /// by the API, and left out: the gateway still starts, as Bifrost's loader did, and the
    /// operator can fix the row with `PUT /api/plugins/{name}`.
    pub fn boot(rows: &[PluginRow], hasher: SectionHasher) -> (Self, Vec<String>) {
        let mut entries = Vec::new();
        let mut states = BTreeMap::new();
        let mut warnings = Vec::new();
        for row in rows {
            let state = if !row.enabled {
                LoadState::Disabled
            } else {
                match load(row) {
                    Ok(entry) => {
                        entries.push(entry);
                        LoadState::Active
                    }
                    Err(msg) => {
                        warnings.push(format!("plugins ({}): {msg}; not loaded", row.name));
                        LoadState::Error(msg)
                    }
                }
            };
            states.insert(row.name.clone(), state);
        }
        let publisher = Arc::new(Publisher::new(Arc::new(PluginSet::new(entries))));
        (
            PluginRuntime {
                publisher,
                states,
                hasher,
            },
            warnings,
        )
    }

    /// The publisher the workers read their plugin set from.
    pub fn publisher(&self) -> &Arc<Publisher<PluginSet>> {
        &self.publisher
    }

    /// The set every core runs now.
    pub fn set(&self) -> Arc<PluginSet> {
        self.publisher.load().1
    }

    fn state(&self, name: &str) -> LoadState {
        self.states
            .get(name)
            .cloned()
            .unwrap_or(LoadState::Disabled)
    }
}

/// Loads `row`'s library and makes its set entry.
fn load(row: &PluginRow) -> Result<SetEntry, String> {
    let spec = row.spec();
    let Some(path) = spec.path.as_deref() else {
        return Err(format!(
            "{} is a built-in plugin, which ringway does not provide yet",
            row.name
        ));
    };
    let plugin = LoadedPlugin::load(path, &spec.config).map_err(|e: PluginError| e.to_string())?;
    Ok(SetEntry::new(
        spec.name,
        plugin,
        spec.placement.unwrap_or_default(),
        spec.order.unwrap_or(0),
    ))
}

/// The stored rows (in registration order). Entries that are not objects with a name are
/// skipped: config validation reports them.
pub fn rows(core: &AdminCore) -> Vec<PluginRow> {
    rows_of(core.section(&section()))
}

/// Decodes the `plugins` section.
pub fn rows_of(v: Option<&Value>) -> Vec<PluginRow> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| serde_json::from_value::<PluginRow>(i.clone()).ok())
        .collect()
}

/// `GET /api/plugins`: `{plugins: [...], count}`.
pub fn list(core: &AdminCore) -> Result<AdminReply, AdminError> {
    let set = core.plugins().set();
    let plugins: Vec<Value> = rows(core)
        .iter()
        .map(|row| {
            let mut v = row_json(core, row);
            if let Value::Object(m) = &mut v {
                m.insert("status".into(), status_json(core, &set, row));
                let actual = set
                    .get(&row.name)
                    .map_or(row.name.as_str(), |e| e.plugin.name());
                m.insert("actualName".into(), Value::String(actual.to_string()));
            }
            v
        })
        .collect();
    Ok(AdminReply::ok(
        &json!({"count": plugins.len(), "plugins": plugins}),
    ))
}

/// `GET /api/plugins/{name}`.
pub fn get(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job)?;
    let row = find(core, name)?;
    let set = core.plugins().set();
    let mut v = row_json(core, &row);
    if let Value::Object(m) = &mut v {
        m.insert("status".into(), status_json(core, &set, &row));
    }
    Ok(AdminReply::ok(&v))
}

/// `POST /api/plugins`: 201, 409 when the name exists, 500 when the library does not load
/// (nothing is stored then).
pub fn create(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let body = json_object(&job.body)?;
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None => {
            return Err(AdminError::BadRequest(
                "name: plugin name is required".into(),
            ));
        }
        Some(other) => {
            return Err(AdminError::BadRequest(format!(
                "name: expected a string, got {}",
                json_type(other)
            )));
        }
    };
    let mut all = rows(core);
    if all.iter().any(|r| r.name == name) {
        return Err(AdminError::Conflict(format!(
            "plugin {name} already exists"
        )));
    }
    let now = rfc3339(SystemTime::now());
    let mut row = PluginRow {
        name,
        enabled: false,
        path: None,
        config: Value::Object(Map::new()),
        placement: None,
        order: None,
        id: Some(all.iter().filter_map(|r| r.id).max().unwrap_or(0) + 1),
        version: Some(1),
        created_at: Some(now.clone()),
        updated_at: Some(now),
    };
    apply_body(&mut row, &body, None)?;
    let entry = if row.enabled {
        Some(load_for_api(&row)?)
    } else {
        None
    };
    all.push(row.clone());
    write_rows(core, &all)?;
    let set = core.plugins().set();
    let next = match entry {
        Some(e) => set.with_entry(e),
        None => set.without(&row.name),
    };
    publish(core, &row, next);
    let mut reply = AdminReply::json(
        201,
        &json!({"message": "Plugin created successfully", "plugin": row_json(core, &row)}),
    );
    if !core.persistent() {
        reply = reply.with_header("x-ringway-config-persisted", "false".into());
    }
    Ok(reply)
}

/// `PUT /api/plugins/{name}`: `{enabled, config, path}` (and `placement`, `order`); omitted
/// fields keep their stored values, redacted secrets in `config` keep the stored secret.
/// Enabled: the plugin is reloaded with the new settings; disabled: it stops.
pub fn update(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job)?.to_string();
    let body = json_object(&job.body)?;
    let mut all = rows(core);
    let Some(idx) = all.iter().position(|r| r.name == name) else {
        return Err(AdminError::NotFound(format!("plugin {name} not found")));
    };
    let old = all[idx].clone();
    let mut row = old.clone();
    apply_body(&mut row, &body, Some(&old))?;
    row.updated_at = Some(rfc3339(SystemTime::now()));
    let entry = if row.enabled {
        Some(load_for_api(&row)?)
    } else {
        None
    };
    all[idx] = row.clone();
    write_rows(core, &all)?;
    let set = core.plugins().set();
    let next = match entry {
        Some(e) => set.with_entry(e),
        None => set.without(&name),
    };
    publish(core, &row, next);
    let message = if row.enabled {
        "Plugin updated successfully"
    } else {
        "Plugin disabled successfully"
    };
    Ok(core.written(json!({"message": message, "plugin": row_json(core, &row)})))
}

/// `DELETE /api/plugins/{name}`: stops the plugin and removes its row.
pub fn delete(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job)?.to_string();
    let mut all = rows(core);
    let before = all.len();
    all.retain(|r| r.name != name);
    if all.len() == before {
        return Err(AdminError::NotFound(format!("plugin {name} not found")));
    }
    write_rows(core, &all)?;
    let next = core.plugins().set().without(&name);
    let runtime = core.plugins_mut();
    runtime.states.remove(&name);
    runtime.publisher.publish(Arc::new(next));
    Ok(core.written(json!({"message": "Plugin deleted successfully"})))
}

fn param(job: &Job) -> Result<&str, AdminError> {
    job.params
        .first()
        .map(String::as_str)
        .ok_or_else(|| AdminError::Internal("route without a plugin name".into()))
}

fn find(core: &AdminCore, name: &str) -> Result<PluginRow, AdminError> {
    rows(core)
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| AdminError::NotFound(format!("plugin {name} not found")))
}

fn load_for_api(row: &PluginRow) -> Result<SetEntry, AdminError> {
    load(row).map_err(|msg| {
        AdminError::Internal(format!(
            "failed to load plugin {}: {msg} (nothing was changed)",
            row.name
        ))
    })
}

fn write_rows(core: &mut AdminCore, all: &[PluginRow]) -> Result<(), AdminError> {
    let v = serde_json::to_value(all)
        .map_err(|e| AdminError::Internal(format!("cannot encode plugins: {e}")))?;
    core.persist(vec![SectionWrite::Put(section(), v)])
}

fn publish(core: &mut AdminCore, row: &PluginRow, next: PluginSet) {
    let state = if row.enabled {
        LoadState::Active
    } else {
        LoadState::Disabled
    };
    let runtime = core.plugins_mut();
    runtime.states.insert(row.name.clone(), state);
    runtime.publisher.publish(Arc::new(next));
    tracing::info!(plugin = %row.name, enabled = row.enabled, "plugin set published");
}

/// Applies the fields a POST or PUT body gives; `old` restores redacted secrets.
fn apply_body(
    row: &mut PluginRow,
    body: &Map<String, Value>,
    old: Option<&PluginRow>,
) -> Result<(), AdminError> {
    let bad = |field: &str, want: &str, got: &Value| {
        AdminError::BadRequest(format!("{field}: expected {want}, got {}", json_type(got)))
    };
    if let Some(v) = body.get("enabled") {
        row.enabled = v.as_bool().ok_or_else(|| bad("enabled", "a boolean", v))?;
    }
    match body.get("path") {
        None => {}
        Some(Value::Null) => row.path = None,
        Some(Value::String(p)) if p.trim().is_empty() => row.path = None,
        Some(Value::String(p)) => row.path = Some(p.clone()),
        Some(v) => return Err(bad("path", "a string", v)),
    }
    match body.get("config") {
        None => {}
        Some(Value::Null) => row.config = Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => {
            let mut config = v.clone();
            if let Some(old) = old {
                restore_secrets(&old.config, &mut config);
            }
            row.config = config;
        }
        Some(v) => return Err(bad("config", "an object", v)),
    }
    match body.get("placement") {
        None | Some(Value::Null) => {}
        Some(Value::String(p)) if Placement::parse(p).is_some() => {
            row.placement = Some(p.clone());
        }
        Some(v) => {
            return Err(AdminError::BadRequest(format!(
                "placement: expected one of pre_builtin, builtin, post_builtin, got {v}"
            )));
        }
    }
    match body.get("order") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let order = v
                .as_i64()
                .and_then(|o| i32::try_from(o).ok())
                .ok_or_else(|| bad("order", "an integer", v))?;
            row.order = Some(order);
        }
    }
    match body.get("version") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let version = v
                .as_i64()
                .and_then(|o| i16::try_from(o).ok())
                .ok_or_else(|| bad("version", "a 16-bit integer", v))?;
            row.version = Some(version);
        }
    }
    if row.enabled && row.path.is_none() {
        return Err(AdminError::BadRequest(format!(
            "path: {} has no library path, and ringway has no built-in plugin of that name yet",
            row.name
        )));
    }
    Ok(())
}

/// Bifrost's plugin row, with secrets in `config` redacted.
fn row_json(core: &AdminCore, row: &PluginRow) -> Value {
    let hashed = json!({
        "name": row.name, "enabled": row.enabled, "path": row.path, "config": row.config,
        "placement": row.placement, "order": row.order, "version": row.version,
    });
    json!({
        "id": row.id.unwrap_or(0),
        "name": row.name,
        "enabled": row.enabled,
        "config": redact_config(&row.config),
        "isCustom": row.path.is_some(),
        "path": row.path.clone().unwrap_or_default(),
        "placement": row.placement.as_deref().unwrap_or(Placement::default().as_str()),
        "order": row.order.unwrap_or(0),
        "version": row.version.unwrap_or(1),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "config_hash": core.plugins().hasher.hash(&hashed),
    })
}

/// `{name, status, logs, types}` for a row, plus the failure counters of a running plugin.
fn status_json(core: &AdminCore, set: &PluginSet, row: &PluginRow) -> Value {
    let state = core.plugins().state(&row.name);
    let running = set.get(&row.name);
    let (status, logs) = match (&state, running) {
        (LoadState::Active, Some(_)) => ("active", Vec::new()),
        (LoadState::Error(msg), _) => ("error", vec![msg.clone()]),
        (LoadState::Disabled, _) => ("disabled", Vec::new()),
        (LoadState::Active, None) => ("unloaded", Vec::new()),
    };
    let mut v = json!({"name": row.name, "status": status, "logs": logs, "types": []});
    if let (Some(entry), Value::Object(m)) = (running, &mut v) {
        let p = &entry.plugin;
        m.insert("types".into(), json!(p.types()));
        m.insert("version".into(), json!(p.version()));
        m.insert(
            "abi".into(),
            json!(format!("{}.{}", p.abi_version().0, p.abi_version().1)),
        );
        m.insert("failures".into(), json!(p.failures()));
        m.insert("disabled_instances".into(), json!(p.disabled_instances()));
    }
    v
}

/// Whether a config member's name says it holds a secret.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["key", "secret", "password", "passwd", "token", "credential"]
        .iter()
        .any(|w| n.contains(w))
}

/// `config` with secret-named string members redacted as provider keys are (`env.NAME`
/// references are shown as they are).
pub fn redact_config(config: &Value) -> Value {
    match config {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if is_secret_name(k) => {
                            Value::String(secret(s).redacted())
                        }
                        other => redact_config(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_config).collect()),
        other => other.clone(),
    }
}

fn secret(s: &str) -> EnvVar {
    match s.strip_prefix("env.") {
        Some(name) => EnvVar::from_env_name(name),
        None => EnvVar::literal(s),
    }
}

/// Puts back the stored value wherever `new` sends the redacted form of it.
fn restore_secrets(old: &Value, new: &mut Value) {
    let (Value::Object(o), Value::Object(n)) = (old, new) else {
        return;
    };
    for (k, nv) in n.iter_mut() {
        let Some(ov) = o.get(k) else { continue };
        match (ov, &mut *nv) {
            (Value::String(os), Value::String(ns))
                if is_secret_name(k) && *ns == secret(os).redacted() =>
            {
                *ns = os.clone();
            }
            (Value::Object(_), Value::Object(_)) => restore_secrets(ov, nv),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_redacted_and_restored() {
        let stored = json!({"api_key": "sk-0123456789abcdef0123", "header": "x-a",
                            "nested": {"auth_token": "tok-abcdefghijklmnop"},
                            "password": "env.PLUGIN_PW"});
        let shown = redact_config(&stored);
        assert_eq!(shown["header"], "x-a");
        assert_eq!(shown["api_key"], "sk-0************************0123");
        assert_eq!(
            shown["nested"]["auth_token"],
            "tok-************************mnop"
        );
        assert_eq!(shown["password"], "env.PLUGIN_PW");
        let mut back = shown.clone();
        back["header"] = json!("x-b");
        restore_secrets(&stored, &mut back);
        assert_eq!(back["api_key"], stored["api_key"]);
        assert_eq!(back["nested"]["auth_token"], stored["nested"]["auth_token"]);
        assert_eq!(back["header"], "x-b");
        // A new secret is taken as sent.
        let mut changed = json!({"api_key": "sk-new-value-000000000"});
        restore_secrets(&stored, &mut changed);
        assert_eq!(changed["api_key"], "sk-new-value-000000000");
    }

    #[test]
    fn body_fields_are_typed() {
        let mut row = PluginRow {
            name: "p".into(),
            enabled: false,
            path: Some("/x/p.so".into()),
            config: json!({}),
            placement: None,
            order: None,
            id: Some(1),
            version: Some(1),
            created_at: None,
            updated_at: None,
        };
        let body = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for (b, field) in [
            (json!({"enabled": "yes"}), "enabled"),
            (json!({"config": [1]}), "config"),
            (json!({"path": 3}), "path"),
            (json!({"placement": "middle"}), "placement"),
            (json!({"order": 1.5}), "order"),
        ] {
            let err = apply_body(&mut row.clone(), &body(b), None).expect_err(field);
            assert!(err.to_string().starts_with(field), "{err}");
        }
        apply_body(
            &mut row,
            &body(json!({"enabled": true, "order": -2, "placement": "pre_builtin"})),
            None,
        )
        .expect("valid");
        assert_eq!(
            (row.enabled, row.order, row.placement.as_deref()),
            (true, Some(-2), Some("pre_builtin"))
        );
        let spec = row.spec();
        assert_eq!(spec.placement, Some(Placement::PreBuiltin));
    }
}
