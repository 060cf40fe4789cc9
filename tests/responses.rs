//! The OpenAI Responses API (`/v1/responses`, `/openai/v1/responses`) through ringway: native
//! passthrough to openai, and translation through chat for OpenAI-compatible providers and
//! Anthropic, streams (`event:` framing, no `[DONE]`), function calling and errors included.

mod common;

use common::{Gateway, Mock, one_key, recorded_body, recorded_headers};
use serde_json::{Value, json};

fn gateway(mock: &Mock) -> Gateway {
    Gateway::start(&json!({ "providers": {
        "openai": { "keys": one_key("sk-oai-1"), "network_config": { "base_url": mock.url() } },
        "groq": { "keys": one_key("gsk-1"), "network_config": { "base_url": mock.url() } },
        "anthropic": { "keys": one_key("sk-ant-1"), "network_config": { "base_url": mock.url() } }
    }}))
}

fn body(model: &str, input: Value, stream: bool) -> Value {
    json!({ "model": model, "input": input, "instructions": "be brief", "stream": stream })
}

/// `(event name, data)` of each SSE event; every event must have both lines.
fn events(text: &str) -> Vec<(String, Value)> {
    assert!(
        !text.contains("[DONE]"),
        "Responses streams have no [DONE]: {text}"
    );
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_else(|| panic!("event without a name: {e:?}"));
            let data = e
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_else(|| panic!("event without data: {e:?}"));
            let v = serde_json::from_str(data).unwrap_or_else(|_| panic!("data not JSON: {e:?}"));
            (name.to_string(), v)
        })
        .collect()
}

/// The concatenated `response.output_text.delta` texts.
fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .filter_map(|(_, d)| d["delta"].as_str())
        .collect()
}

fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["type"] == "message")
        .flat_map(|o| o["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["text"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn native_passthrough_to_openai() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let raw = br#"{"model":"gpt-4o-mini","input":"hello native","store":false,"include":["reasoning.encrypted_content"]}"#;
    let r = common::http::request(
        gw.addr,
        "POST",
        "/openai/v1/responses",
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer client-key-must-not-leak"),
        ],
        raw,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "response");
    assert_eq!(
        v["id"].as_str().map(|i| i.starts_with("resp_mock_")),
        Some(true),
        "{v}"
    );
    assert_eq!(output_text(&v), "echo: hello native");
    assert_eq!(v["extra_fields"]["provider"], "openai");
    assert_eq!(v["extra_fields"]["request_type"], "responses");
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/responses");
    assert_eq!(
        sent["body"].as_str().map(str::as_bytes),
        Some(&raw[..]),
        "forwarded byte for byte"
    );
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer sk-oai-1"]
    );

    // The unified route names the provider; the model is spliced.
    let r = gw.post(
        "/v1/responses",
        &body("openai/gpt-4o", json!("unified"), false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(output_text(&r.json()), "echo: unified");
    let up = recorded_body(&mock.requests()[1]);
    assert_eq!(up["model"], "gpt-4o");
    assert_eq!(up["instructions"], "be brief");
}

#[test]
fn native_stream_is_relayed_with_event_framing() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/responses",
        &body("openai/gpt-4o", json!("stream natively"), true),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let evs = events(&r.text());
    assert_eq!(evs[0].0, "response.created");
    assert_eq!(evs.last().map(|e| e.0.as_str()), Some("response.completed"));
    assert_eq!(streamed_text(&evs), "echo: stream natively");
    assert_eq!(mock.requests()[0]["path"], "/v1/responses");
}

#[test]
fn translated_via_openai_compatible_provider() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let input = json!([
        { "role": "user", "content": [{ "type": "input_text", "text": "hi groq" }] }
    ]);
    let mut req = body("groq/llama-3.3-70b", input, false);
    req["max_output_tokens"] = json!(40);
    let r = gw.post("/v1/responses", &req);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "response", "{v}");
    assert_eq!(v["status"], "completed");
    assert_eq!(output_text(&v), "echo: hi groq");
    assert!(
        v["usage"]["input_tokens"].as_u64().is_some_and(|n| n > 0),
        "{v}"
    );
    assert!(
        v["usage"]["output_tokens"].as_u64().is_some_and(|n| n > 0),
        "{v}"
    );
    assert_eq!(v["extra_fields"]["provider"], "groq");

    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/chat/completions");
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer gsk-1"]
    );
    let up = recorded_body(sent);
    assert_eq!(up["model"], "llama-3.3-70b");
    assert_eq!(up["max_completion_tokens"], 40);
    assert_eq!(
        up["messages"][0],
        json!({ "role": "system", "content": "be brief" })
    );
    assert_eq!(
        up["messages"][1],
        json!({ "role": "user", "content": "hi groq" })
    );
    assert!(up.get("input").is_none(), "{up}");
}

