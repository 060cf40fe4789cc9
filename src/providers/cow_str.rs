//! A JSON string borrowed from the input when it has no escapes, owned otherwise.
//!
//! serde's own `Cow<str>` always allocates (inside an `Option` too); stream events are decoded
//! once per event, so the borrowed case saves an allocation per text delta, and object keys
//! (`members::read_members!`) are matched without one.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A decoded JSON string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CowStr<'a>(pub Cow<'a, str>);

impl Deref for CowStr<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_owns_escaped_ones() {
        let plain: Option<CowStr<'_>> = serde_json::from_str(r#""abc""#).expect("plain");
        assert!(matches!(plain, Some(CowStr(Cow::Borrowed("abc")))));
        let escaped: CowStr<'_> = serde_json::from_str(r#""a\nb""#).expect("escaped");
        assert!(matches!(escaped.0, Cow::Owned(_)));
        assert_eq!(&*escaped, "a\nb");
        assert!(serde_json::from_str::<CowStr<'_>>("1").is_err());
    }
}
