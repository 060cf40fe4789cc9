//! Reading usage, messages and answers out of request and response bodies. Runs on the log
//! writer thread only, never on a worker.
//!
//! Bodies are in the client's wire format: OpenAI-shaped (chat, text completion, embeddings),
//! the Responses API, or Anthropic's Messages; usage is read from any of their spellings.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::entry::{LogContent, TokenUsage};
use crate::sse;

/// Bodies larger than this are not parsed (their usage and content are not logged).
pub const MAX_PARSED_BODY: usize = 4 << 20;

/// Longest text kept per message; longer ones are cut (at a character boundary) and marked.
pub const MAX_TEXT: usize = 16 * 1024;

/// Most messages kept from one request's input.
const MAX_MESSAGES: usize = 64;

/// `body` as JSON, when it is a JSON value of sane size.
pub fn parse_json(body: &[u8]) -> Option<Value> {
    if body.len() > MAX_PARSED_BODY {
        return None;
    }
    // serde_json stops at 128 nesting levels, so hostile bodies cannot exhaust the stack.
    serde_json::from_slice(body).ok()
}

/// Longest JSON piece copied out of a body as it is; longer ones are parsed and capped.
pub const MAX_RAW_PIECE: usize = 64 * 1024;

/// Whether `body` is safe to hand to sonic-rs's lazy reader (sane size, sane nesting).
fn lazily_readable(body: &[u8]) -> bool {
    body.len() <= MAX_PARSED_BODY && crate::json::check_depth(body, crate::json::MAX_DEPTH).is_ok()
}

/// A body checked once for sonic-rs's lazy reader, so that several reads of it pay for the
/// nesting pre-scan once.
#[derive(Debug, Clone, Copy)]
pub struct Lazy<'a>(&'a [u8]);

impl<'a> Lazy<'a> {
    /// `body`, when it is safe to read lazily (sane size, sane nesting).
    pub fn new(body: &'a [u8]) -> Option<Self> {
        lazily_readable(body).then_some(Self(body))
    }

    /// Appends the JSON value at `path` to `out` when it is there, small, and valid (checked
    /// without building it); false (and `out` untouched) otherwise.
    pub fn copy_raw(self, path: &[sonic_rs::PointerNode], out: &mut Vec<u8>) -> bool {
        let Ok(v) = sonic_rs::get(self.0, path) else {
            return false;
        };
        let raw = v.as_raw_str();
        // sonic-rs skips an ignored value with full validation, faster than serde_json; the
        // broken strings its skip lets through were rejected by the body's pre-scan (`new`).
        if raw.len() > MAX_RAW_PIECE || sonic_rs::from_str::<serde::de::IgnoredAny>(raw).is_err() {
            return false;
        }
        out.extend_from_slice(raw.as_bytes());
        true
    }

    /// Whether the body is a JSON object with a top-level `name`.
    pub fn has_field(self, name: &str) -> bool {
        may_have_key(self.0, name) && sonic_rs::get(self.0, [name]).is_ok()
    }

    /// Top-level `usage` of a complete answer, read without building the body.
    ///
    /// The counts are read off the `usage` object's members as they are (no `Value` is built:
    /// this runs for every logged answer); the spellings and precedence are [`usage`]'s.
    pub fn usage(self) -> Option<TokenUsage> {
        use sonic_rs::JsonValueTrait;
        let u = sonic_rs::get(self.0, ["usage"]).ok()?;
        let mut n: [Option<u64>; 5] = [None; 5];
        for member in sonic_rs::to_object_iter(u.as_raw_str()) {
            let (key, value) = member.ok()?;
            let Some(slot) = USAGE_COUNTS.iter().position(|c| *c == key.as_ref()) else {
                continue;
            };
            // The last of duplicate members wins, as when the object is parsed whole.
            n[slot] = value.as_u64();
        }
        counts_of(n)
    }
}

/// False when `body` cannot have a member named `name`: no `"name"` followed by a colon appears
/// anywhere (a body with an escape anywhere, or an unusual name, is left to the exact lookup).
/// Spares the lazy reader a failed lookup, whose error it formats, for the common answer "no".
fn may_have_key(body: &[u8], name: &str) -> bool {
    if memchr::memchr(b'\\', body).is_some()
        || name
            .bytes()
            .any(|b| !b.is_ascii_alphanumeric() && b != b'_')
    {
        return true;
    }
    let quoted = format!("\"{name}\"");
    memchr::memmem::find_iter(body, quoted.as_bytes()).any(|at| {
        body[at + quoted.len()..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b':')
    })
}

