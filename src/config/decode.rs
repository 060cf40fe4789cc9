//! Field-by-field reading of config objects, so every error and warning carries its JSON path.
//!
//! serde's `flatten` (the usual way to keep unknown fields) hides paths from
//! `serde_path_to_error`, so each section reads its known fields out of the JSON object itself and
//! keeps the rest verbatim in `other`. Leaf values still go through serde with path tracking.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::env_var::EnvVar;
use super::error::ConfigError;
use super::path::JsonPath;

/// Warnings collected while loading: each starts with the JSON path it is about.
pub type Warnings = Vec<String>;

/// One modelled part of `config.json`: how it is read and where its secrets are.
pub trait Section: Sized {
    /// Reads the section from its JSON value (`path` is where it sits in the document).
    /// Environment references are left unresolved.
    fn decode(v: Value, path: &JsonPath, w: &mut Warnings) -> Result<Self, ConfigError>;

    /// Calls `f` on every [`EnvVar`] of the section, with its path.
    fn visit_env(&mut self, path: &JsonPath, f: &mut dyn FnMut(&JsonPath, &mut EnvVar));

    /// Resolves every environment reference through `env`, warning (by name, never by value)
    /// about variables that are not set.
    fn resolve_env(
        &mut self,
        path: &JsonPath,
        env: &dyn Fn(&str) -> Option<String>,
        w: &mut Warnings,
    ) {
        self.visit_env(path, &mut |p, ev| {
            if !ev.resolve(env) {
                w.push(format!(
                    "{p}: environment variable {} is not set; using an empty value",
                    ev.env_name().unwrap_or_default()
                ));
            }
        });
    }
}

/// "a string", "an array", ... for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The members of one JSON object, taken out one by one.
pub(crate) struct Fields {
    map: Map<String, Value>,
    path: JsonPath,
}

impl Fields {
    /// Starts reading the object `v` found at `path`.
    pub(crate) fn new(v: Value, path: &JsonPath) -> Result<Self, ConfigError> {
        match v {
            Value::Object(map) => Ok(Self {
                map,
                path: path.clone(),
            }),
            other => Err(ConfigError::type_error(
                path,
                format!("expected an object, got {}", type_name(&other)),
            )),
        }
    }

    /// Path of member `key`.
    pub(crate) fn at(&self, key: &str) -> JsonPath {
        self.path.key(key)
    }

    /// Removes member `key`; `null` counts as absent (Go reads it as the zero value).
    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// Reads member `key` with `f`.
    pub(crate) fn with<T>(
        &mut self,
        key: &str,
        f: impl FnOnce(Value, &JsonPath) -> Result<T, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        let path = self.at(key);
        self.take(key).map(|v| f(v, &path)).transpose()
    }

    /// Reads member `key` as a nested section.
    pub(crate) fn section<T: Section>(
        &mut self,
        key: &str,
        w: &mut Warnings,
    ) -> Result<Option<T>, ConfigError> {
        self.with(key, |v, p| T::decode(v, p, w))
    }

    /// Reads member `key` with serde, reporting the path inside the value on error.
    pub(crate) fn serde<T: DeserializeOwned>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, ConfigError> {
        self.with(key, |v, p| from_value(v, p))
    }

    /// Reads member `key` as a boolean.
    pub(crate) fn bool(&mut self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.serde(key)
    }

    /// Reads member `key` as a string.
    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>, ConfigError> {
        self.serde(key)
    }

    /// Reads member `key` as a list of strings (absent = empty).
    pub(crate) fn strings(&mut self, key: &str) -> Result<Vec<String>, ConfigError> {
        Ok(self.serde(key)?.unwrap_or_default())
    }