#[test]
fn translated_stream_via_openai_compatible_provider() {
    let mock = Mock::start(&["--chunks", "6"]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/responses",
        &body("groq/llama", json!("stream through chat"), true),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let evs = events(&r.text());
    let names: Vec<&str> = evs.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        &names[..4],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added"
        ]
    );
    assert_eq!(names.last(), Some(&"response.completed"));
    for (i, (name, data)) in evs.iter().enumerate() {
        assert_eq!(data["type"], name.as_str());
        assert_eq!(data["sequence_number"], i);
    }
    assert_eq!(streamed_text(&evs), "echo: stream through chat");
    let done = &evs.last().expect("completed").1["response"];
    assert_eq!(output_text(done), "echo: stream through chat");
    assert!(
        done["usage"]["output_tokens"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{done}"
    );
    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(up["stream"], true);
    assert_eq!(
        up["stream_options"]["include_usage"], true,
        "usage asked for: {up}"
    );
}

#[test]
fn translated_via_anthropic() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/responses",
        &body("anthropic/claude-3-5-haiku", json!("hello claude"), false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "response", "{v}");
    assert_eq!(output_text(&v), "echo: hello claude");
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/messages");
    assert_eq!(recorded_headers(sent, "x-api-key"), vec!["sk-ant-1"]);
    let up = recorded_body(sent);
    assert_eq!(up["system"], "be brief");
    assert_eq!(up["model"], "claude-3-5-haiku");

    let r = gw.post(
        "/v1/responses",
        &body("anthropic/claude-3-5-haiku", json!("stream claude"), true),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let evs = events(&r.text());
    assert_eq!(evs[0].0, "response.created");
    assert_eq!(
        evs.last().map(|e| e.0.as_str()),
        Some("response.completed"),
        "{evs:?}"
    );
    assert_eq!(streamed_text(&evs), "echo: stream claude");
}

#[test]
fn function_calling_round_trip() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let tools = json!([{ "type": "function", "name": "get_weather", "description": "weather",
        "parameters": { "type": "object", "properties": {} } }]);
    for provider in ["groq/llama", "anthropic/claude-3-5-haiku", "openai/gpt-4o"] {
        let mut req = body(provider, json!("please call a tool"), false);
        req["tools"] = tools.clone();
        let r = gw.post("/v1/responses", &req);
        assert_eq!(r.status, 200, "{provider}: {}", r.text());
        let v = r.json();
        let call = v["output"]
            .as_array()
            .and_then(|o| o.iter().find(|i| i["type"] == "function_call"))
            .unwrap_or_else(|| panic!("{provider}: no function_call in {v}"))
            .clone();
        assert_eq!(call["name"], "get_weather", "{provider}");
        let call_id = call["call_id"].as_str().expect("call_id").to_string();

        // Second turn: the call and its output go back; the model answers in text.
        mock.clear();
        let req = json!({ "model": provider, "tools": tools, "input": [
            { "role": "user", "content": "please call a tool" },
            { "type": "function_call", "call_id": call_id, "name": "get_weather", "arguments": "{}" },
            { "type": "function_call_output", "call_id": call_id, "output": "sunny" },
            { "role": "user", "content": "thanks" }
        ]});
        let r = gw.post("/v1/responses", &req);
        assert_eq!(r.status, 200, "{provider}: {}", r.text());
        assert_eq!(output_text(&r.json()), "echo: thanks", "{provider}");
        let up = recorded_body(&mock.requests()[0]);
        let text = up.to_string();
        assert!(
            text.contains(&call_id) && text.contains("sunny"),
            "{provider}: {up}"
        );
    }

    // Streamed tool call through chat.
    let mut req = body("groq/llama", json!("call a tool now"), true);
    req["tools"] = tools;
    let r = gw.post("/v1/responses", &req);
    let evs = events(&r.text());
    let added = evs
        .iter()
        .find(|(n, d)| n == "response.output_item.added" && d["item"]["type"] == "function_call")
        .expect("function_call item");
    assert_eq!(added.1["item"]["name"], "get_weather");
    let args = evs
        .iter()
        .find(|(n, _)| n == "response.function_call_arguments.done")
        .expect("arguments done");
    assert_eq!(args.1["arguments"], "{}");
    assert_eq!(evs.last().map(|e| e.0.as_str()), Some("response.completed"));
}

