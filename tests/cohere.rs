//! Cohere v2 through ringway: OpenAI clients (and Anthropic clients, through the hub) reach
//! Cohere's `/v2/chat` and `/v2/embed`, translated both ways, streams included.

mod common;

use base64::Engine;
use common::{Gateway, Mock, chat, one_key, recorded_body, recorded_headers};
use serde_json::{Value, json};

fn gateway(mock: &Mock) -> Gateway {
    Gateway::start(&json!({ "providers": {
        "cohere": { "keys": one_key("co-key-1"), "network_config": { "base_url": mock.url() } },
        "openai": { "keys": one_key("sk-oai-1"), "network_config": { "base_url": mock.url() } }
    }}))
}

fn stream_body(model: &str, text: &str) -> Value {
    let mut body = chat(model, text);
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    body
}

/// The JSON chunks of an OpenAI stream (everything but `[DONE]`).
fn chunks(data: &[String]) -> Vec<Value> {
    data.iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("chunk json"))
        .collect()
}

fn joined(chunks: &[Value], field: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"][field].as_str())
        .collect()
}

fn weather_tool() -> Value {
    json!([{ "type": "function", "function": {
        "name": "get_weather", "description": "Weather by city", "strict": true,
        "parameters": { "type": "object", "properties": { "city": { "type": "string" } } }
    }}])
}

#[test]
fn openai_client_to_cohere_chat() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let body = json!({
        "model": "cohere/command-a-03-2025",
        "messages": [
            { "role": "system", "content": "be brief" },
            { "role": "user", "content": "hello cohere friend" }
        ],
        "temperature": 0.3, "top_p": 0.8, "stop": ["END"], "max_tokens": 40,
        "user": "u-1"
    });
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "command-a-03-2025");
    assert!(
        v["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("cohere-mock-")),
        "{v}"
    );
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "echo: hello cohere friend"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // Actual tokens (words + Cohere's 7-token preamble), not billed units.
    assert_eq!(
        v["usage"],
        json!({ "prompt_tokens": 5 + 7, "completion_tokens": 4, "total_tokens": 16 })
    );
    assert_eq!(v["extra_fields"]["provider"], "cohere");

    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v2/chat");
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer co-key-1"]
    );
    assert_eq!(
        recorded_body(sent),
        json!({
            "model": "command-a-03-2025",
            "messages": [
                { "role": "system", "content": "be brief" },
                { "role": "user", "content": "hello cohere friend" }
            ],
            "max_tokens": 40, "stop_sequences": ["END"], "temperature": 0.3, "p": 0.8
        })
    );
}

