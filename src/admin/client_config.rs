//! `GET/PUT /api/config`: client settings, pricing (framework) settings and admin credentials.
//!
//! What ringway reads per request is applied at once through the route table
//! (`drop_excess_requests`, `max_request_body_size_mb`, and the admin credentials). Settings
//! Bifrost only reads at start are stored and reported in `restart_required`.

use serde_json::{Map, Value, json};

use super::auth::{AuthConfig, AuthInput, Password, hash_password};
use super::response::{AdminError, AdminReply};
use super::state::{AdminCore, Job, json_object, json_type};
use crate::config::{ClientConfig, JsonPath, Section};
use crate::store::SectionWrite;
use crate::store::sections::{AUTH, CLIENT, TOP_PREFIX};

/// Bifrost's default pricing datasheet.
pub const DEFAULT_PRICING_URL: &str = "https://getbifrost.ai/datasheet";
/// Bifrost's default pricing sync interval, in seconds.
pub const DEFAULT_PRICING_SYNC_INTERVAL: i64 = 86_400;

/// The `framework` section.
const FRAMEWORK: &str = "framework";

/// `GET /api/config`.
pub fn get(core: &AdminCore) -> Result<AdminReply, AdminError> {
    let table = core.table();
    let reasons = core.restart_reasons();
    let restart = json!({
        "required": !reasons.is_empty(),
        "reason": restart_text(reasons),
    });
    Ok(AdminReply::ok(&json!({
        "client_config": table.config.client,
        "framework_config": framework_config(core),
        "auth_config": core.auth().config().to_response(),
        "is_db_connected": core.persistent(),
        "is_cache_connected": false,
        "is_logs_connected": core.logs().is_some(),
        "proxy_config": core.proxy().redacted(),
        "restart_required": restart,
        "config_store": {
            "enabled": core.persistent(),
            "type": "lmdb",
            "path": core.store_path().map(|p| p.display().to_string()),
        },
    })))
}

/// `PUT /api/config`: `{client_config?, framework_config?, auth_config?}`; absent blocks are
/// left as they are, a given `client_config` replaces the whole client section.
pub fn update(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let body = json_object(&job.body)?;
    let mut writes = Vec::new();
    let mut reasons = Vec::new();
    if let Some(v) = body.get("client_config").filter(|v| !v.is_null()) {
        let old = core.table().config.client.clone();
        let client = decode_client(v)?;
        reasons = restart_needed(&old, &client);
        let stored = serde_json::to_value(&client)
            .map_err(|e| AdminError::Internal(format!("cannot encode client config: {e}")))?;
        writes.push(SectionWrite::Put(CLIENT.to_string(), stored));
    }
    if let Some(v) = body.get("framework_config").filter(|v| !v.is_null()) {
        writes.push(framework_write(core, v)?);
    }
    let mut auth = None;
    if let Some(v) = body.get("auth_config").filter(|v| !v.is_null()) {
        let next = auth_update(core.auth().config(), v)?;
        writes.push(SectionWrite::Put(AUTH.to_string(), next.to_stored()));
        auth = Some(next);
    }
    core.commit(writes)?;
    if let Some(a) = auth {
        core.set_auth(a);
    }
    core.add_restart_reasons(&reasons);
    let all = core.restart_reasons();
    Ok(core.written(json!({
        "status": "success",
        "message": "configuration updated successfully",
        "restart_required": {
            "required": !all.is_empty(),
            "reason": restart_text(all),
        },
    })))
}

fn decode_client(v: &Value) -> Result<ClientConfig, AdminError> {
    let path = JsonPath::root().key("client_config");
    // Bifrost refuses 0 here; the config loader reads 0 as "default", so check before decoding.
    if let Some(n) = v.get("log_retention_days").and_then(Value::as_i64)
        && n < 1
    {
        return Err(AdminError::BadRequest(format!(
            "{}: log_retention_days must be at least 1, got {n}",
            path.key("log_retention_days")
        )));
    }
    Ok(ClientConfig::decode(v.clone(), &path, &mut Vec::new())?)
}