/// Token usage in any of the shapes providers and Bifrost use.
pub fn usage(body: &Value) -> Option<TokenUsage> {
    let u = body
        .get("usage")
        .or_else(|| body.get("message").and_then(|m| m.get("usage")))
        .or_else(|| body.get("response").and_then(|m| m.get("usage")))
        .filter(|u| u.is_object())?;
    let n = |names: &[&str]| names.iter().find_map(|k| u.get(*k).and_then(Value::as_u64));
    counts(
        n(&["prompt_tokens", "input_tokens"]),
        n(&["completion_tokens", "output_tokens"]),
        n(&["total_tokens"]),
    )
}

/// The count members of a `usage` object, in the order [`counts_of`] takes them.
pub(super) const USAGE_COUNTS: [&str; 5] = [
    "prompt_tokens",
    "input_tokens",
    "completion_tokens",
    "output_tokens",
    "total_tokens",
];

/// Usage from the [`USAGE_COUNTS`] found (a prompt spelling is taken before its alternative).
pub(super) fn counts_of(n: [Option<u64>; 5]) -> Option<TokenUsage> {
    counts(n[0].or(n[1]), n[2].or(n[3]), n[4])
}

/// Usage from the counts found; none when no count was.
fn counts(prompt: Option<u64>, completion: Option<u64>, total: Option<u64>) -> Option<TokenUsage> {
    if prompt.is_none() && completion.is_none() && total.is_none() {
        return None;
    }
    let (p, c) = (prompt.unwrap_or(0), completion.unwrap_or(0));
    Some(TokenUsage {
        prompt_tokens: p,
        completion_tokens: c,
        total_tokens: total.unwrap_or(p.saturating_add(c)),
    })
}

/// What a stream's events tell.
#[derive(Debug, Default, PartialEq)]
pub struct Streamed {
    /// Usage, merged across events (Anthropic reports input and output tokens separately).
    pub usage: Option<TokenUsage>,
    /// The answer text, concatenated from the deltas (capped).
    pub text: String,
}

/// Reads usage and the answer text out of SSE events as the client received them.
pub fn from_events(events: &[bytes::Bytes]) -> Streamed {
    let mut out = Streamed::default();
    let (mut prompt, mut completion, mut total) = (None, None, None);
    for ev in events {
        let Some(data) = sse::event_data(ev) else {
            continue;
        };
        // Read off the scanner's spans; the rare event it leaves is parsed whole.
        let parsed: Value;
        let (u, t) = match super::event::read(&data) {
            Some(e) => (e.usage, e.text),
            None => {
                let Some(v) = parse_json(&data) else {
                    continue;
                };
                parsed = v;
                (usage(&parsed), delta_text(&parsed).map(Cow::Borrowed))
            }
        };
        if let Some(u) = u {
            // Later events win, except that a zero never hides an earlier count.
            prompt = Some(u.prompt_tokens).filter(|n| *n > 0).or(prompt);
            completion = Some(u.completion_tokens).filter(|n| *n > 0).or(completion);
            total = Some(u.total_tokens).filter(|n| *n > 0).or(total);
        }
        if let Some(t) = t {
            push_capped(&mut out.text, &t);
        }
    }
    if prompt.is_some() || completion.is_some() {
        let (p, c) = (prompt.unwrap_or(0), completion.unwrap_or(0));
        out.usage = Some(TokenUsage {
            prompt_tokens: p,
            completion_tokens: c,
            total_tokens: total.filter(|t| *t >= p + c).unwrap_or(p + c),
        });
    }
    out
}

/// The text piece one streamed event carries.
pub(super) fn delta_text(v: &Value) -> Option<&str> {
    if let Some(choice) = v.get("choices").and_then(|c| c.get(0)) {
        return choice
            .get("delta")
            .and_then(|d| d.get("content"))
            .or_else(|| choice.get("text"))
            .and_then(Value::as_str);
    }
    match v.get("type").and_then(Value::as_str) {
        // Anthropic: content_block_delta {delta: {type: text_delta, text}}.
        Some("content_block_delta") => v.get("delta")?.get("text")?.as_str(),
        // Responses API: response.output_text.delta {delta: "..."}.
        Some("response.output_text.delta") => v.get("delta")?.as_str(),
        _ => None,
    }
}

fn push_capped(out: &mut String, piece: &str) {
    if out.len() >= MAX_TEXT {
        return;
    }
    out.push_str(&cap(piece, MAX_TEXT - out.len()));
}

/// `s`, cut to at most `max` bytes at a character boundary (with a marker when cut).
fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[truncated]", &s[..end])
}

/// An assistant message with `text` as its content.
pub fn assistant_message(text: &str) -> Value {
    json!({"role": "assistant", "content": text})
}