#[test]
fn openai_client_streams_from_cohere() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("cohere/command-a-03-2025", "stream me please"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    let chunks = chunks(&data);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert!(chunks.iter().all(|c| c["model"] == "command-a-03-2025"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(joined(&chunks, "content"), "echo: stream me please");
    let finish: Vec<&str> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect();
    assert_eq!(finish, ["stop"]);
    let usage = &chunks.last().expect("usage chunk")["usage"];
    assert_eq!(usage["prompt_tokens"], 3 + 7);
    assert_eq!(usage["completion_tokens"], 4);

    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(up["stream"], true);
    assert!(up.get("stream_options").is_none(), "{up}");
}

#[test]
fn tool_calls_both_ways() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let mut body = chat("cohere/command-a-03-2025", "please call a tool");
    body["tools"] = weather_tool();
    body["tool_choice"] = json!("required");
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let msg = &v["choices"][0]["message"];
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(msg["reasoning"], "I will call get_weather.");
    let call = &msg["tool_calls"][0];
    assert!(
        call["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("get_weather_mock_"))
    );
    assert_eq!(call["type"], "function");
    assert_eq!(
        call["function"],
        json!({ "name": "get_weather", "arguments": "{}" })
    );
    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(up["tool_choice"], "REQUIRED");
    assert_eq!(
        up["tools"][0]["function"],
        json!({ "name": "get_weather", "description": "Weather by city",
                "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } })
    );

    // The follow-up turn carries the call and its result back to Cohere.
    let id = call["id"].as_str().expect("id").to_string();
    let follow = json!({
        "model": "cohere/command-a-03-2025",
        "tools": weather_tool(),
        "messages": [
            { "role": "user", "content": "please call a tool" },
            { "role": "assistant", "content": null, "tool_calls": [call] },
            { "role": "tool", "tool_call_id": id, "content": "{\"temp\": 21}" },
            { "role": "user", "content": "thanks" }
        ]
    });
    let r = gw.post("/v1/chat/completions", &follow);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "echo: thanks");
    let up = recorded_body(&mock.requests()[1]);
    assert_eq!(up["messages"][1]["tool_calls"][0]["id"], id);
    assert_eq!(
        up["messages"][2],
        json!({ "role": "tool", "tool_call_id": id, "content": "{\"temp\": 21}" })
    );

    // Streamed: id and name first, then the arguments, on the tool call's index.
    let mut body = stream_body("cohere/command-a-03-2025", "call a tool now");
    body["tools"] = weather_tool();
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let chunks = chunks(&r.sse_data());
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls[0]["index"], 0);
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert!(
        calls[0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("get_weather_mock_"))
    );
    let args: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert_eq!(args, "{}");
    assert_eq!(joined(&chunks, "reasoning"), "I will call get_weather.");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
}

#[test]
fn embeddings_floats_and_base64() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let body = json!({ "model": "cohere/embed-v4.0", "input": ["hello world", "bye"],
                       "dimensions": 4 });
    let r = gw.post("/v1/embeddings", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "embed-v4.0");
    let data = v["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["object"], "embedding");
    let floats: Vec<f64> = data[0]["embedding"]
        .as_array()
        .expect("floats")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect();
    assert_eq!(floats.len(), 4);
    assert_eq!(v["usage"], json!({ "prompt_tokens": 3, "total_tokens": 3 }));

    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v2/embed");
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer co-key-1"]
    );
    assert_eq!(
        recorded_body(sent),
        json!({ "model": "embed-v4.0", "texts": ["hello world", "bye"],
                "input_type": "search_document", "embedding_types": ["float"],
                "output_dimension": 4 })
    );

    // The OpenAI SDK asks for base64 by default: little-endian f32, the same vector.
    let mut b64 = body.clone();
    b64["encoding_format"] = json!("base64");
    b64["input_type"] = json!("search_query");
    let r = gw.post("/v1/embeddings", &b64);
    assert_eq!(r.status, 200, "{}", r.text());
    let encoded = r.json()["data"][0]["embedding"]
        .as_str()
        .expect("base64 string")
        .to_string();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    let decoded: Vec<f64> = bytes
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    assert_eq!(decoded, floats);
    assert_eq!(
        recorded_body(&mock.requests()[1])["input_type"],
        "search_query"
    );
}

#[test]
fn errors_are_bifrost_errors() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/chat/completions",
        &chat("cohere/command-fail-400", "x"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mock failure: status 400")),
        "{v}"
    );
    assert_eq!(v["extra_fields"]["provider"], "cohere");

    // Bad requests never reach Cohere; operations Cohere has no route for are refused.
    let before = mock.requests().len();
    let mut n2 = chat("cohere/command-a", "x");
    n2["n"] = json!(2);
    let r = gw.post("/v1/chat/completions", &n2);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = gw.post(
        "/v1/completions",
        &json!({ "model": "cohere/command-a", "prompt": "x" }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = gw.post(
        "/v1/embeddings",
        &json!({ "model": "cohere/embed-v4.0", "input": [[1, 2, 3]] }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(mock.requests().len(), before);
}

#[test]
fn a_failure_mid_stream_reaches_the_client_as_an_error_event() {
    let mock = Mock::start(&["--chunks", "6"]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("cohere/command-stream-error", "this will break"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    let last: Value = serde_json::from_str(data.last().expect("events")).expect("json");
    assert_eq!(last["error"]["status_code"], 500, "{last}");
    assert_eq!(
        last["error"]["error"]["message"],
        "mock failure: stream broken by the model name"
    );
    let text = joined(&chunks(&data[..data.len() - 1]), "content");
    assert!(
        !text.is_empty() && "echo: this will break".starts_with(&text),
        "{text}"
    );

    // A stream cut before message-end is reported as cut short.
    let r = gw.post(
        "/v1/chat/completions",
        &stream_body("cohere/command-stream-cut", "this will stop"),
    );
    let data = r.sse_data();
    let last: Value = serde_json::from_str(data.last().expect("events")).expect("json");
    assert!(last["error"].is_object(), "{data:?}");
    assert!(!data.iter().any(|d| d == "[DONE]"));
}

#[test]
fn anthropic_client_to_cohere() {
    let mock = Mock::start(&["--chunks", "3"]);
    let gw = gateway(&mock);
    let body = json!({
        "model": "cohere/command-a-03-2025", "max_tokens": 64, "system": "be brief",
        "messages": [{ "role": "user", "content": "from the anthropic sdk" }]
    });
    let r = gw.post("/anthropic/v1/messages", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "message", "{v}");
    assert_eq!(v["content"][0]["text"], "echo: from the anthropic sdk");
    assert_eq!(v["stop_reason"], "end_turn");
    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(
        up["messages"][0],
        json!({ "role": "system", "content": "be brief" })
    );
    assert_eq!(up["max_tokens"], 64);

    let mut body = body;
    body["stream"] = json!(true);
    let r = gw.post("/anthropic/v1/messages", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"), "{text}");
    assert_eq!(events.last(), Some(&"message_stop"), "{text}");
    let joined: String = r
        .sse_data()
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|v| v["type"] == "content_block_delta")
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(joined, "echo: from the anthropic sdk");
}

#[test]
fn cohere_falls_back_to_openai() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let mut body = chat("cohere/command-fail-503", "fall back please");
    body["fallbacks"] = json!(["openai/gpt-4o-mini"]);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "echo: fall back please"
    );
    assert_eq!(v["extra_fields"]["provider"], "openai");
    let paths: Vec<String> = mock
        .requests()
        .iter()
        .filter_map(|s| s["path"].as_str().map(str::to_string))
        .collect();
    assert_eq!(paths.first().map(String::as_str), Some("/v2/chat"));
    assert_eq!(
        paths.last().map(String::as_str),
        Some("/v1/chat/completions")
    );
}

// ---------------------------------------------------------------------------------------------
// The `/cohere/v2/*` drop-in routes: the Cohere SDK's base URL set to `{ringway}/cohere`.

fn cohere_chat(model: &str, text: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "messages": [
            { "role": "system", "content": "be brief" },
            { "role": "user", "content": text }
        ],
        "p": 0.5, "k": 10, "stop_sequences": ["STOP"], "max_tokens": 30,
        "stream": stream
    })
}

#[test]
fn cohere_client_to_cohere_is_forwarded_untouched() {
    let mock = Mock::start(&["--chunks", "3"]);
    let gw = gateway(&mock);
    // Cohere-only members (documents, citation options) pass straight through.
    let raw = br#"{"model":"command-a-03-2025","messages":[{"role":"user","content":"hi there"}],"documents":[{"id":"d1","data":{"text":"x"}}],"citation_options":{"mode":"FAST"}}"#;
    let r = common::http::request(
        gw.addr,
        "POST",
        "/cohere/v2/chat",
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer client-key-must-not-leak"),
        ],
        raw,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["message"]["content"][0]["text"], "echo: hi there");
    assert_eq!(v["finish_reason"], "COMPLETE");
    assert!(
        v.get("extra_fields").is_none(),
        "Cohere's shape, untouched: {v}"
    );
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v2/chat");
    assert_eq!(sent["body"].as_str().map(str::as_bytes), Some(&raw[..]));
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer co-key-1"]
    );

    // Streams are relayed event for event.
    let r = gw.post(
        "/cohere/v2/chat",
        &cohere_chat("command-a-03-2025", "stream it", true),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message-start"), "{text}");
    assert_eq!(events.last(), Some(&"message-end"), "{text}");
    assert!(!text.contains("[DONE]"));
}

#[test]
fn cohere_client_to_openai_translates_both_ways() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/cohere/v2/chat",
        &cohere_chat("openai/gpt-4o-mini", "from the cohere sdk", false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["finish_reason"], "COMPLETE", "{v}");
    assert_eq!(v["message"]["role"], "assistant");
    assert_eq!(
        v["message"]["content"],
        json!([{ "type": "text", "text": "echo: from the cohere sdk" }])
    );
    assert!(
        v["usage"]["tokens"]["input_tokens"].as_u64().is_some(),
        "{v}"
    );
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/chat/completions");
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer sk-oai-1"]
    );
    let up = recorded_body(sent);
    assert_eq!(up["model"], "gpt-4o-mini");
    assert_eq!(
        up["messages"][0],
        json!({ "role": "system", "content": "be brief" })
    );
    assert_eq!(up["top_p"], 0.5);
    assert_eq!(up["top_k"], 10);
    assert_eq!(up["stop"], json!(["STOP"]));

    // Streaming: Cohere's event sequence built from OpenAI chunks.
    let r = gw.post(
        "/cohere/v2/chat",
        &cohere_chat("openai/gpt-4o-mini", "stream it please", true),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data: Vec<Value> = r
        .sse_data()
        .iter()
        .map(|d| serde_json::from_str(d).expect("event json"))
        .collect();
    let types: Vec<&str> = data.iter().filter_map(|v| v["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"message-start"), "{types:?}");
    assert_eq!(types.last(), Some(&"message-end"), "{types:?}");
    assert!(types.contains(&"content-start") && types.contains(&"content-end"));
    let text: String = data
        .iter()
        .filter(|v| v["type"] == "content-delta")
        .filter_map(|v| v["delta"]["message"]["content"]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: stream it please");
    let end = &data.last().expect("end")["delta"];
    assert_eq!(end["finish_reason"], "COMPLETE");
    assert!(
        end["usage"]["tokens"]["output_tokens"].as_u64().is_some(),
        "{end}"
    );
}

#[test]
fn cohere_client_embeds_through_cohere_and_openai() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let body = json!({ "model": "embed-v4.0", "texts": ["hello world", "bye"],
                       "input_type": "search_query", "embedding_types": ["float"] });
    let r = gw.post("/cohere/v2/embed", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["embeddings"]["float"].as_array().map(Vec::len), Some(2));
    assert_eq!(recorded_body(&mock.requests()[0]), body);

    let mut to_openai = body.clone();
    to_openai["model"] = json!("openai/text-embedding-3-small");
    to_openai["output_dimension"] = json!(16);
    let r = gw.post("/cohere/v2/embed", &to_openai);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["response_type"], "embeddings_by_type");
    assert_eq!(v["texts"], json!(["hello world", "bye"]));
    let vectors = v["embeddings"]["float"].as_array().expect("floats");
    assert_eq!(vectors.len(), 2);
    assert_eq!(vectors[0].as_array().map(Vec::len), Some(16));
    let sent = &mock.requests()[1];
    assert_eq!(sent["path"], "/v1/embeddings");
    assert_eq!(
        recorded_body(sent),
        json!({ "model": "text-embedding-3-small", "input": ["hello world", "bye"],
                "encoding_format": "float", "dimensions": 16 })
    );
}

#[test]
fn cohere_client_errors_take_cohere_shape() {
    let mock = Mock::start(&["--chunks", "6"]);
    let gw = gateway(&mock);
    let r = common::http::request(
        gw.addr,
        "POST",
        "/cohere/v2/chat",
        &[("content-type", "application/json")],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().is_some(), "{}", r.text());
    // An upstream failure keeps its status, in Cohere's `{"message"}` shape.
    let r = gw.post(
        "/cohere/v2/chat",
        &cohere_chat("openai/gpt-4o-fail-429", "x", false),
    );
    assert_eq!(r.status, 429, "{}", r.text());
    let v = r.json();
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("mock failure")),
        "{v}"
    );
    // Grounding documents cannot go to another provider.
    let mut docs = cohere_chat("openai/gpt-4o-mini", "x", false);
    docs["documents"] = json!([{ "data": { "text": "x" } }]);
    assert_eq!(gw.post("/cohere/v2/chat", &docs).status, 400);
    // A provider failing mid-stream: Cohere's failed `message-end`.
    let r = gw.post(
        "/cohere/v2/chat",
        &cohere_chat("openai/gpt-4o-stream-error", "break please", true),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let last: Value = serde_json::from_str(r.sse_data().last().expect("events")).expect("json");
    assert_eq!(last["type"], "message-end");
    assert_eq!(last["delta"]["finish_reason"], "ERROR");
    assert!(
        last["delta"]["error"]
            .as_str()
            .is_some_and(|m| m.contains("mock failure")),
        "{last}"
    );
}

#[test]
fn custom_provider_on_the_cohere_base() {
    let mock = Mock::start(&[]);
    let gw = Gateway::start(&json!({ "providers": {
        "cohere-eu": {
            "keys": one_key("co-eu-key"),
            "network_config": { "base_url": format!("{}/eu/v2", mock.url()) },
            "custom_provider_config": {
                "base_provider_type": "cohere",
                "allowed_requests": { "chat_completion": true, "embedding": false }
            }
        }
    }}));
    let r = gw.post(
        "/v1/chat/completions",
        &chat("cohere-eu/command-r", "hello eu"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "echo: hello eu"
    );
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/eu/v2/chat");
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer co-eu-key"]
    );
    // Disallowed request types get Bifrost's unsupported-operation error.
    let r = gw.post(
        "/v1/embeddings",
        &json!({ "model": "cohere-eu/embed-v4.0", "input": "x" }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(mock.requests().len(), 1);
}
