//! Gemini both ways through ringway: OpenAI clients to a Gemini provider (translated, the model
//! in the URL), Google GenAI clients (`/genai/{v1beta,v1}/models/...`) to Gemini (zero-copy)
//! and to other providers (translated), streams, embeddings, model lists and errors included.

mod common;

use common::{Gateway, Mock, chat, one_key, recorded_body, recorded_headers};
use serde_json::{Value, json};

/// The thought signature the mock attaches to its function calls.
const MOCK_SIGNATURE: &str = "bW9jay1zaWduYXR1cmU=";

fn gateway(mock: &Mock) -> Gateway {
    Gateway::start(&json!({ "providers": {
        "gemini": { "keys": one_key("gm-key-1"), "network_config": { "base_url": mock.url() } },
        "openai": { "keys": one_key("sk-oai-1"), "network_config": { "base_url": mock.url() } },
        "anthropic": { "keys": one_key("sk-ant-1"), "network_config": { "base_url": mock.url() } }
    }}))
}

/// A Gemini `generateContent` body.
fn gemini_body(text: &str) -> Value {
    json!({
        "systemInstruction": { "parts": [{ "text": "be brief" }] },
        "contents": [{ "role": "user", "parts": [{ "text": text }] }],
        "generationConfig": { "maxOutputTokens": 64, "temperature": 0.5 }
    })
}

/// POSTs raw bytes with the headers a google-genai client sends (its own key included).
fn genai_post(gw: &Gateway, path: &str, body: &[u8]) -> common::Resp {
    common::http::request(
        gw.addr,
        "POST",
        path,
        &[
            ("content-type", "application/json"),
            ("x-goog-api-key", "client-key-must-not-leak"),
        ],
        body,
    )
}

/// The text of every candidate part of every SSE chunk (Gemini stream), in order.
fn gemini_stream_text(data: &[String]) -> String {
    data.iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .flat_map(|v| v["candidates"].as_array().cloned().unwrap_or_default())
        .flat_map(|c| {
            c["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p["text"].as_str().map(str::to_string))
        .collect()
}

fn assert_no_client_key(sent: &Value) {
    assert_eq!(recorded_headers(sent, "x-goog-api-key"), vec!["gm-key-1"]);
    assert!(recorded_headers(sent, "authorization").is_empty());
    let path = sent["path"].as_str().expect("path");
    assert!(!path.contains("key="), "client key forwarded in {path}");
}

#[test]
fn openai_client_to_gemini_provider() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let body = json!({
        "model": "gemini/gemini-2.0-flash",
        "messages": [
            { "role": "system", "content": "be brief" },
            { "role": "user", "content": "hello gemini" }
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["zzz"],
        "fallbacks": ["openai/gpt-4o-mini"]
    });
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gemini-2.0-flash");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello gemini");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // Prompt: "be brief" + "hello gemini"; completion: "echo:" + 2 words.
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7})
    );
    assert_eq!(v["extra_fields"]["provider"], "gemini");

    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_no_client_key(sent);
    assert_eq!(
        recorded_body(sent),
        json!({
            "contents": [{ "role": "user", "parts": [{ "text": "hello gemini" }] }],
            "systemInstruction": { "parts": [{ "text": "be brief" }] },
            "generationConfig": { "stopSequences": ["zzz"], "maxOutputTokens": 50,
                                  "temperature": 0.2 }
        })
    );
}

#[test]
fn openai_client_streams_from_gemini_provider() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = gateway(&mock);
    let mut body = chat("gemini/gemini-2.5-flash", "stream me please");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let data = r.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    let mut text = String::new();
    let mut finish = None;
    let mut usage = None;
    for d in &data[..data.len() - 1] {
        let v: Value = serde_json::from_str(d).expect("chunk json");
        assert_eq!(v["object"], "chat.completion.chunk", "{v}");
        assert_eq!(v["model"], "gemini-2.5-flash", "{v}");
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(c);
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_string());
        }
        if v["usage"].is_object() {
            usage = Some(v["usage"].clone());
        }
    }
    assert_eq!(text, "echo: stream me please");
    assert_eq!(finish.as_deref(), Some("stop"));
    assert_eq!(
        usage,
        Some(json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}))
    );
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_no_client_key(sent);
    let up = recorded_body(sent);
    assert!(
        up.get("stream").is_none() && up.get("stream_options").is_none(),
        "{up}"
    );
}

