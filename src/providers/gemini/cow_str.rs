//! A JSON string borrowed from the input when it has no escapes, owned otherwise.
//!
//! serde's `Option<Cow<str>>` always allocates; stream chunks are decoded once per event, so
//! borrowing the text of each chunk saves an allocation per delta.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A decoded JSON string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CowStr<'a>(pub Cow<'a, str>);

impl Deref for CowStr<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
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
        d.deserialize_str(StrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_unless_escaped() {
        let plain: CowStr<'_> = serde_json::from_str(r#""abc""#).expect("plain");
        assert!(matches!(plain.0, Cow::Borrowed("abc")));
        let escaped: CowStr<'_> = serde_json::from_str(r#""a\"b""#).expect("escaped");
        assert!(matches!(escaped.0, Cow::Owned(_)));
        assert_eq!(&*escaped, "a\"b");
        assert!(serde_json::from_str::<CowStr<'_>>("[]").is_err());
    }
}
