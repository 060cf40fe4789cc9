//! Secrets in admin responses, and secrets sent back redacted in admin writes.
//!
//! Responses show every `EnvVar` the way Bifrost does (first 4 + 24 `*` + last 4; at most 8
//! characters become all `*`; `env.NAME` references as the reference). Key-level secrets are
//! written as Bifrost's `{"value", "env_var", "from_env"}` objects. A write that sends a redacted
//! value back unchanged keeps the stored secret, field by field.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::config::{EnvVar, JsonPath, Key, ProviderConfig, Section};

/// Bifrost's `{"value", "env_var", "from_env"}` form of a secret, redacted.
pub fn env_object(ev: &EnvVar) -> Value {
    json!({
        "value": ev.redacted(),
        "env_var": ev.env_name().map(|n| format!("env.{n}")).unwrap_or_default(),
        "from_env": ev.is_from_env(),
    })
}

/// Every secret of `v` replaced by its redacted text (so nothing secret can be serialised).
fn redact_all<T: Section>(v: &mut T) {
    v.visit_env(&JsonPath::root(), &mut |_, ev| {
        *ev = EnvVar::literal(ev.redacted());
    });
}

/// A key as admin responses show it.
pub fn key_json(k: &Key) -> Value {
    let mut original = k.clone();
    let mut shown = k.clone();
    redact_all(&mut shown);
    let mut v = serde_json::to_value(&shown).unwrap_or(Value::Null);
    // Key-level secrets use the object form, built from the original (for `from_env`) but only
    // ever with the redacted text.
    original.visit_env(&JsonPath::root(), &mut |p, ev| {
        if let Some(slot) = pointer_mut(&mut v, &p.to_string()) {
            *slot = env_object(ev);
        }
    });
    v
}

/// A provider's configuration as admin responses show it (without name, status or hash).
pub fn provider_json(pc: &ProviderConfig) -> Value {
    let mut shown = pc.clone();
    shown.keys.clear();
    redact_all(&mut shown);
    let mut v = serde_json::to_value(&shown).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert(
            "keys".to_string(),
            Value::Array(pc.keys.iter().map(key_json).collect()),
        );
        // Bifrost always shows proxy_config (null when unset).
        m.entry("proxy_config").or_insert(Value::Null);
    }
    v
}

/// The member at a dotted path (`azure_key_config.endpoint`).
fn pointer_mut<'a>(v: &'a mut Value, dotted: &str) -> Option<&'a mut Value> {
    dotted
        .split('.')
        .try_fold(v, |cur, seg| cur.as_object_mut()?.get_mut(seg))
}

/// Whether `s` looks like Bifrost's redaction of something (all `*`, or 24 `*` in the middle).
fn looks_redacted(s: &str) -> bool {
    !s.is_empty() && (s.chars().all(|c| c == '*') || s.contains(&"*".repeat(24)))
}

/// Copies into `new` every stored secret of `old` that `new` sent back redacted, matching fields
/// by path. Values that are references, or that differ from the stored one's redaction, are new.
pub fn restore_redacted<T: Section + Clone>(old: &T, new: &mut T) {
    let mut stored: HashMap<String, EnvVar> = HashMap::new();
    old.clone().visit_env(&JsonPath::root(), &mut |p, ev| {
        stored.insert(p.to_string(), ev.clone());
    });
    new.visit_env(&JsonPath::root(), &mut |p, ev| {
        if ev.is_from_env() || !looks_redacted(ev.value()) {
            return;
        }
        if let Some(o) = stored.get(&p.to_string())
            && o.redacted() == ev.value()
        {
            *ev = o.clone();
        }
    });
}

/// [`restore_redacted`] for a whole provider: keys are matched by id, provider-level secrets
/// (proxy, CA certificate) by path.
pub fn restore_provider(old: &ProviderConfig, new: &mut ProviderConfig) {
    for k in &mut new.keys {
        if let Some(o) = old.keys.iter().find(|o| o.id == k.id) {
            restore_redacted(o, k);
        }
    }
    let mut old_rest = old.clone();
    old_rest.keys.clear();
    let keys = std::mem::take(&mut new.keys);
    restore_redacted(&old_rest, new);
    new.keys = keys;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode<T: Section>(v: Value) -> T {
        T::decode(v, &JsonPath::root(), &mut Vec::new()).expect("decode")
    }

    #[test]
    fn keys_show_redacted_objects() {
        let k: Key = decode(json!({
            "id": "k1", "value": "sk-abcdefghijklmnop-wxyz", "models": ["*"],
            "azure_key_config": {"endpoint": "env.AZ_ENDPOINT", "api_version": "2024-10-21"}
        }));
        let v = key_json(&k);
        assert_eq!(
            v["value"],
            json!({"value": format!("sk-a{}wxyz", "*".repeat(24)), "env_var": "", "from_env": false})
        );
        assert_eq!(
            v["azure_key_config"]["endpoint"],
            json!({"value": "env.AZ_ENDPOINT", "env_var": "env.AZ_ENDPOINT", "from_env": true})
        );
        assert!(!v.to_string().contains("sk-abcdefghijklmnop-wxyz"));
        assert!(!v.to_string().contains("2024-10-21"));
    }

    #[test]
    fn provider_hides_proxy_password() {
        let pc: ProviderConfig = decode(json!({
            "keys": [{"id": "k1", "value": "sk-secret-0123456789", "models": ["*"]}],
            "proxy_config": {"type": "http", "url": "http://p:3128", "password": "hunter22-long-password"}
        }));
        let v = provider_json(&pc);
        let text = v.to_string();
        assert!(!text.contains("hunter22-long-password"), "{text}");
        assert!(!text.contains("sk-secret-0123456789"), "{text}");
        assert_eq!(v["keys"][0]["id"], "k1");
        assert_eq!(v["proxy_config"]["type"], "http");
    }

    #[test]
    fn redacted_values_sent_back_keep_the_secret() {
        let old: ProviderConfig = decode(json!({
            "keys": [
                {"id": "k1", "value": "sk-first-secret-value", "models": ["*"]},
                {"id": "k2", "value": "short", "models": ["*"]}
            ],
            "proxy_config": {"type": "http", "url": "http://p:3128", "password": "proxy-password-123"}
        }));
        let shown = provider_json(&old);
        // The client sends the GET response back with one key rotated.
        let mut body = shown.clone();
        body["keys"][1]["value"] = json!("sk-brand-new-value");
        let mut new: ProviderConfig = decode(body);
        restore_provider(&old, &mut new);
        assert_eq!(new.keys[0].value.value(), "sk-first-secret-value");
        assert_eq!(new.keys[1].value.value(), "sk-brand-new-value");
        let pw = new.proxy_config.as_ref().and_then(|p| p.password.as_ref());
        assert_eq!(pw.map(|p| p.value()), Some("proxy-password-123"));
    }

    #[test]
    fn a_redaction_of_something_else_is_not_restored() {
        let old: Key = decode(json!({"id": "k", "value": "sk-aaaa-1111-bbbb-2222", "models": []}));
        let mut new: Key = decode(
            json!({"id": "k", "value": format!("zzzz{}zzzz", "*".repeat(24)), "models": []}),
        );
        restore_redacted(&old, &mut new);
        assert!(new.value.value().starts_with("zzzz"));
    }
}