#[test]
fn tool_calls_keep_their_thought_signature_across_turns() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let tools = json!([{ "type": "function", "function": {
        "name": "get_weather",
        "parameters": { "type": "object", "properties": { "city": { "type": "string" } } }
    }}]);
    let mut body = chat("gemini/gemini-3-pro-preview", "please call a tool");
    body["tools"] = tools.clone();
    body["tool_choice"] = json!("required");
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = v["choices"][0]["message"]["tool_calls"][0].clone();
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], "{}");
    let id = call["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("get_weather_ts_"), "{id}");
    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(
        up["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]["type"],
        "object"
    );
    assert_eq!(up["toolConfig"]["functionCallingConfig"]["mode"], "ANY");

    // The next turn replays the call: Gemini gets its signature back, and the result by name.
    mock.clear();
    let follow = json!({
        "model": "gemini/gemini-3-pro-preview",
        "tools": tools,
        "messages": [
            { "role": "user", "content": "please call a tool" },
            { "role": "assistant", "content": null, "tool_calls": [call] },
            { "role": "tool", "tool_call_id": id, "content": "{\"temp\": 21}" }
        ]
    });
    let r = gw.post("/v1/chat/completions", &follow);
    assert_eq!(r.status, 200, "{}", r.text());
    let up = recorded_body(&mock.requests()[0]);
    let model_turn = &up["contents"][1];
    assert_eq!(model_turn["role"], "model");
    assert_eq!(model_turn["parts"][0]["thoughtSignature"], MOCK_SIGNATURE);
    assert_eq!(
        model_turn["parts"][0]["functionCall"]["name"],
        "get_weather"
    );
    let result = &up["contents"][2]["parts"][0]["functionResponse"];
    assert_eq!(result["name"], "get_weather");
    assert_eq!(result["response"], json!({"temp": 21}));
}

#[test]
fn openai_client_embeddings_through_gemini() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/embeddings",
        &json!({ "model": "gemini/text-embedding-004", "input": ["first", "second"],
                 "dimensions": 4 }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-004");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["data"][1]["embedding"].as_array().map(Vec::len), Some(4));
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_no_client_key(sent);
    let up = recorded_body(sent);
    assert_eq!(up["requests"][0]["model"], "models/text-embedding-004");
    assert_eq!(up["requests"][1]["content"]["parts"][0]["text"], "second");
    assert_eq!(up["requests"][0]["outputDimensionality"], 4);
}

#[test]
fn gemini_models_are_listed_with_the_provider_prefix() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let r = gw.get("/v1/models?provider=gemini");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            "gemini/gemini-2.5-flash",
            "gemini/gemini-2.0-flash",
            "gemini/text-embedding-004"
        ]
    );
    assert_eq!(v["data"][0]["max_output_tokens"], 65536);
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1beta/models?pageSize=1000");
    assert_eq!(sent["method"], "GET");
    assert_no_client_key(sent);
}

#[test]
fn genai_client_to_gemini_is_forwarded_untouched() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let raw = br#"{"contents":[{"role":"user","parts":[{"text":"hi there"}]}],"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]}"#;
    for path in [
        "/genai/v1beta/models/gemini-2.0-flash:generateContent?key=client-key-must-not-leak",
        "/genai/v1/models/gemini-2.0-flash:generateContent",
    ] {
        mock.clear();
        let r = genai_post(&gw, path, raw);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let v = r.json();
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0]["text"],
            "echo: hi there"
        );
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        assert!(v.get("extra_fields").is_none(), "{v}");
        let sent = &mock.requests()[0];
        assert_eq!(
            sent["path"],
            "/v1beta/models/gemini-2.0-flash:generateContent"
        );
        assert_eq!(sent["body"].as_str().map(str::as_bytes), Some(&raw[..]));
        assert_no_client_key(sent);
    }
}