/// The answer message of a complete (non-streamed) response.
pub fn output_message(body: &Value) -> Option<Value> {
    if let Some(choice) = body.get("choices").and_then(|c| c.get(0)) {
        if let Some(msg) = choice.get("message") {
            return Some(capped_message(msg));
        }
        // Text completions: the choice's text.
        return choice
            .get("text")
            .and_then(Value::as_str)
            .map(|t| assistant_message(&cap(t, MAX_TEXT)));
    }
    // Anthropic Messages: text blocks of `content`.
    if body.get("type").and_then(Value::as_str) == Some("message") {
        let text = joined_text(body.get("content")?);
        return Some(assistant_message(&text));
    }
    // Responses API: the output items' text.
    if body.get("object").and_then(Value::as_str) == Some("response") {
        let mut text = String::new();
        for item in body.get("output")?.as_array()? {
            if let Some(c) = item.get("content") {
                push_capped(&mut text, &joined_text(c));
            }
        }
        return Some(assistant_message(&text));
    }
    None
}

/// Text of a content value: a string, or the `text` of each part.
fn joined_text(content: &Value) -> String {
    let mut out = String::new();
    match content {
        Value::String(s) => push_capped(&mut out, s),
        Value::Array(parts) => {
            for p in parts {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    push_capped(&mut out, t);
                }
            }
        }
        _ => {}
    }
    out
}

/// `msg` with long text content cut to [`MAX_TEXT`].
fn capped_message(msg: &Value) -> Value {
    let mut msg = msg.clone();
    if let Some(Value::String(s)) = msg.get_mut("content")
        && s.len() > MAX_TEXT
    {
        *s = cap(s, MAX_TEXT);
    }
    if let Some(Value::Array(parts)) = msg.get_mut("content") {
        for p in parts {
            if let Some(Value::String(t)) = p.get_mut("text")
                && t.len() > MAX_TEXT
            {
                *t = cap(t, MAX_TEXT);
            }
        }
    }
    msg
}

/// A request's input, as Bifrost logs it.
#[derive(Debug, Default, PartialEq)]
pub struct Input {
    /// `input_history`: chat messages (text completions: the prompt as a user message).
    pub history: Option<Value>,
    /// `responses_input_history`: Responses API input items.
    pub responses: Option<Value>,
}

/// Reads the input of a request of type `object` (embeddings log none, as Bifrost).
pub fn input(req: &Value, object: &str) -> Input {
    let mut out = Input::default();
    if object.starts_with("responses") {
        out.responses = match req.get("input") {
            Some(Value::String(s)) => Some(json!([{"role": "user", "content": cap(s, MAX_TEXT)}])),
            Some(Value::Array(items)) => Some(Value::Array(
                items
                    .iter()
                    .take(MAX_MESSAGES)
                    .map(capped_message)
                    .collect(),
            )),
            _ => None,
        };
        return out;
    }
    if object.starts_with("embedding") {
        return out;
    }
    let mut messages: Vec<Value> = Vec::new();
    // Anthropic's top-level `system` is a message of its own in Bifrost's unified form.
    if let Some(system) = req.get("system") {
        messages.push(json!({"role": "system", "content": joined_text(system)}));
    }
    match (req.get("messages"), req.get("prompt")) {
        (Some(Value::Array(ms)), _) => {
            messages.extend(ms.iter().take(MAX_MESSAGES).map(capped_message));
        }
        (_, Some(Value::String(p))) => {
            messages.push(json!({"role": "user", "content": cap(p, MAX_TEXT)}));
        }
        (_, Some(Value::Array(ps))) => {
            for p in ps.iter().take(MAX_MESSAGES).filter_map(Value::as_str) {
                messages.push(json!({"role": "user", "content": cap(p, MAX_TEXT)}));
            }
        }
        _ => {}
    }
    if !messages.is_empty() {
        out.history = Some(Value::Array(messages));
    }
    out
}

