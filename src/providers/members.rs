//! One-pass decoding of objects: the structs that keep their unknown members in an `extra`
//! map, and the Anthropic content blocks.
//!
//! serde's `#[serde(flatten)]` (and an internally tagged enum) first buffers the whole object
//! as its private `Content` tree, copying every string, then decodes that buffer a second
//! time. [`read_members!`] reads each known key straight into its field instead, and any other
//! key into `extra` (in document order) or nowhere. Serialising still goes through
//! `#[derive(Serialize)]`.

/// Reads the members of an object from `map` (a `serde::de::MapAccess`) into locals named
/// after the fields, each listed as `field: "json key"` (required: a missing key is serde's
/// "missing field" error) or `field: "json key" = expr` (the value when the key is absent).
/// Any other key goes into the `Map<String, Value>` named by the second argument, or is
/// skipped when that is `_`. Errors are serde's own (`duplicate field`, `invalid type`), so
/// messages read as with derive. A default may not name one of the fields (they are the
/// locals being filled; that is a compile error).
macro_rules! read_members {
    ($map:ident, $extra:tt; $($field:ident: $key:literal $(= $default:expr)?),* $(,)?) => {
        $(let mut $field = None;)*
        while let Some(key) = $map.next_key::<$crate::providers::cow_str::CowStr<'_>>()? {
            match &*key.0 {
                $($key => {
                    if $field.is_some() {
                        return Err(::serde::de::Error::duplicate_field($key));
                    }
                    $field = Some($map.next_value()?);
                })*
                _ => $crate::providers::members::read_members!(@other $map, key, $extra),
            }
        }
        $(let $field = match $field {
            Some(v) => v,
            None => $crate::providers::members::read_members!(@missing $key $(, $default)?),
        };)*
    };
    (@other $map:ident, $k:ident, _) => {{
        $map.next_value::<::serde::de::IgnoredAny>()?;
    }};
    (@other $map:ident, $k:ident, $extra:ident) => {{
        let value: ::serde_json::Value = $map.next_value()?;
        $extra.insert($k.0.into_owned(), value);
    }};
    (@missing $key:literal) => {
        return Err(::serde::de::Error::missing_field($key))
    };
    (@missing $key:literal, $default:expr) => {
        $default
    };
}

/// Implements `Deserialize` for a struct with named fields plus `extra: Map<String, Value>`,
/// the fields listed as for [`read_members!`]. A field added to the struct and not listed
/// here is a compile error.
macro_rules! decode_with_extra {
    ($ty:ident { $($field:ident: $key:literal $(= $default:expr)?),* $(,)? }) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> ::serde::de::Visitor<'de> for V {
                    type Value = $ty;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("struct ", stringify!($ty)))
                    }

                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$ty, A::Error> {
                        let mut extra = ::serde_json::Map::new();
                        $crate::providers::members::read_members!(
                            map, extra; $($field: $key $(= $default)?),*
                        );
                        Ok($ty { $($field,)* extra })
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

pub(crate) use {decode_with_extra, read_members};

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    /// The same shape decoded by derive with `flatten`, to hold the macro to it.
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Derived {
        name: String,
        #[serde(rename = "type", default = "plain_kind")]
        kind: String,
        #[serde(default)]
        count: Option<u32>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }

    #[derive(Debug, PartialEq)]
    struct Macro {
        name: String,
        kind: String,
        count: Option<u32>,
        tags: Vec<String>,
        extra: Map<String, Value>,
    }

    fn plain_kind() -> String {
        "plain".into()
    }

    super::decode_with_extra!(Macro {
        name: "name",
        kind: "type" = plain_kind(),
        count: "count" = None,
        tags: "tags" = Vec::new(),
    });

    fn same(body: &str) -> Result<(), String> {
        let d = serde_json::from_str::<Derived>(body).map_err(|e| e.to_string());
        let m = serde_json::from_str::<Macro>(body).map_err(|e| e.to_string());
        match (d, m) {
            (Ok(d), Ok(m)) => {
                let as_macro = Macro {
                    name: d.name,
                    kind: d.kind,
                    count: d.count,
                    tags: d.tags,
                    extra: d.extra,
                };
                assert_eq!(as_macro, m, "{body}");
                Ok(())
            }
            (Err(d), Err(m)) => {
                // Error positions may differ by where the walk stopped; the reason may not.
                let reason = |e: &str| {
                    let r = e.split(" at line").next().unwrap_or("");
                    r.replace("Derived", "Macro")
                };
                assert_eq!(reason(&d), reason(&m), "{body}");
                Err(m)
            }
            (d, m) => panic!("{body}: derive {d:?}, macro {m:?}"),
        }
    }

    #[test]
    fn decodes_as_derive_with_flatten_does() {
        let ok = [
            r#"{"name":"a"}"#,
            r#"{"name":"a","type":"b","count":3,"tags":["x"]}"#,
            r#"{"z":1,"name":"a","y":{"deep":[1,2,{"k":null}]},"count":null}"#,
            r#"{"na\u006de":"escaped key","ex\"tra":"v"}"#,
        ];
        for body in ok {
            assert_eq!(same(body), Ok(()));
        }
        let bad = [
            r#"{"type":"b"}"#,
            r#"{"name":5}"#,
            r#"{"name":"a","count":"many"}"#,
            r#"{"name":"a","name":"b"}"#,
            r#"["a"]"#,
            r#""a""#,
            r#"{"name":"a","tags":[1]}"#,
        ];
        for body in bad {
            assert!(same(body).is_err(), "{body}");
        }
    }

    #[test]
    fn unknown_members_keep_document_order() {
        let m: Macro =
            serde_json::from_value(json!({"b": 1, "name": "n", "a": 2})).expect("decodes");
        let keys: Vec<&str> = m.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b", "a"]);
    }
}