#[test]
fn genai_client_to_openai_provider_translates_both_ways() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let body = serde_json::to_vec(&gemini_body("from the genai sdk")).expect("json");
    for path in [
        "/genai/v1/models/openai%2Fgpt-4o-mini:generateContent",
        "/genai/v1beta/models/openai/gpt-4o-mini:generateContent",
    ] {
        mock.clear();
        let r = genai_post(&gw, path, &body);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let v = r.json();
        let cand = &v["candidates"][0];
        assert_eq!(cand["content"]["role"], "model", "{v}");
        assert_eq!(
            cand["content"]["parts"][0]["text"],
            "echo: from the genai sdk"
        );
        assert_eq!(cand["finishReason"], "STOP");
        assert_eq!(v["usageMetadata"]["promptTokenCount"], 6);
        assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 5);
        assert_eq!(v["modelVersion"], "gpt-4o-mini");
        let sent = &mock.requests()[0];
        assert_eq!(sent["path"], "/v1/chat/completions");
        assert_eq!(
            recorded_headers(sent, "authorization"),
            vec!["Bearer sk-oai-1"]
        );
        assert!(recorded_headers(sent, "x-goog-api-key").is_empty());
        let up = recorded_body(sent);
        assert_eq!(up["model"], "gpt-4o-mini");
        assert_eq!(
            up["messages"][0],
            json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(
            up["messages"][1],
            json!({"role": "user", "content": "from the genai sdk"})
        );
        assert_eq!(up["max_completion_tokens"], 64);
        assert_eq!(up["temperature"], 0.5);
    }
}

#[test]
fn genai_streams_from_openai_and_gemini_providers() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock);
    let body = serde_json::to_vec(&gemini_body("stream it")).expect("json");
    // Translated from an OpenAI provider: Gemini chunks, no [DONE], usage on the last chunk.
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/openai%2Fgpt-4o-mini:streamGenerateContent?alt=sse",
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    assert_eq!(gemini_stream_text(&data), "echo: stream it");
    let last: Value = serde_json::from_str(data.last().expect("chunks")).expect("json");
    assert_eq!(last["candidates"][0]["finishReason"], "STOP", "{last}");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 3);
    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(up["stream"], true);
    assert_eq!(up["stream_options"]["include_usage"], true);

    // From a Gemini provider: the provider's chunks relayed as they are.
    mock.clear();
    let r = genai_post(
        &gw,
        "/genai/v1/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert_eq!(data.len(), 4, "{data:?}");
    assert_eq!(gemini_stream_text(&data), "echo: stream it");
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    assert_no_client_key(sent);
}

#[test]
fn genai_embeddings_to_gemini_and_openai() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let single = br#"{"content":{"parts":[{"text":"embed me"}]},"outputDimensionality":3}"#;
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/text-embedding-004:embedContent",
        single,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["embedding"]["values"].as_array().map(Vec::len), Some(3));
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_no_client_key(sent);
    assert_eq!(
        recorded_body(sent)["requests"][0]["model"],
        "models/text-embedding-004"
    );

    mock.clear();
    let batch = br#"{"requests":[{"model":"models/openai/text-embedding-3-small","content":{"parts":[{"text":"a"}]}},{"model":"models/openai/text-embedding-3-small","content":{"parts":[{"text":"b"}]}}]}"#;
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/openai%2Ftext-embedding-3-small:batchEmbedContents",
        batch,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["embeddings"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        v["embeddings"][0]["values"].as_array().map(Vec::len),
        Some(8)
    );
    let sent = &mock.requests()[0];
    assert_eq!(sent["path"], "/v1/embeddings");
    let up = recorded_body(sent);
    assert_eq!(up["model"], "text-embedding-3-small");
    assert_eq!(up["input"], json!(["a", "b"]));
}

