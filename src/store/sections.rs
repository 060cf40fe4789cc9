//! How a `config.json` document maps onto store sections, and back.
//!
//! Each section is one JSON value under a name: `version`, `client`, `providers/<name>`, and
//! `top/<key>` for every other top-level section kept verbatim (plugins, governance, ...). The
//! admin credentials (`governance.auth_config`) and the global proxy have sections of their own,
//! written by the admin module, and are never part of the assembled document.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The `version` section.
pub const VERSION: &str = "version";
/// The `client` section.
pub const CLIENT: &str = "client";
/// Prefix of one section per provider.
pub const PROVIDER_PREFIX: &str = "providers/";
/// Prefix of the other top-level sections.
pub const TOP_PREFIX: &str = "top/";
/// The admin credentials (`governance.auth_config`, password hashed).
pub const AUTH: &str = "auth";
/// The global proxy (`/api/proxy-config`; store only, like Bifrost's).
pub const PROXY: &str = "proxy_config";

/// Top-level members that never become sections: handled elsewhere or read from the file on
/// every start (`config_store` decides whether there is a store at all).
const NOT_STORED: &[&str] = &[
    "version",
    "client",
    "providers",
    "config_store",
    "auth_config",
    "$schema",
];

/// The section holding provider `name`.
pub fn provider_section(name: &str) -> String {
    format!("{PROVIDER_PREFIX}{name}")
}

/// The provider a section name is about, if it is a provider section.
pub fn provider_of(section: &str) -> Option<&str> {
    section.strip_prefix(PROVIDER_PREFIX)
}

/// Splits a `config.json` document into the sections the file seeds. Admin credentials are taken
/// out of `governance` (see [`auth_of`]).
pub fn split(doc: &Map<String, Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Some(v) = doc.get("version") {
        out.insert(VERSION.to_string(), v.clone());
    }
    if let Some(v) = doc.get("client") {
        out.insert(CLIENT.to_string(), v.clone());
    }
    if let Some(Value::Object(providers)) = doc.get("providers") {
        for (name, v) in providers {
            out.insert(provider_section(name), v.clone());
        }
    }
    for (key, v) in doc {
        if NOT_STORED.contains(&key.as_str()) {
            continue;
        }
        let mut v = v.clone();
        if key == "governance"
            && let Value::Object(g) = &mut v
        {
            g.remove("auth_config");
            if g.is_empty() {
                // Only the admin credentials (a section of their own): nothing else to keep, and
                // nothing to warn about as unimplemented.
                continue;
            }
        }
        out.insert(format!("{TOP_PREFIX}{key}"), v);
    }
    out
}

/// The admin credentials block of a document: `governance.auth_config`, or the deprecated
/// top-level `auth_config`.
pub fn auth_of(doc: &Map<String, Value>) -> Option<&Value> {
    doc.get("governance")
        .and_then(|g| g.get("auth_config"))
        .or_else(|| doc.get("auth_config"))
        .filter(|v| !v.is_null())
}

/// Rebuilds a `config.json` document from stored sections (admin and proxy sections excluded).
pub fn assemble(sections: &BTreeMap<String, Value>) -> Value {
    let mut doc = Map::new();
    if let Some(v) = sections.get(VERSION) {
        doc.insert("version".to_string(), v.clone());
    }
    if let Some(v) = sections.get(CLIENT) {
        doc.insert("client".to_string(), v.clone());
    }
    let mut providers = Map::new();
    for (name, v) in sections {
        if let Some(p) = provider_of(name) {
            providers.insert(p.to_string(), v.clone());
        } else if let Some(key) = name.strip_prefix(TOP_PREFIX) {
            doc.insert(key.to_string(), v.clone());
        }
    }
    doc.insert("providers".to_string(), Value::Object(providers));
    Value::Object(doc)
}

/// Whether `section` is one that `config.json` seeds (and so may be re-seeded or dropped).
pub fn is_file_section(section: &str) -> bool {
    section == VERSION
        || section == CLIENT
        || section.starts_with(PROVIDER_PREFIX)
        || section.starts_with(TOP_PREFIX)
        || section == AUTH
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_and_assemble_round_trip() {
        let doc = json!({
            "$schema": "https://www.getbifrost.ai/schema",
            "version": 1,
            "client": {"drop_excess_requests": true},
            "providers": {"openai": {"keys": []}, "groq": {"keys": []}},
            "config_store": {"enabled": true, "type": "sqlite"},
            "governance": {"auth_config": {"is_enabled": true}, "virtual_keys": []},
            "plugins": [{"name": "telemetry", "enabled": true}],
        });
        let Value::Object(doc) = doc else {
            panic!("object")
        };
        let s = split(&doc);
        let names: Vec<&str> = s.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "client",
                "providers/groq",
                "providers/openai",
                "top/governance",
                "top/plugins",
                "version"
            ]
        );
        assert_eq!(s["top/governance"], json!({"virtual_keys": []}));
        assert_eq!(auth_of(&doc), Some(&json!({"is_enabled": true})));
        let back = assemble(&s);
        assert_eq!(back["version"], 1);
        assert_eq!(back["providers"]["openai"], json!({"keys": []}));
        assert_eq!(back["plugins"][0]["name"], "telemetry");
        assert!(back.get("config_store").is_none());
        assert!(back["governance"].get("auth_config").is_none());
    }

    #[test]
    fn deprecated_top_level_auth_config() {
        let Value::Object(doc) = json!({"auth_config": {"is_enabled": false}}) else {
            panic!("object")
        };
        assert_eq!(auth_of(&doc), Some(&json!({"is_enabled": false})));
        assert!(split(&doc).is_empty());
    }
}
