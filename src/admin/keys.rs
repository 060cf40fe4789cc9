//! `/api/providers/{provider}/keys[/{key_id}]`: per-key CRUD.
//!
//! Each write replaces the provider's section with the key list changed, through the same commit
//! as every other write, so a rotation reaches all cores at their next request. Responses show
//! the key redacted; `PUT` with the redacted value sent back keeps the stored secret.

use serde_json::{Map, Value};

use super::providers::{existing, param, to_section};
use super::redact::{key_json, restore_redacted};
use super::response::{AdminError, AdminReply};
use super::state::{AdminCore, Job, json_object};
use crate::config::{JsonPath, Key, ProviderConfig, Section};
use crate::providers::catalog;
use crate::store::SectionWrite;
use crate::store::sections::provider_section;

/// Members of a key response that are not configuration.
const RESPONSE_ONLY: &[&str] = &["config_hash", "status"];

/// `GET .../keys`: `{keys: [...], total}`.
pub fn list(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let pc = existing(core, param(job, 0)?)?;
    let keys: Vec<Value> = pc.keys.iter().map(key_json).collect();
    let total = keys.len();
    Ok(AdminReply::ok(
        &serde_json::json!({ "keys": keys, "total": total }),
    ))
}

/// `GET .../keys/{key_id}`.
pub fn get(core: &AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let pc = existing(core, param(job, 0)?)?;
    let (_, k) = find(&pc, param(job, 1)?)?;
    Ok(AdminReply::ok(&key_json(k)))
}

/// `POST .../keys`: adds a key (a random id when none is given).
pub fn create(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job, 0)?.to_string();
    let mut pc = existing(core, &name)?;
    refuse_keyless(&pc, "add keys to")?;
    let mut key = parse_key(&job.body, &name, pc.keys.len())?;
    if key.id.is_empty() {
        key.id = uuid_v4()?;
    }
    if let Some(owner) = owner_of(core, &key.id)? {
        return Err(AdminError::Conflict(format!(
            "a key with id {:?} already exists (provider {owner})",
            key.id
        )));
    }
    if key.enabled.is_none() {
        key.enabled = Some(true);
    }
    check_value(&pc, &name, &key)?;
    pc.keys.push(key.clone());
    save(core, &name, &pc)?;
    Ok(core.written(key_json(&key)))
}

/// `PUT .../keys/{key_id}`: replaces a key (its id comes from the path).
pub fn update(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job, 0)?.to_string();
    let id = param(job, 1)?.to_string();
    let mut pc = existing(core, &name)?;
    refuse_keyless(&pc, "update keys on")?;
    let (i, old) = find(&pc, &id)?;
    let mut key = parse_key(&job.body, &name, i)?;
    key.id = id;
    restore_redacted(old, &mut key);
    check_value(&pc, &name, &key)?;
    pc.keys[i] = key.clone();
    save(core, &name, &pc)?;
    Ok(core.written(key_json(&key)))
}

/// `DELETE .../keys/{key_id}`: answers with the removed key.
pub fn delete(core: &mut AdminCore, job: &Job) -> Result<AdminReply, AdminError> {
    let name = param(job, 0)?.to_string();
    let mut pc = existing(core, &name)?;
    refuse_keyless(&pc, "delete keys on")?;
    let (i, _) = find(&pc, param(job, 1)?)?;
    let removed = pc.keys.remove(i);
    save(core, &name, &pc)?;
    Ok(core.written(key_json(&removed)))
}

fn save(core: &mut AdminCore, name: &str, pc: &ProviderConfig) -> Result<(), AdminError> {
    core.commit(vec![SectionWrite::Put(
        provider_section(name),
        to_section(pc)?,
    )])
}

fn find<'a>(pc: &'a ProviderConfig, id: &str) -> Result<(usize, &'a Key), AdminError> {
    pc.keys
        .iter()
        .enumerate()
        .find(|(_, k)| k.id == id)
        .ok_or_else(|| AdminError::NotFound(format!("Provider key not found: {id}")))
}

fn refuse_keyless(pc: &ProviderConfig, what: &str) -> Result<(), AdminError> {
    if pc
        .custom_provider_config
        .as_ref()
        .is_some_and(|c| c.is_key_less)
    {
        return Err(AdminError::BadRequest(format!(
            "Cannot {what} a keyless provider"
        )));
    }
    Ok(())
}

/// Bifrost refuses an empty value for providers that need one.
fn check_value(pc: &ProviderConfig, name: &str, key: &Key) -> Result<(), AdminError> {
    let base = pc
        .custom_provider_config
        .as_ref()
        .map_or(name, |c| c.base_provider_type.as_str());
    let needs_value = catalog::lookup(base).is_none_or(|s| !s.allows_empty_key);
    if needs_value && key.value.is_unset() {
        return Err(AdminError::BadRequest(
            "value: Key value must not be empty".into(),
        ));
    }
    Ok(())
}

fn parse_key(body: &[u8], provider: &str, index: usize) -> Result<Key, AdminError> {
    let mut m: Map<String, Value> = json_object(body)?;
    for f in RESPONSE_ONLY {
        m.remove(*f);
    }
    let path = JsonPath::root()
        .key("providers")
        .key(provider)
        .key("keys")
        .index(index);
    Ok(Key::decode(Value::Object(m), &path, &mut Vec::new())?)
}

/// The provider holding a key id, if any (ids are unique across providers).
fn owner_of(core: &AdminCore, id: &str) -> Result<Option<String>, AdminError> {
    for name in core.provider_names() {
        if let Some(pc) = core.provider(&name)?
            && pc.keys.iter().any(|k| k.id == id)
        {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// A random (version 4) UUID, as Bifrost gives new keys.
fn uuid_v4() -> Result<String, AdminError> {
    let mut b = crate::store::random_16().map_err(|e| AdminError::Internal(e.to_string()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4().expect("uuid");
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(u, uuid_v4().expect("uuid"));
    }
}