/// The lower-cased text of every message and the answer, for `content_search`.
pub fn search_text(content: &LogContent) -> String {
    let mut out = String::new();
    let mut add = |v: &Value| {
        let t = match v.get("content") {
            Some(c) => joined_text(c),
            None => String::new(),
        };
        if !t.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&t.to_lowercase());
        }
    };
    for list in [&content.input_history, &content.responses_input_history]
        .into_iter()
        .flatten()
    {
        for m in list.as_array().into_iter().flatten() {
            add(m);
        }
    }
    if let Some(m) = &content.output_message {
        add(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_key_is_ruled_out_only_when_no_member_can_have_it() {
        let body = br#"{"model":"m","messages":[{"role":"system","content":"be brief"}]}"#;
        assert!(!may_have_key(body, "system"), "a value, not a key");
        assert!(may_have_key(body, "messages"));
        let anthropic = br#"{"system" : "be brief","messages":[]}"#;
        assert!(may_have_key(anthropic, "system"));
        let lazy = Lazy::new(anthropic).expect("readable");
        assert!(lazy.has_field("system"));
        assert!(!Lazy::new(body).expect("readable").has_field("system"));
        let escaped = br#"{"sys\u0074em":"be brief","messages":[]}"#;
        assert!(Lazy::new(escaped).expect("readable").has_field("system"));
    }

    #[test]
    fn usage_in_every_spelling() {
        let openai =
            json!({"usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}});
        assert_eq!(usage(&openai).map(|u| u.total_tokens), Some(7));
        let anthropic =
            json!({"type": "message", "usage": {"input_tokens": 5, "output_tokens": 2}});
        assert_eq!(
            usage(&anthropic),
            Some(TokenUsage {
                prompt_tokens: 5,
                completion_tokens: 2,
                total_tokens: 7
            })
        );
        assert_eq!(usage(&json!({"usage": null})), None);
        assert_eq!(usage(&json!({"id": "x"})), None);
        // The lazy read of an answer's top-level usage agrees with the parsed one.
        for body in [
            json!({"id": "a", "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}),
            json!({"usage": {"input_tokens": 5, "output_tokens": 2}, "type": "message"}),
            json!({"usage": {"prompt_tokens": "x", "input_tokens": 9}}),
            json!({"usage": {"total_tokens": 11}}),
            json!({"usage": {"other": 1}}),
            json!({"usage": null}),
            json!({"usage": [1, 2]}),
            json!({"id": "x"}),
        ] {
            let raw = serde_json::to_vec(&body).expect("encodes");
            let lazy = Lazy::new(&raw).expect("readable");
            assert_eq!(lazy.usage(), usage(&body), "{body}");
        }
    }

    #[test]
    fn stream_events_give_usage_and_text() {
        let events: Vec<Bytes> = [
            r#"data: {"choices":[{"delta":{"role":"assistant"}}]}"#,
            r#"data: {"choices":[{"delta":{"content":"echo:"}}]}"#,
            r#"data: {"choices":[{"delta":{"content":" hi"}}]}"#,
            r#"data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
            "data: [DONE]",
        ]
        .iter()
        .map(|s| Bytes::from(format!("{s}\n\n")))
        .collect();
        let s = from_events(&events);
        assert_eq!(s.text, "echo: hi");
        assert_eq!(s.usage.map(|u| u.total_tokens), Some(3));
        let anthropic: Vec<Bytes> = [
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4,\"output_tokens\":0}}}",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":6}}",
        ]
        .iter()
        .map(|s| Bytes::from(format!("{s}\n\n")))
        .collect();
        let s = from_events(&anthropic);
        assert_eq!(s.text, "ok");
        assert_eq!(
            s.usage,
            Some(TokenUsage {
                prompt_tokens: 4,
                completion_tokens: 6,
                total_tokens: 10
            })
        );
    }

    #[test]
    fn inputs_and_caps() {
        let long = "é".repeat(MAX_TEXT);
        let req = json!({"system": "be brief", "messages": [{"role": "user", "content": long}]});
        let inp = input(&req, "chat_completion");
        let h = inp.history.expect("history");
        assert_eq!(h[0]["role"], "system");
        let text = h[1]["content"].as_str().expect("text");
        assert!(text.len() < MAX_TEXT + 20 && text.ends_with("[truncated]"));
        let r = input(&json!({"input": "hello"}), "responses");
        assert_eq!(
            r.responses,
            Some(json!([{"role": "user", "content": "hello"}]))
        );
        assert_eq!(input(&json!({"input": "x"}), "embedding"), Input::default());
        assert_eq!(
            input(&json!({"prompt": "p"}), "text_completion").history,
            Some(json!([{"role": "user", "content": "p"}]))
        );
    }

    #[test]
    fn output_messages() {
        let chat = json!({"choices": [{"message": {"role": "assistant", "content": "a"}}]});
        assert_eq!(output_message(&chat), Some(assistant_message("a")));
        let text = json!({"choices": [{"text": "t"}]});
        assert_eq!(output_message(&text), Some(assistant_message("t")));
        let anthropic = json!({"type": "message", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]});
        assert_eq!(output_message(&anthropic), Some(assistant_message("x y")));
        assert_eq!(output_message(&json!({"data": []})), None);
    }
}
