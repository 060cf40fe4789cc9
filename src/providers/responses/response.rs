//! Chat completion -> Responses `response` object.

use serde_json::{Map, Value, json};

use crate::providers::unified::{ChatResponse, ToolCall, TranslateError, Usage, decode, encode};

/// Translates a `chat.completion` body into a Responses `response` object.
pub fn response_from_chat(body: &[u8]) -> Result<Vec<u8>, TranslateError> {
    let chat: ChatResponse = decode(body)?;
    let mut output = Vec::new();
    let mut finish = None;
    if let Some(choice) = chat.choices.first() {
        let msg = &choice.message;
        finish = choice.finish_reason.as_deref();
        if let Some(reasoning) = msg.reasoning.as_deref().filter(|r| !r.is_empty()) {
            output.push(json!({
                "type": "reasoning",
                "id": format!("rs_{}", chat.id),
                "summary": [{"type": "summary_text", "text": reasoning}],
            }));
        }
        let mut content = Vec::new();
        if let Some(text) = msg.content.as_deref().filter(|t| !t.is_empty()) {
            content.push(output_text(text));
        }
        if let Some(refusal) = msg.refusal.as_deref().filter(|r| !r.is_empty()) {
            content.push(json!({"type": "refusal", "refusal": refusal}));
        }
        if !content.is_empty() {
            output.push(message_item(&format!("msg_{}", chat.id), content));
        }
        for call in msg.tool_calls.iter().flatten() {
            output.push(function_call_item(call));
        }
    }
    let (status, incomplete) = status_of(finish);
    let mut resp = Map::new();
    resp.insert("id".into(), json!(format!("resp_{}", chat.id)));
    resp.insert("object".into(), json!("response"));
    resp.insert("created_at".into(), json!(chat.created));
    resp.insert("status".into(), json!(status));
    resp.insert("error".into(), Value::Null);
    resp.insert("incomplete_details".into(), incomplete);
    resp.insert("model".into(), json!(chat.model));
    resp.insert("output".into(), Value::Array(output));
    resp.insert("parallel_tool_calls".into(), json!(true));
    resp.insert("tool_choice".into(), json!("auto"));
    resp.insert("tools".into(), json!([]));
    resp.insert("usage".into(), usage(chat.usage.as_ref()));
    Ok(encode(&resp))
}

/// A completed `output_text` content part.
pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": []})
}

/// A completed assistant `message` output item.
pub(super) fn message_item(id: &str, content: Vec<Value>) -> Value {
    json!({
        "type": "message",
        "id": id,
        "status": "completed",
        "role": "assistant",
        "content": content,
    })
}

fn function_call_item(call: &ToolCall) -> Value {
    json!({
        "type": "function_call",
        "id": format!("fc_{}", call.id),
        "call_id": call.id,
        "name": call.function.name,
        "arguments": call.function.arguments,
        "status": "completed",
    })
}

/// The response status and `incomplete_details` for a chat `finish_reason`.
pub(super) fn status_of(finish_reason: Option<&str>) -> (&'static str, Value) {
    match finish_reason {
        Some("length") => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some("content_filter") => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

/// Chat usage in the Responses shape (`input_tokens` / `output_tokens`).
pub(super) fn usage(usage: Option<&Usage>) -> Value {
    let Some(u) = usage else {
        return Value::Null;
    };
    let reasoning = u
        .completion_tokens_details
        .as_ref()
        .and_then(|d| d.reasoning_tokens)
        .unwrap_or(0);
    json!({
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens()},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": u.total_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translate(body: &[u8]) -> Value {
        serde_json::from_slice(&response_from_chat(body).expect("translates")).expect("json")
    }

    #[test]
    fn fixture_text_answer() {
        let got = translate(include_bytes!(
            "../../../tests/fixtures/responses/chat_text.json"
        ));
        let expected: Value = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/responses/chat_text.response.json"
        ))
        .expect("fixture");
        assert_eq!(got, expected);
    }

    #[test]
    fn tool_calls_become_function_call_items() {
        let got = translate(include_bytes!(
            "../../../tests/fixtures/responses/chat_tool_calls.json"
        ));
        let output = got["output"].as_array().expect("output");
        assert_eq!(output.len(), 2);
        assert_eq!(output[0]["type"], "function_call");
        assert_eq!(output[0]["call_id"], "call_a");
        assert_eq!(output[0]["name"], "get_weather");
        assert_eq!(output[0]["arguments"], "{\"city\":\"Paris\"}");
        assert_eq!(output[1]["call_id"], "call_b");
        assert_eq!(got["status"], "completed");
    }

    #[test]
    fn length_is_incomplete_and_reasoning_is_kept() {
        let got = translate(
            br#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,
            "message":{"role":"assistant","content":"par","reasoning":"thinking"},"finish_reason":"length"}]}"#,
        );
        assert_eq!(got["status"], "incomplete");
        assert_eq!(got["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(got["output"][0]["type"], "reasoning");
        assert_eq!(got["output"][0]["summary"][0]["text"], "thinking");
        assert_eq!(got["output"][1]["content"][0]["text"], "par");
        assert_eq!(got["usage"], Value::Null);
        assert!(response_from_chat(b"{\"choices\":3}").is_err());
    }
}
