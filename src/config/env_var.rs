//! Secret-bearing strings that may come from the environment (`"env.NAME"`), as Bifrost's `EnvVar`.
//!
//! The reference is what gets stored and written back; the resolved value lives only in memory and
//! is never printed: `Debug` is written by hand and there is no `Display`.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::decode::type_name;
use super::error::ConfigError;
use super::path::JsonPath;

/// Prefix that turns a string into an environment reference.
const ENV_PREFIX: &str = "env.";

/// A string given literally or as `env.NAME`, resolved from the environment at load.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvVar {
    /// The resolved secret (or the literal).
    value: String,
    /// `NAME` of an `env.NAME` reference.
    env: Option<String>,
}

impl EnvVar {
    /// A literal value (not from the environment).
    pub fn literal(s: impl Into<String>) -> Self {
        Self {
            value: s.into(),
            env: None,
        }
    }

    /// A reference to environment variable `name`, not resolved yet (its value is empty).
    pub fn from_env_name(name: impl Into<String>) -> Self {
        Self {
            value: String::new(),
            env: Some(name.into()),
        }
    }

    /// The resolved secret: the literal, or the environment variable's value ("" if unset).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The environment variable name (`NAME` of `env.NAME`), if the value comes from one.
    pub fn env_name(&self) -> Option<&str> {
        self.env.as_deref()
    }

    /// True when the value comes from the environment.
    pub fn is_from_env(&self) -> bool {
        self.env.is_some()
    }

    /// True for an empty literal (nothing configured).
    pub fn is_unset(&self) -> bool {
        self.env.is_none() && self.value.is_empty()
    }

    /// The text stored in `config.json`: `env.NAME` for references, else the literal.
    pub fn config_text(&self) -> String {
        match &self.env {
            Some(name) => format!("{ENV_PREFIX}{name}"),
            None => self.value.clone(),
        }
    }

    /// Bifrost's redaction for API responses: references show `env.NAME`; literals of at most 8
    /// characters become all `*`; longer ones keep the first and last 4 around 24 `*`.
    pub fn redacted(&self) -> String {
        if let Some(name) = &self.env {
            return format!("{ENV_PREFIX}{name}");
        }
        let n = self.value.chars().count();
        if n <= 8 {
            return "*".repeat(n);
        }
        let head: String = self.value.chars().take(4).collect();
        let tail: String = self.value.chars().skip(n - 4).collect();
        format!("{head}{}{tail}", "*".repeat(24))
    }

    /// Reads the referenced variable through `env`; returns false if it is a reference to a
    /// variable that is not set (the value is then "", as in Bifrost).
    pub fn resolve(&mut self, env: &dyn Fn(&str) -> Option<String>) -> bool {
        let Some(name) = &self.env else {
            return true;
        };
        match env(name) {
            Some(v) => {
                self.value = v;
                true
            }
            None => {
                self.value.clear();
                false
            }
        }
    }

    /// Reads the JSON forms Bifrost accepts: `"literal"`, `"env.NAME"` and
    /// `{"value": .., "env_var": "env.NAME", "from_env": true}`. The result is not resolved yet.
    pub(crate) fn decode(v: Value, path: &JsonPath) -> Result<Self, ConfigError> {
        match v {
            Value::String(s) => Self::from_text(s, path),
            Value::Object(map) => {
                let mut value = None;
                let mut env_var = String::new();
                let mut from_env = false;
                for (k, v) in map {
                    let p = path.key(&k);
                    match (k.as_str(), v) {
                        ("value", Value::String(s)) => value = Some(s),
                        ("env_var", Value::String(s)) => env_var = s,
                        ("from_env", Value::Bool(b)) => from_env = b,
                        ("value" | "env_var", other) => {
                            return Err(ConfigError::type_error(
                                &p,
                                format!("expected a string, got {}", type_name(&other)),
                            ));
                        }
                        ("from_env", other) => {
                            return Err(ConfigError::type_error(
                                &p,
                                format!("expected a boolean, got {}", type_name(&other)),
                            ));
                        }
                        (_, _) => {
                            return Err(ConfigError::type_error(
                                &p,
                                "unknown field (expected value, env_var, from_env)",
                            ));
                        }
                    }
                }
                if from_env || !env_var.is_empty() {
                    // The reference wins over `value`: Bifrost re-reads the environment at load.
                    let reference = if env_var.is_empty() {
                        value.unwrap_or_default()
                    } else {
                        env_var
                    };
                    let name = reference
                        .strip_prefix(ENV_PREFIX)
                        .unwrap_or(&reference)
                        .to_string();
                    if name.is_empty() {
                        return Err(ConfigError::type_error(
                            &path.key("env_var"),
                            "from_env is set but no environment variable is named",
                        ));
                    }
                    Ok(Self::from_env_name(name))
                } else {
                    Self::from_text(value.unwrap_or_default(), path)
                }
            }
            other => Err(ConfigError::type_error(
                path,
                format!(
                    "expected a string (or {{\"value\", \"env_var\", \"from_env\"}}), got {}",
                    type_name(&other)
                ),
            )),
        }
    }