#[test]
fn genai_models_list_in_gemini_shape() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    for path in [
        "/genai/v1beta/models",
        "/genai/v1/models?key=client-key-must-not-leak",
    ] {
        mock.clear();
        let r = gw.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let v = r.json();
        let models = v["models"].as_array().expect("models");
        assert_eq!(models.len(), 3, "{v}");
        assert_eq!(models[0]["name"], "models/gemini-2.5-flash");
        assert_eq!(models[0]["displayName"], "Gemini 2.5 Flash");
        assert_eq!(models[0]["outputTokenLimit"], 65536);
        assert_eq!(
            models[2]["supportedGenerationMethods"],
            json!(["embedContent"])
        );
        assert_no_client_key(&mock.requests()[0]);
    }
    // Another provider's models keep their prefix, which the /genai routes resolve back.
    let r = gw.get("/genai/v1beta/models?provider=openai");
    assert_eq!(r.status, 200, "{}", r.text());
    let names: Vec<String> = r.json()["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["name"].as_str().map(str::to_string))
        .collect();
    assert!(
        names.contains(&"models/openai/gpt-4o-mini".to_string()),
        "{names:?}"
    );
    let r = gw.get("/genai/v1beta/models?provider=nope");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
}

#[test]
fn errors_take_the_clients_shape() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    // OpenAI client, Gemini failing: Bifrost's error JSON with the upstream status and status name.
    let r = gw.post(
        "/v1/chat/completions",
        &chat("gemini/gemini-2.0-flash-fail-429", "x"),
    );
    assert_eq!(r.status, 429, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["type"], "RESOURCE_EXHAUSTED", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("mock failure")
    );

    // GenAI clients get Google's error shape, for provider and gateway errors alike.
    let body = serde_json::to_vec(&gemini_body("x")).expect("json");
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/gemini-2.0-flash-fail-503:generateContent",
        &body,
    );
    assert_eq!(r.status, 503, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["code"], 503, "{v}");
    assert_eq!(v["error"]["status"], "UNAVAILABLE");
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/openai%2Fgpt-4o-mini-fail-404:generateContent",
        &body,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["status"], "NOT_FOUND");
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/gemini-2.0-flash:generateContent",
        b"{not json",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent",
        br#"{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("googleSearch")
    );
    let r = gw.get("/genai/v1beta/models/gemini-2.0-flash:generateContent");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"]["code"], 405);
    // Legacy completions have no Gemini equivalent.
    let r = gw.post(
        "/v1/completions",
        &json!({ "model": "gemini/gemini-2.0-flash", "prompt": "x" }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "unsupported_operation");
}

#[test]
fn stream_errors_mid_stream() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = gateway(&mock);
    // OpenAI client: the Gemini error event becomes Bifrost's error event, without [DONE].
    let mut body = chat("gemini/gemini-2.0-flash-stream-error", "a b c d e f");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    let last: Value = serde_json::from_str(data.last().expect("events")).expect("json");
    assert_eq!(last["error"]["status_code"], 503, "{last}");
    assert_eq!(last["error"]["error"]["type"], "UNAVAILABLE");

    // GenAI client, OpenAI provider breaking mid-stream: Google's error shape.
    let r = genai_post(
        &gw,
        "/genai/v1beta/models/openai%2Fgpt-4o-mini-stream-error:streamGenerateContent?alt=sse",
        &serde_json::to_vec(&gemini_body("a b c d e f")).expect("json"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    let last: Value = serde_json::from_str(data.last().expect("events")).expect("json");
    assert!(last["error"]["code"].as_u64().is_some(), "{last}");
    assert!(last["error"]["status"].as_str().is_some(), "{last}");

    // A cut Gemini stream is reported as such to an OpenAI client.
    let mut body = chat("gemini/gemini-2.0-flash-stream-cut", "a b c d e f");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    let last: Value = serde_json::from_str(data.last().expect("events")).expect("json");
    assert!(
        last["error"]["error"]["message"].as_str().is_some(),
        "{data:?}"
    );
}

#[test]
fn anthropic_client_to_gemini_provider() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock);
    let r = gw.post(
        "/anthropic/v1/messages",
        &json!({ "model": "gemini/gemini-2.0-flash", "max_tokens": 32,
                 "messages": [{ "role": "user", "content": "hello from claude land" }] }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["type"], "message", "{v}");
    assert_eq!(v["content"][0]["text"], "echo: hello from claude land");
    assert_eq!(v["stop_reason"], "end_turn");
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(
        recorded_body(sent)["generationConfig"]["maxOutputTokens"],
        32
    );
}
