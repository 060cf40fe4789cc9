//! JSON paths (`providers.openai.keys[0].weight`) for error and warning messages.

use std::fmt;

/// A path from the root of `config.json` to one value, rendered the way error messages show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(String);

impl JsonPath {
    /// The document root.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// The path of member `key` of the object at `self`.
    pub fn key(&self, key: &str) -> Self {
        let mut s = self.0.clone();
        // Names that would make the path ambiguous (dots, brackets, spaces) are quoted.
        if !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(key);
        } else {
            // JSON string escaping keeps control characters visible and unambiguous.
            s.push('[');
            s.push_str(&serde_json::Value::String(key.to_string()).to_string());
            s.push(']');
        }
        Self(s)
    }

    /// The path of element `i` of the array at `self`.
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    /// Appends a path reported by `serde_path_to_error` for a value below `self`.
    pub(crate) fn join_serde(&self, inner: &serde_path_to_error::Path) -> Self {
        let mut out = self.clone();
        for seg in inner.iter() {
            out = match seg {
                serde_path_to_error::Segment::Seq { index } => out.index(*index),
                serde_path_to_error::Segment::Map { key } => out.key(key),
                serde_path_to_error::Segment::Enum { variant } => out.key(variant),
                serde_path_to_error::Segment::Unknown => out.key("?"),
            };
        }
        out
    }

    /// True at the document root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("$")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dotted_indexed_and_quoted() {
        let p = JsonPath::root()
            .key("providers")
            .key("openai")
            .key("keys")
            .index(0);
        assert_eq!(
            p.key("weight").to_string(),
            "providers.openai.keys[0].weight"
        );
        assert_eq!(JsonPath::root().to_string(), "$");
        assert_eq!(
            JsonPath::root().key("providers").key("a.b").to_string(),
            "providers[\"a.b\"]"
        );
        assert_eq!(JsonPath::root().key("$schema").to_string(), "[\"$schema\"]");
    }
}
