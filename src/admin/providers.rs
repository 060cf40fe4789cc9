//! `/api/providers` and `/api/providers/{provider}`: provider CRUD.
//!
//! Responses are Bifrost's `ProviderResponse` as the seed documents it: the configuration with
//! secrets redacted, plus `name`, `status` (`active`, `error` for a provider ringway does not
//! serve, `deleted` in the answer to a delete) and `config_hash` (for providers `config.json`
//! seeded). `PUT` replaces the whole provider; secrets sent back redacted keep their stored values.

use serde_json::{Map, Value};

use super::redact::{provider_json, restore_provider};
use super::response::{AdminError, AdminReply};
use super::state::{AdminCore, Job, decode_provider, json_object};
use crate::config::ProviderConfig;
use crate::store::SectionWrite;
use crate::store::sections::provider_section;

/// Members of a provider response that clients echo back and that are not configuration.
const RESPONSE_ONLY: &[&str] = &["name", "status", "config_hash", "provider_status"];

/// Members a `PUT` must carry: it replaces the whole provider.
const PUT_REQUIRED: &[&str] = &["keys", "network_config", "concurrency_and_buffer_size"];

/// `GET /api/providers`: `{providers: [...], total}`, sorted by name.
pub fn list(core: &AdminCore) -> Result<AdminReply, AdminError> {
    let mut out = Vec::new();
    for name in core.provider_names() {
        if let Some(pc) = core.provider(&name)? {
            out.push(response(core, &name, &pc, None));
        }
    }
    let total = out.len();
    Ok(AdminReply::ok(&serde_json::json!({
        "providers": out,
        "total": total,
    })))
}

/// `GET /api/providers/{provider}`.
pub fn get(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job, 0)?;
    let pc = existing(core, name)?;
    Ok(AdminReply::ok(&response(core, name, &pc, None)))
}

/// `POST /api/providers`: `{provider, keys?, network_config?, ...}`; 409 if it exists.
pub fn create(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let mut body = json_object(&job.body)?;
    let name = match body.remove("provider") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        None | Some(Value::Null) => {
            return Err(AdminError::BadRequest(
                "provider: required field is missing (Missing provider)".into(),
            ));
        }
        Some(Value::String(_)) => {
            return Err(AdminError::BadRequest("provider: must not be empty".into()));
        }
        Some(other) => {
            return Err(AdminError::BadRequest(format!(
                "provider: expected a string, got {}",
                super::state::json_type(&other)
            )));
        }
    };
    if core.section(&provider_section(&name)).is_some() {
        return Err(AdminError::Conflict(format!(
            "Provider {name} already exists"
        )));
    }
    let pc = parse_body(body, &name)?;
    core.commit(vec![SectionWrite::Put(
        provider_section(&name),
        to_section(&pc)?,
    )])?;
    Ok(core.written(response(core, &name, &pc, None)))
}

/// `PUT /api/providers/{provider}`: full replacement (creates it if missing, as Bifrost does).
pub fn update(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job, 0)?.to_string();
    let body = json_object(&job.body)?;
    for field in PUT_REQUIRED {
        if !body.contains_key(*field) {
            return Err(AdminError::BadRequest(format!(
                "{field}: required field is missing (PUT replaces the whole provider: send \
                 every field, partial updates are not supported)"
            )));
        }
    }
    let mut pc = parse_body(body, &name)?;
    if let Some(old) = core.provider(&name)? {
        restore_provider(&old, &mut pc);
    }
    core.commit(vec![SectionWrite::Put(
        provider_section(&name),
        to_section(&pc)?,
    )])?;
    Ok(core.written(response(core, &name, &pc, None)))
}

/// `DELETE /api/providers/{provider}`: answers with the removed provider, status `deleted`.
pub fn delete(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job, 0)?.to_string();
    let pc = existing(core, &name)?;
    let shown = response(core, &name, &pc, Some("deleted"));
    core.commit(vec![SectionWrite::Delete(provider_section(&name))])?;
    Ok(core.written(shown))
}

/// The provider named in the path, or 404.
pub fn existing(core: &AdminCore, name: &str) -> Result<ProviderConfig, AdminError> {
    core.provider(name)?
        .ok_or_else(|| AdminError::NotFound(format!("Provider not found: {name}")))
}

/// Path parameter `i`.
pub fn param(job: &Job, i: usize) -> Result<&str, AdminError> {
    job.params
        .get(i)
        .map(String::as_str)
        .ok_or_else(|| AdminError::Internal("missing path parameter".into()))
}

/// The stored form of a provider.
pub fn to_section(pc: &ProviderConfig) -> Result<Value, AdminError> {
    serde_json::to_value(pc)
        .map_err(|e| AdminError::Internal(format!("cannot encode provider: {e}")))
}

/// A provider as responses show it.
pub fn response(core: &AdminCore, name: &str, pc: &ProviderConfig, status: Option<&str>) -> Value {
    let served = core.table().provider(name).is_some();
    let status = status.unwrap_or(if served { "active" } else { "error" });
    let mut m = Map::new();
    m.insert("name".to_string(), Value::String(name.to_string()));
    if let Value::Object(fields) = provider_json(pc) {
        m.extend(fields);
    }
    m.insert("status".to_string(), Value::String(status.to_string()));
    if let Some(h) = core.file_hash(&provider_section(name)) {
        m.insert("config_hash".to_string(), Value::String(h.to_string()));
    }
    Value::Object(m)
}

/// Decodes a provider body (response-only members dropped, zero limits refused as Bifrost does)
/// and gives its keys their ids.
fn parse_body(mut body: Map<String, Value>, name: &str) -> Result<ProviderConfig, AdminError> {
    for f in RESPONSE_ONLY {
        body.remove(*f);
    }
    if let Some(cb) = body
        .get("concurrency_and_buffer_size")
        .and_then(Value::as_object)
    {
        for field in ["concurrency", "buffer_size"] {
            if cb.get(field).and_then(Value::as_i64) == Some(0) {
                return Err(AdminError::BadRequest(format!(
                    "providers.{name}.concurrency_and_buffer_size.{field}: must be greater than 0"
                )));
            }
        }
    }
    let mut pc = decode_provider(Value::Object(body), name)?;
    pc.assign_key_ids(name);
    Ok(pc)
}