#[test]
fn errors() {
    let mock = Mock::start(&["--chunks", "6"]);
    let gw = gateway(&mock);
    // ringway keeps no state: previous_response_id is refused before any upstream call.
    let mut req = body("groq/llama", json!("x"), false);
    req["previous_response_id"] = json!("resp_123");
    let r = gw.post("/v1/responses", &req);
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("previous_response_id")),
        "{v}"
    );
    assert_eq!(v["extra_fields"]["request_type"], "responses");
    assert!(mock.requests().is_empty());

    // Provider errors: Bifrost's error JSON with the provider's status.
    let r = gw.post(
        "/v1/responses",
        &body("groq/llama-fail-404", json!("x"), false),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mock failure"))
    );
    let r = gw.post(
        "/v1/responses",
        &body("openai/gpt-fail-400", json!("x"), true),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["extra_fields"]["request_type"], "responses_stream");

    // Mid-stream errors: `event: error`, translated or relayed.
    for model in ["groq/llama-stream-error", "openai/gpt-stream-error"] {
        let r = gw.post("/v1/responses", &body(model, json!("break it"), true));
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let evs = events(&r.text());
        let (name, data) = evs.last().expect("events");
        assert_eq!(name, "error", "{model}: {evs:?}");
        assert_eq!(data["type"], "error");
        assert!(
            data["message"]
                .as_str()
                .is_some_and(|m| m.contains("mock failure")),
            "{data}"
        );
        assert!(!evs.iter().any(|(n, _)| n == "response.completed"));
    }
    // A stream cut short through chat ends with an error event, not a fake completion.
    let r = gw.post(
        "/v1/responses",
        &body("groq/llama-stream-cut", json!("cut it"), true),
    );
    let evs = events(&r.text());
    assert_eq!(evs.last().map(|e| e.0.as_str()), Some("error"), "{evs:?}");
}

#[test]
fn translated_via_gemini_cohere_and_bedrock() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = Gateway::start(&json!({ "providers": {
        "gemini": { "keys": one_key("g-key"), "network_config": { "base_url": mock.url() } },
        "cohere": { "keys": one_key("co-key"), "network_config": { "base_url": mock.url() } },
        "bedrock": {
            "keys": [{
                "name": "aws", "value": "", "models": ["*"], "weight": 1.0,
                "bedrock_key_config": {
                    "access_key": "AKIDTEST", "secret_key": "secret", "region": "eu-west-1"
                }
            }],
            "network_config": { "base_url": mock.url(), "max_retries": 0 }
        }
    }}));
    for (model, path) in [
        (
            "gemini/gemini-2.0-flash",
            "/models/gemini-2.0-flash:generateContent",
        ),
        ("cohere/command-r", "/v2/chat"),
        ("bedrock/claude-haiku", "/model/claude-haiku/converse"),
    ] {
        mock.clear();
        let r = gw.post("/v1/responses", &body(model, json!("hello there"), false));
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let v = r.json();
        assert_eq!(v["object"], "response", "{model}: {v}");
        assert_eq!(output_text(&v), "echo: hello there", "{model}");
        let sent = mock.requests()[0]["path"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(sent.contains(path), "{model}: sent to {sent}");

        let r = gw.post("/v1/responses", &body(model, json!("stream there"), true));
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let evs = events(&r.text());
        assert_eq!(
            evs.last().map(|e| e.0.as_str()),
            Some("response.completed"),
            "{model}: {evs:?}"
        );
        assert_eq!(streamed_text(&evs), "echo: stream there", "{model}");
    }
}
