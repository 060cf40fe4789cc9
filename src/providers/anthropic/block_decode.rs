//! `Deserialize` for [`Block`] in one pass when `type` is the first member.
//!
//! Derived, an internally tagged enum buffers every block as serde's `Content` before it
//! knows the variant. Anthropic, its SDKs and the OpenAI-to-Anthropic translator all write
//! `type` first, so the tag is read first and the variant's members decoded straight from the
//! input; a block with `type` elsewhere is gathered into a JSON object and read again.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::wire::Block;
use crate::providers::cow_str::CowStr;
use crate::providers::members::read_members;

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BlockVisitor)
    }
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = Block;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("internally tagged enum Block")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Block, A::Error> {
        let Some(first) = map.next_key::<CowStr<'_>>()? else {
            return Err(de::Error::missing_field("type"));
        };
        if first.0 == "type" {
            let tag: CowStr<'_> = map.next_value()?;
            return variant(&tag.0, map);
        }
        let mut object = Map::new();
        object.insert(first.0.into_owned(), map.next_value()?);
        while let Some(key) = map.next_key::<CowStr<'_>>()? {
            object.insert(key.0.into_owned(), map.next_value()?);
        }
        let Some(tag) = object.shift_remove("type") else {
            return Err(de::Error::missing_field("type"));
        };
        object.shift_insert(0, "type".to_owned(), tag);
        Block::deserialize(Value::Object(object)).map_err(de::Error::custom)
    }
}

/// The members of the block tagged `tag`; unknown members are skipped, unknown tags are
/// [`Block::Unknown`] (as `#[serde(other)]` did).
fn variant<'de, A: MapAccess<'de>>(tag: &str, mut map: A) -> Result<Block, A::Error> {
    Ok(match tag {
        "text" => {
            read_members!(map, _; text: "text", cache_control: "cache_control" = None);
            Block::Text {
                text,
                cache_control,
            }
        }
        "image" => {
            read_members!(map, _; source: "source", cache_control: "cache_control" = None);
            Block::Image {
                source,
                cache_control,
            }
        }
        "tool_use" => {
            read_members!(map, _;
                id: "id",
                name: "name",
                input: "input" = Value::Null,
                cache_control: "cache_control" = None,
            );
            Block::ToolUse {
                id,
                name,
                input,
                cache_control,
            }
        }
        "tool_result" => {
            read_members!(map, _;
                tool_use_id: "tool_use_id",
                content: "content" = None,
                is_error: "is_error" = None,
                cache_control: "cache_control" = None,
            );
            Block::ToolResult {
                tool_use_id,
                content,
                is_error,
                cache_control,
            }
        }
        "thinking" => {
            read_members!(map, _;
                thinking: "thinking" = String::new(),
                signature: "signature" = String::new(),
            );
            Block::Thinking {
                thinking,
                signature,
            }
        }
        "redacted_thinking" => {
            read_members!(map, _; data: "data" = String::new());
            Block::RedactedThinking { data }
        }
        _ => {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            Block::Unknown
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::wire::{Block, ImageSource};

    /// The derived decoder this replaces, to hold the hand-written one to it.
    #[derive(Debug, serde::Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Derived {
        Text {
            text: String,
            #[serde(default)]
            cache_control: Option<Value>,
        },
        Image {
            source: ImageSource,
            #[serde(default)]
            cache_control: Option<Value>,
        },
        ToolUse {
            id: String,
            name: String,
            #[serde(default)]
            input: Value,
            #[serde(default)]
            cache_control: Option<Value>,
        },
        ToolResult {
            tool_use_id: String,
            #[serde(default)]
            content: Option<super::super::wire::Content>,
            #[serde(default)]
            is_error: Option<bool>,
            #[serde(default)]
            cache_control: Option<Value>,
        },
        Thinking {
            #[serde(default)]
            thinking: String,
            #[serde(default)]
            signature: String,
        },
        RedactedThinking {
            #[serde(default)]
            data: String,
        },
        #[serde(other)]
        Unknown,
    }

    fn as_block(d: Derived) -> Block {
        match d {
            Derived::Text {
                text,
                cache_control,
            } => Block::Text {
                text,
                cache_control,
            },
            Derived::Image {
                source,
                cache_control,
            } => Block::Image {
                source,
                cache_control,
            },
            Derived::ToolUse {
                id,
                name,
                input,
                cache_control,
            } => Block::ToolUse {
                id,
                name,
                input,
                cache_control,
            },
            Derived::ToolResult {
                tool_use_id,
                content,
                is_error,
                cache_control,
            } => Block::ToolResult {
                tool_use_id,
                content,
                is_error,
                cache_control,
            },
            Derived::Thinking {
                thinking,
                signature,
            } => Block::Thinking {
                thinking,
                signature,
            },
            Derived::RedactedThinking { data } => Block::RedactedThinking { data },
            Derived::Unknown => Block::Unknown,
        }
    }

    #[test]
    fn decodes_as_the_derived_tagged_enum() {
        let ok = [
            r#"{"type":"text","text":"hi"}"#,
            r#"{"text":"tag last","type":"text"}"#,
            r#"{"type":"text","text":"a","cache_control":{"type":"ephemeral"},"citations":[]}"#,
            r#"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}"#,
            r#"{"type":"tool_use","id":"t1","name":"f","input":{"a":[1,{"b":null}]}}"#,
            r#"{"id":"t1","type":"tool_use","name":"f"}"#,
            r#"{"type":"tool_result","tool_use_id":"t1","content":"ok","is_error":false}"#,
            r#"{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"x"}]}"#,
            r#"{"type":"thinking","thinking":"hm","signature":"s"}"#,
            r#"{"type":"redacted_thinking"}"#,
            r#"{"type":"server_tool_use","id":"x","input":{}}"#,
            r#"{"type":"te\u0078t","text":"escaped tag"}"#,
        ];
        for body in ok {
            let derived = as_block(serde_json::from_str::<Derived>(body).expect(body));
            let ours: Block = serde_json::from_str(body).expect(body);
            assert_eq!(derived, ours, "{body}");
        }
        let bad = [
            r#"{"text":"no tag"}"#,
            r#"{}"#,
            r#"{"type":"text"}"#,
            r#"{"type":"text","text":5}"#,
            r#"{"type":"text","text":"a","text":"b"}"#,
            r#"{"type":7,"text":"a"}"#,
            r#"{"type":"tool_use","id":"t"}"#,
        ];
        for body in bad {
            assert!(
                serde_json::from_str::<Derived>(body).is_err(),
                "derived: {body}"
            );
            assert!(serde_json::from_str::<Block>(body).is_err(), "ours: {body}");
        }
        // Derive also took a block written as an array (tag first); a JSON object is the
        // only shape Anthropic defines, and the only one Bifrost's Go structs accept.
        assert!(serde_json::from_str::<Derived>(r#"["text","a"]"#).is_ok());
        assert!(serde_json::from_str::<Block>(r#"["text","a"]"#).is_err());
    }
}