    fn from_text(s: String, path: &JsonPath) -> Result<Self, ConfigError> {
        match s.strip_prefix(ENV_PREFIX) {
            Some("") => Err(ConfigError::type_error(
                path,
                "\"env.\" must be followed by an environment variable name",
            )),
            Some(name) => Ok(Self::from_env_name(name)),
            None => Ok(Self::literal(s)),
        }
    }
}

impl Deref for EnvVar {
    type Target = str;

    /// The resolved value, so `&env_var` works where a `&str` is expected.
    fn deref(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.env, self.value.is_empty()) {
            (Some(name), _) => write!(f, "EnvVar({ENV_PREFIX}{name})"),
            (None, true) => f.write_str("EnvVar(\"\")"),
            (None, false) => f.write_str("EnvVar(<redacted>)"),
        }
    }
}

impl Serialize for EnvVar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.env {
            Some(name) => s.collect_str(&format_args!("{ENV_PREFIX}{name}")),
            None => s.serialize_str(&self.value),
        }
    }
}

impl<'de> Deserialize<'de> for EnvVar {
    /// Accepts the same forms as `config.json` and resolves references from the process
    /// environment, as Bifrost does when it unmarshals.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let mut e = Self::decode(v, &JsonPath::root()).map_err(serde::de::Error::custom)?;
        e.resolve(&super::process_env);
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "sk-live-0123456789abcdef".to_string())
    }

    #[test]
    fn redaction_rule() {
        assert_eq!(EnvVar::literal("").redacted(), "");
        assert_eq!(EnvVar::literal("abc").redacted(), "***");
        assert_eq!(EnvVar::literal("12345678").redacted(), "********");
        let long = EnvVar::literal("sk-abcdefghijklmnop-wxyz");
        assert_eq!(long.redacted(), format!("sk-a{}wxyz", "*".repeat(24)));
        assert_eq!(long.redacted().len(), 32);
        let mut r = EnvVar::from_env_name("SET");
        assert!(r.resolve(&env));
        assert_eq!(r.redacted(), "env.SET");
        // Multi-byte characters are counted as characters, never split.
        assert_eq!(
            EnvVar::literal("ééééxxxxxyyyy").redacted(),
            format!("éééé{}yyyy", "*".repeat(24))
        );
    }

    #[test]
    fn debug_hides_the_value() {
        let lit = EnvVar::literal("sk-secret-value-123");
        assert_eq!(format!("{lit:?}"), "EnvVar(<redacted>)");
        let mut r = EnvVar::from_env_name("SET");
        r.resolve(&env);
        let shown = format!("{r:?} {:#?}", Some(&r));
        assert!(!shown.contains("sk-live"), "{shown}");
        assert!(shown.contains("env.SET"));
    }

    #[test]
    fn decodes_all_forms() {
        let p = JsonPath::root();
        let lit = EnvVar::decode(json!("plain"), &p).expect("literal");
        assert_eq!((lit.value(), lit.env_name()), ("plain", None));

        let mut r = EnvVar::decode(json!("env.SET"), &p).expect("ref");
        assert_eq!(r.value(), "", "unresolved until resolve()");
        assert!(r.resolve(&env));
        assert_eq!(r.value(), "sk-live-0123456789abcdef");
        assert_eq!(r.env_name(), Some("SET"));

        let mut missing = EnvVar::decode(json!("env.MISSING"), &p).expect("ref");
        assert!(!missing.resolve(&env));
        assert_eq!(missing.value(), "");

        let mut obj = EnvVar::decode(
            json!({"value": "stale", "env_var": "env.SET", "from_env": true}),
            &p,
        )
        .expect("object");
        obj.resolve(&env);
        assert_eq!(obj.value(), "sk-live-0123456789abcdef");
        assert_eq!(obj.config_text(), "env.SET");

        let obj_lit = EnvVar::decode(json!({"value": "v", "env_var": "", "from_env": false}), &p)
            .expect("object literal");
        assert_eq!((obj_lit.value(), obj_lit.is_from_env()), ("v", false));
    }

    #[test]
    fn rejects_bad_forms() {
        let p = JsonPath::root().key("k");
        let e = EnvVar::decode(json!("env."), &p).expect_err("empty name");
        assert!(e.to_string().starts_with("k: "), "{e}");
        let e = EnvVar::decode(json!(5), &p).expect_err("number");
        assert!(e.to_string().contains("got a number"), "{e}");
        let e = EnvVar::decode(json!({"value": "x", "bogus": 1}), &p).expect_err("unknown");
        assert!(e.to_string().starts_with("k.bogus: "), "{e}");
        let e = EnvVar::decode(json!({"from_env": true}), &p).expect_err("no name");
        assert!(e.to_string().starts_with("k.env_var: "), "{e}");
    }

    #[test]
    fn serializes_the_reference_never_the_secret() {
        let mut r = EnvVar::from_env_name("SET");
        r.resolve(&env);
        assert_eq!(serde_json::to_string(&r).expect("ser"), "\"env.SET\"");
        assert_eq!(
            serde_json::to_string(&EnvVar::literal("lit")).expect("ser"),
            "\"lit\""
        );
    }

    #[test]
    fn derefs_to_the_value() {
        fn takes(s: &str) -> usize {
            s.len()
        }
        let lit = EnvVar::literal("abcd");
        assert_eq!(takes(&lit), 4);
        assert_eq!(Some(lit).as_deref(), Some("abcd"));
    }
}