/// Settings ringway (like Bifrost) only reads at start, by the name Bifrost reports them with.
fn restart_needed(old: &ClientConfig, new: &ClientConfig) -> Vec<String> {
    let mut r = Vec::new();
    let mut check = |changed: bool, what: &str| {
        if changed {
            r.push(what.to_string());
        }
    };
    check(
        old.prometheus_labels != new.prometheus_labels,
        "Prometheus labels",
    );
    check(
        old.allowed_origins != new.allowed_origins,
        "Allowed origins",
    );
    check(
        old.initial_pool_size != new.initial_pool_size,
        "Initial pool size",
    );
    check(old.enable_logging != new.enable_logging, "Logging enabled");
    check(
        old.disable_content_logging != new.disable_content_logging,
        "Content logging",
    );
    check(
        old.logging_headers != new.logging_headers,
        "Logging headers",
    );
    r
}

fn restart_text(reasons: &[String]) -> String {
    if reasons.is_empty() {
        return String::new();
    }
    format!(
        "{} settings have been updated. A restart is required for changes to take full effect.",
        reasons.join(", ")
    )
}

fn framework_config(core: &AdminCore) -> Value {
    let pricing = core
        .section(&format!("{TOP_PREFIX}{FRAMEWORK}"))
        .and_then(|f| f.get("pricing"));
    let url = pricing
        .and_then(|p| p.get("pricing_url"))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_PRICING_URL);
    let interval = pricing
        .and_then(|p| p.get("pricing_sync_interval"))
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_PRICING_SYNC_INTERVAL);
    json!({ "pricing_url": url, "pricing_sync_interval": interval })
}

/// `framework_config: {pricing_url?, pricing_sync_interval?}` into `framework.pricing`.
fn framework_write(core: &AdminCore, v: &Value) -> Result<SectionWrite, AdminError> {
    let Value::Object(fc) = v else {
        return Err(AdminError::BadRequest(format!(
            "framework_config: expected an object, got {}",
            json_type(v)
        )));
    };
    let name = format!("{TOP_PREFIX}{FRAMEWORK}");
    let mut framework = match core.section(&name) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut pricing = match framework.get("pricing") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    match fc.get("pricing_url") {
        None | Some(Value::Null) => {}
        Some(Value::String(u)) => {
            pricing.insert("pricing_url".into(), Value::String(u.clone()));
        }
        Some(other) => {
            return Err(AdminError::BadRequest(format!(
                "framework_config.pricing_url: expected a string, got {}",
                json_type(other)
            )));
        }
    }
    match fc.get("pricing_sync_interval") {
        None | Some(Value::Null) => {}
        Some(n) => match n.as_i64() {
            Some(i) if i > 0 => {
                pricing.insert("pricing_sync_interval".into(), Value::from(i));
            }
            _ => {
                return Err(AdminError::BadRequest(format!(
                    "framework_config.pricing_sync_interval: pricing sync interval must be \
                     greater than 0, got {n}"
                )));
            }
        },
    }
    framework.insert("pricing".into(), Value::Object(pricing));
    Ok(SectionWrite::Put(name, Value::Object(framework)))
}

/// Bifrost's rules: enabling needs a user name and a password; `<redacted>` (or an empty
/// password) keeps the stored one; a new password is hashed.
fn auth_update(current: &AuthConfig, v: &Value) -> Result<AuthConfig, AdminError> {
    let path = JsonPath::root().key("auth_config");
    let input = AuthInput::decode(v, &path)?;
    let mut next = AuthConfig::from_input(
        &AuthInput {
            password: None,
            ..input.clone()
        },
        &crate::config::process_env,
    )?;
    next.password = match &input.password {
        Some(p) if !p.is_from_env() && p.value() == "<redacted>" => current.password.clone(),
        None => current.password.clone(),
        Some(p) => match p.env_name() {
            Some(name) => Password::Env {
                name: name.to_string(),
                value: crate::config::process_env(name).unwrap_or_default(),
            },
            None => Password::Hash(hash_password(p.value())?),
        },
    };
    if next.is_enabled {
        if next.username.value().is_empty() {
            return Err(AdminError::BadRequest(format!(
                "{}: auth username and password must be provided",
                path.key("admin_username")
            )));
        }
        if !next.password.is_set() {
            return Err(AdminError::BadRequest(format!(
                "{}: auth password must be provided",
                path.key("admin_password")
            )));
        }
    }
    Ok(next)
}
