//! OpenAI `chat.completion.chunk` events as every provider-to-OpenAI stream translator writes
//! them: one prefix (id, created, model) per stream, then deltas, a usage chunk, `[DONE]`, or
//! Bifrost's error event. Written by hand: this runs once per streamed event.

use bytes::Bytes;

use crate::error::{ErrorContext, GatewayError, ProviderError};
use crate::json::write_json_string;

/// The last event of a successful stream.
pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// What one chunk carries for one choice.
#[derive(Debug, Clone, Copy)]
pub enum Delta<'a> {
    /// The assistant role, first in each choice.
    Role,
    /// Answer text.
    Content(&'a str),
    /// Reasoning text (`reasoning`, as OpenAI-compatible reasoning models send it).
    Reasoning(&'a str),
    /// A tool call opens: its id and name, arguments to follow.
    ToolStart {
        /// Position among the message's tool calls.
        index: u32,
        /// Call id.
        id: &'a str,
        /// Function name.
        name: &'a str,
    },
    /// More of a tool call's arguments.
    ToolArgs {
        /// Position among the message's tool calls.
        index: u32,
        /// JSON text to append.
        arguments: &'a str,
    },
    /// A whole tool call in one chunk (formats that never split one).
    Tool {
        /// Position among the message's tool calls.
        index: u32,
        /// Call id.
        id: &'a str,
        /// Function name.
        name: &'a str,
        /// The arguments' JSON text.
        arguments: &'a str,
    },
    /// The finish reason, with an empty delta.
    Finish(&'a str),
}

/// Writes the chunks of one stream.
#[derive(Debug, Default)]
pub struct ChunkWriter {
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…`, once known.
    prefix: Vec<u8>,
}

impl ChunkWriter {
    /// Fixes the stream's id and model (created is now).
    pub fn start(&mut self, id: &str, model: &str) {
        let mut p = Vec::with_capacity(96 + id.len() + model.len());
        p.extend_from_slice(b"data: {\"id\":");
        write_json_string(&mut p, id);
        p.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        p.extend_from_slice(now_secs().to_string().as_bytes());
        p.extend_from_slice(b",\"model\":");
        write_json_string(&mut p, model);
        self.prefix = p;
    }

    /// Whether [`ChunkWriter::start`] was called.
    pub fn is_started(&self) -> bool {
        !self.prefix.is_empty()
    }

    /// One chunk with `delta` for choice `choice`.
    pub fn delta(&self, out: &mut Vec<Bytes>, choice: u32, delta: Delta<'_>) {
        let mut ev = Vec::with_capacity(self.prefix.len() + 128);
        ev.extend_from_slice(&self.prefix);
        ev.extend_from_slice(b",\"choices\":[{\"index\":");
        ev.extend_from_slice(choice.to_string().as_bytes());
        ev.extend_from_slice(b",\"delta\":");
        let mut finish = None;
        match delta {
            Delta::Role => ev.extend_from_slice(b"{\"role\":\"assistant\",\"content\":\"\"}"),
            Delta::Content(t) => {
                ev.extend_from_slice(b"{\"content\":");
                write_json_string(&mut ev, t);
                ev.push(b'}');
            }
            Delta::Reasoning(t) => {
                ev.extend_from_slice(b"{\"reasoning\":");
                write_json_string(&mut ev, t);
                ev.push(b'}');
            }
            Delta::ToolStart { index, id, name } => {
                tool_head(&mut ev, index, id, name);
                ev.extend_from_slice(b",\"arguments\":\"\"}}]}");
            }
            Delta::ToolArgs { index, arguments } => {
                ev.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
                ev.extend_from_slice(index.to_string().as_bytes());
                ev.extend_from_slice(b",\"function\":{\"arguments\":");
                write_json_string(&mut ev, arguments);
                ev.extend_from_slice(b"}}]}");
            }
            Delta::Tool {
                index,
                id,
                name,
                arguments,
            } => {
                tool_head(&mut ev, index, id, name);
                ev.extend_from_slice(b",\"arguments\":");
                write_json_string(&mut ev, arguments);
                ev.extend_from_slice(b"}}]}");
            }
            Delta::Finish(f) => {
                ev.extend_from_slice(b"{}");
                finish = Some(f);
            }
        }
        ev.extend_from_slice(b",\"finish_reason\":");
        match finish {
            Some(f) => write_json_string(&mut ev, f),
            None => ev.extend_from_slice(b"null"),
        }
        ev.extend_from_slice(b"}]}\n\n");
        out.push(Bytes::from(ev));
    }

    /// The usage chunk (no choices), `usage` being the encoded OpenAI usage object.
    pub fn usage(&self, out: &mut Vec<Bytes>, usage: &[u8]) {
        let mut ev = Vec::with_capacity(self.prefix.len() + usage.len() + 32);
        ev.extend_from_slice(&self.prefix);
        ev.extend_from_slice(b",\"choices\":[],\"usage\":");
        ev.extend_from_slice(usage);
        ev.extend_from_slice(b"}\n\n");
        out.push(Bytes::from(ev));
    }
}

fn tool_head(ev: &mut Vec<u8>, index: u32, id: &str, name: &str) {
    ev.extend_from_slice(b"{\"tool_calls\":[{\"index\":");
    ev.extend_from_slice(index.to_string().as_bytes());
    ev.extend_from_slice(b",\"id\":");
    write_json_string(ev, id);
    ev.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
    write_json_string(ev, name);
}

/// `data: {"error": <Bifrost error JSON>}`: how a provider's error ends a translated stream.
pub fn error_event(status: u16, kind: Option<String>, message: String) -> Bytes {
    let err = GatewayError::Provider(Box::new(ProviderError {
        status,
        kind,
        message,
        ..ProviderError::default()
    }));
    let body = err.to_bifrost(&ErrorContext::default());
    let mut ev = Vec::with_capacity(body.len() + 24);
    ev.extend_from_slice(b"data: {\"error\":");
    ev.extend_from_slice(&body);
    ev.extend_from_slice(b"}\n\n");
    Bytes::from(ev)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(ev: &Bytes) -> Value {
        let data = ev
            .strip_prefix(b"data: ")
            .and_then(|d| d.strip_suffix(b"\n\n"))
            .expect("framed");
        serde_json::from_slice(data).expect("json")
    }

    #[test]
    fn deltas_usage_and_errors_are_openai_chunks() {
        let mut w = ChunkWriter::default();
        assert!(!w.is_started());
        w.start("chatcmpl-1", "m \"quoted\"");
        let mut out = Vec::new();
        w.delta(&mut out, 0, Delta::Role);
        w.delta(&mut out, 1, Delta::Content("hi \"there\""));
        w.delta(
            &mut out,
            0,
            Delta::ToolStart {
                index: 2,
                id: "call_1",
                name: "f",
            },
        );
        w.delta(
            &mut out,
            0,
            Delta::ToolArgs {
                index: 2,
                arguments: "{\"a\":",
            },
        );
        w.delta(
            &mut out,
            0,
            Delta::Tool {
                index: 3,
                id: "call_2",
                name: "g",
                arguments: "{}",
            },
        );
        w.delta(&mut out, 0, Delta::Finish("tool_calls"));
        w.usage(
            &mut out,
            br#"{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}"#,
        );
        let v: Vec<Value> = out.iter().map(parse).collect();
        assert_eq!(v[0]["id"], "chatcmpl-1");
        assert_eq!(v[0]["model"], "m \"quoted\"");
        assert_eq!(v[0]["object"], "chat.completion.chunk");
        assert_eq!(
            v[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(v[1]["choices"][0]["index"], 1);
        assert_eq!(v[1]["choices"][0]["delta"]["content"], "hi \"there\"");
        assert_eq!(
            v[2]["choices"][0]["delta"]["tool_calls"][0],
            json!({"index": 2, "id": "call_1", "type": "function",
                   "function": {"name": "f", "arguments": ""}})
        );
        assert_eq!(
            v[3]["choices"][0]["delta"]["tool_calls"][0],
            json!({"index": 2, "function": {"arguments": "{\"a\":"}})
        );
        assert_eq!(
            v[4]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        assert_eq!(v[5]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v[5]["choices"][0]["delta"], json!({}));
        assert_eq!(v[6]["choices"], json!([]));
        assert_eq!(v[6]["usage"]["total_tokens"], 3);

        let e = parse(&error_event(
            529,
            Some("overloaded_error".into()),
            "busy".into(),
        ));
        assert_eq!(e["error"]["status_code"], 529);
        assert_eq!(e["error"]["error"]["message"], "busy");
    }
}