    /// Reads member `key` as a non-negative integer.
    pub(crate) fn u64(&mut self, key: &str) -> Result<Option<u64>, ConfigError> {
        self.with(key, |v, p| match &v {
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Ok(u),
                (None, Some(_)) => Err(ConfigError::invalid(p, format!("must be >= 0, got {n}"))),
                (None, None) => Err(ConfigError::type_error(
                    p,
                    format!("expected an integer, got {n}"),
                )),
            },
            other => Err(ConfigError::type_error(
                p,
                format!("expected an integer, got {}", type_name(other)),
            )),
        })
    }

    /// Reads member `key` as a non-negative integer that fits a `usize`.
    pub(crate) fn usize(&mut self, key: &str) -> Result<Option<usize>, ConfigError> {
        let path = self.at(key);
        self.u64(key)?
            .map(|n| usize::try_from(n).map_err(|_| ConfigError::invalid(&path, "value too large")))
            .transpose()
    }

    /// Reads member `key` as a number.
    pub(crate) fn f64(&mut self, key: &str) -> Result<Option<f64>, ConfigError> {
        self.serde(key)
    }

    /// Reads member `key` as a literal or `env.NAME` string.
    pub(crate) fn env(&mut self, key: &str) -> Result<Option<EnvVar>, ConfigError> {
        self.with(key, EnvVar::decode)
    }

    /// Reads a required `env.NAME`-capable member.
    pub(crate) fn required_env(&mut self, key: &str) -> Result<EnvVar, ConfigError> {
        let path = self.at(key);
        self.env(key)?
            .ok_or_else(|| ConfigError::invalid(&path, "required field is missing"))
    }

    /// Ends reading: what is left is kept verbatim. Members that Bifrost does not know (not
    /// in `known`) get a warning, so a typo is never silently ignored.
    pub(crate) fn finish(self, known: &[&str], w: &mut Warnings) -> Map<String, Value> {
        for k in self.map.keys() {
            if !known.contains(&k.as_str()) {
                w.push(format!(
                    "{}: unknown field (not a Bifrost setting), ignored",
                    self.path.key(k)
                ));
            }
        }
        self.map
    }
}

/// Deserializes `v` with serde, prefixing the error with `path` and the path inside `v`.
pub(crate) fn from_value<T: DeserializeOwned>(v: Value, path: &JsonPath) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let at = path.join_serde(e.path());
        ConfigError::type_error(&at, e.into_inner().to_string())
    })
}

/// `impl Deserialize` through [`Section::decode`], resolving references from the process
/// environment as Bifrost's unmarshalling does. Warnings are dropped: use the loaders for them.
macro_rules! deserialize_via_section {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                let mut w = Vec::new();
                let root = $crate::config::path::JsonPath::root();
                let mut x = <$t as $crate::config::decode::Section>::decode(v, &root, &mut w)
                    .map_err(serde::de::Error::custom)?;
                $crate::config::decode::Section::resolve_env(
                    &mut x,
                    &root,
                    &$crate::config::process_env,
                    &mut w,
                );
                Ok(x)
            }
        }
    )*};
}
pub(crate) use deserialize_via_section;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_reports_paths() {
        let p = JsonPath::root().key("s");
        let mut f = Fields::new(
            json!({"n": -3, "f": 1.5, "list": ["a", 2], "ok": 7, "nul": null, "typo": 1}),
            &p,
        )
        .expect("object");
        let e = f.u64("n").expect_err("negative");
        assert_eq!(e.to_string(), "s.n: must be >= 0, got -3");
        let e = f.u64("f").expect_err("float");
        assert_eq!(e.to_string(), "s.f: expected an integer, got 1.5");
        let e = f.strings("list").expect_err("mixed");
        assert!(
            e.to_string()
                .starts_with("s.list[1]: invalid type: integer `2`"),
            "{e}"
        );
        assert_eq!(f.u64("ok").expect("ok"), Some(7));
        assert_eq!(f.u64("nul").expect("null"), None);
        assert_eq!(f.u64("absent").expect("absent"), None);
        let mut w = Vec::new();
        let rest = f.finish(&[], &mut w);
        assert!(rest.contains_key("typo"));
        assert_eq!(
            w,
            ["s.typo: unknown field (not a Bifrost setting), ignored"]
        );
    }

    #[test]
    fn non_object_is_a_type_error() {
        let e = Fields::new(json!([1]), &JsonPath::root().key("client")).err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("client: expected an object, got an array")
        );
    }
}
