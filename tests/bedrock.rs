//! AWS Bedrock through ringway: OpenAI clients to a Bedrock provider (Converse and
//! ConverseStream), checked over real sockets against the mock: the path (model id from the
//! key's deployments, percent-encoded), the SigV4 signature (recomputed here from what the mock
//! recorded), the translated body, and what the client receives.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Gateway, Mock, chat, recorded_body, recorded_headers};
use ringway::providers::bedrock::sigv4::{self, Credentials, SignRequest};
use serde_json::{Value, json};

const ACCESS_KEY: &str = "AKIDRINGWAYTEST";
const SECRET_KEY: &str = "ringway/secret+key";
const SESSION_TOKEN: &str = "session-token-1";

/// Two keys with the same credentials: one whose deployments map `claude-haiku` (so, as in
/// Bifrost, it serves only that model), and one for every other model.
fn bedrock_key(value: &str) -> Value {
    let config = |deployments: Value| {
        json!({
            "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "session_token": SESSION_TOKEN,
            "region": "eu-west-1", "deployments": deployments
        })
    };
    json!([
        {"name": "aws", "value": value, "models": ["*"], "weight": 1.0,
         "bedrock_key_config": config(json!({"claude-haiku": "eu.anthropic.claude-3-haiku-20240307-v1:0"}))},
        {"name": "aws-any", "value": value, "models": ["*"], "blacklisted_models": ["claude-haiku"],
         "weight": 1.0, "bedrock_key_config": config(json!({}))}
    ])
}

fn gateway(mock: &Mock, key_value: &str) -> Gateway {
    Gateway::start(&json!({ "providers": {
        "bedrock": {
            "keys": bedrock_key(key_value),
            "network_config": { "base_url": mock.url(), "max_retries": 0 }
        }
    }}))
}

/// `YYYYMMDDTHHMMSSZ` back to a time, to re-sign a recorded request.
fn parse_amz_date(s: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    // Days from civil (Howard Hinnant), the inverse of the gateway's conversion.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).expect("after 1970"))
}

/// Recomputes the SigV4 signature of a recorded request and compares it with what was sent.
fn assert_signed(sent: &Value) {
    let header = |name: &str| {
        let mut v = recorded_headers(sent, name);
        assert_eq!(v.len(), 1, "{name}: {v:?}");
        v.remove(0)
    };
    let auth = header("authorization");
    let date = header("x-amz-date");
    assert_eq!(header("x-amz-security-token"), SESSION_TOKEN);
    let body = sent["body"].as_str().expect("body").as_bytes();
    let path = sent["path"].as_str().expect("path");
    let expected = sigv4::sign(
        &Credentials {
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            session_token: Some(SESSION_TOKEN.into()),
        },
        &SignRequest {
            method: "POST",
            host: &header("host"),
            path,
            content_type: &header("content-type"),
            body,
            region: "eu-west-1",
            service: "bedrock",
        },
        parse_amz_date(&date),
    );
    assert_eq!(auth, expected.authorization);
    assert_eq!(header("x-amz-content-sha256"), expected.content_sha256);
    let scope = format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{}/eu-west-1/bedrock/aws4_request, \
         SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
         Signature=",
        &date[..8]
    );
    assert!(auth.starts_with(&scope), "{auth}");
}

#[test]
fn openai_client_to_bedrock_converse() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "");
    let mut body = chat("bedrock/claude-haiku", "hello bedrock");
    body["messages"] = json!([
        { "role": "system", "content": "be brief" },
        { "role": "user", "content": "hello bedrock" }
    ]);
    body["max_tokens"] = json!(64);
    body["temperature"] = json!(0.5);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "claude-haiku");
    assert!(
        v["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-")),
        "{v}"
    );
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello bedrock");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // Words: "be brief" + "hello bedrock" in, "echo: hello bedrock" out.
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7})
    );
    assert_eq!(v["extra_fields"]["provider"], "bedrock");
    assert_eq!(r.header("content-type"), Some("application/json"));

    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/model/eu.anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
    assert_eq!(recorded_headers(sent, "accept"), vec!["application/json"]);
    assert_signed(sent);
    let up = recorded_body(sent);
    assert_eq!(
        up,
        json!({
            "messages": [{"role": "user", "content": [{"text": "hello bedrock"}]}],
            "system": [{"text": "be brief"}],
            "inferenceConfig": {"maxTokens": 64, "temperature": 0.5}
        })
    );
}

#[test]
fn openai_client_streams_from_bedrock_converse_stream() {
    let mock = Mock::start(&["--chunks", "5"]);
    let gw = gateway(&mock, "");
    let mut body = chat(
        "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
        "stream me please",
    );
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
    let mut ids = std::collections::BTreeSet::new();
    for d in &data[..data.len() - 1] {
        let v: Value = serde_json::from_str(d).expect("chunk json");
        assert_eq!(v["object"], "chat.completion.chunk", "{v}");
        assert_eq!(v["model"], "anthropic.claude-3-5-sonnet-20241022-v2:0");
        ids.insert(v["id"].as_str().expect("id").to_string());
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
    assert_eq!(ids.len(), 1, "one id per stream");
    assert_eq!(
        usage,
        Some(json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}))
    );
    // Every event went out as it arrived: role, 5 deltas, finish, usage, [DONE].
    assert_eq!(data.len(), 9, "{data:?}");

    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    );
    assert_eq!(
        recorded_headers(sent, "accept"),
        vec!["application/vnd.amazon.eventstream"]
    );
    assert_signed(sent);
    let up = recorded_body(sent);
    assert!(
        up.get("stream").is_none() && up.get("model").is_none(),
        "{up}"
    );
}

#[test]
fn tool_calls_both_ways() {
    let mock = Mock::start(&["--chunks", "3"]);
    let gw = gateway(&mock, "");
    let mut body = chat("bedrock/claude-haiku", "please call a tool");
    body["tools"] = json!([{ "type": "function", "function": {
        "name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {}}
    }}]);
    body["tool_choice"] = json!("required");
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], "{}");
    assert!(
        call["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("tooluse_mock_"))
    );
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(up["toolConfig"]["toolChoice"], json!({"any": {}}));
    assert_eq!(
        up["toolConfig"]["tools"][0]["toolSpec"]["name"],
        "get_weather"
    );

    // The tool result goes back as a toolResult block of a user turn.
    mock.clear();
    let mut follow = body.clone();
    follow["messages"] = json!([
        { "role": "user", "content": "please call a tool" },
        { "role": "assistant", "content": null, "tool_calls": [call.clone()] },
        { "role": "tool", "tool_call_id": call["id"], "content": "{\"temp\": 21}" }
    ]);
    let r = gw.post("/v1/chat/completions", &follow);
    assert_eq!(r.status, 200, "{}", r.text());
    let up = recorded_body(&mock.requests()[0]);
    assert_eq!(
        up["messages"][1]["content"][0]["toolUse"]["name"],
        "get_weather"
    );
    assert_eq!(
        up["messages"][2]["content"][0]["toolResult"],
        json!({"toolUseId": call["id"], "content": [{"json": {"temp": 21}}], "status": "success"})
    );

    // Streamed: the call arrives as a start chunk then argument pieces.
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let chunks: Vec<Value> = r
        .sse_data()
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("json"))
        .collect();
    let start = chunks
        .iter()
        .find_map(|c| {
            c["choices"][0]["delta"]["tool_calls"][0]
                .get("id")
                .map(|_| c["choices"][0]["delta"]["tool_calls"][0].clone())
        })
        .expect("tool call start");
    assert_eq!(start["function"]["name"], "get_weather");
    assert_eq!(start["index"], 0);
    let args: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(args, "{}");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
}

#[test]
fn errors_and_stream_exceptions() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "");
    let r = gw.post("/v1/chat/completions", &chat("bedrock/m-fail-400", "x"));
    assert_eq!(r.status, 400, "{}", r.text());
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("mock failure")),
        "{v}"
    );
    assert_eq!(v["error"]["type"], "ValidationException");

    let mut body = chat("bedrock/m-stream-error", "break please");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    let last: Value = serde_json::from_str(data.last().expect("events")).expect("json");
    assert_eq!(
        last["error"]["error"]["type"], "modelStreamErrorException",
        "{last}"
    );
    assert_eq!(last["error"]["status_code"], 503);
    // Two deltas made it before the exception.
    let text: String = data[..data.len() - 1]
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(!text.is_empty());

    // A stream cut in the middle is reported as an error, not completed.
    let mut body = chat("bedrock/m-stream-cut", "cut please");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &body);
    let data = r.sse_data();
    assert!(!data.iter().any(|d| d == "[DONE]"), "{data:?}");
    assert!(
        data.last().is_some_and(|d| d.contains("\"error\"")),
        "{data:?}"
    );

    // Embeddings are not a Converse operation.
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "bedrock/titan", "input": "x"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn bedrock_api_key_is_sent_as_bearer() {
    let mock = Mock::start(&[]);
    let gw = gateway(&mock, "ABSKbedrock-api-key");
    let r = gw.post("/v1/chat/completions", &chat("bedrock/claude-haiku", "hi"));
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = &mock.requests()[0];
    assert_eq!(
        recorded_headers(sent, "authorization"),
        vec!["Bearer ABSKbedrock-api-key"]
    );
    assert!(recorded_headers(sent, "x-amz-date").is_empty());

    // A key the mock refuses (403): the provider's error reaches the client.
    let gw = gateway(&mock, "bad-key");
    let r = gw.post("/v1/chat/completions", &chat("bedrock/claude-haiku", "hi"));
    assert!(r.status >= 400, "{}", r.text());
}

// ---------------------------------------------------------------------------------------------
// Drop-in routes: AWS SDK clients (`/bedrock/model/{id}/converse[-stream]`).

fn drop_in_gateway(mock: &Mock) -> Gateway {
    Gateway::start(&json!({ "providers": {
        "bedrock": {
            "keys": bedrock_key(""),
            "network_config": { "base_url": mock.url(), "max_retries": 0 }
        },
        "openai": {
            "keys": common::one_key("sk-oai-1"),
            "network_config": { "base_url": mock.url(), "max_retries": 0 }
        }
    }}))
}

/// POSTs a Converse body as an AWS SDK would (its own SigV4 header, which must not leak).
fn converse(gw: &Gateway, path: &str, body: &[u8]) -> common::Resp {
    common::http::request(
        gw.addr,
        "POST",
        path,
        &[
            ("content-type", "application/json"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=CLIENTKEY/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
            ),
            ("x-amz-date", "20240101T000000Z"),
        ],
        body,
    )
}

/// The `(event type or "!exception type", JSON payload)` of an event-stream body.
fn frames(body: &[u8]) -> Vec<(String, Value)> {
    use ringway::providers::bedrock::{EventStreamFramer, eventstream::Message};
    let mut framer = EventStreamFramer::new();
    framer.push(body);
    let mut out = Vec::new();
    while let Some(frame) = framer.next_message().expect("valid event stream") {
        let m = Message::decode(&frame).expect("frame");
        let name = match m.header_str(":message-type") {
            Some("exception") => format!("!{}", m.header_str(":exception-type").unwrap_or("")),
            _ => m.header_str(":event-type").unwrap_or("").to_string(),
        };
        out.push((
            name,
            serde_json::from_slice(m.payload).expect("json payload"),
        ));
    }
    assert!(framer.take_rest().is_none(), "trailing bytes");
    out
}

const CONVERSE_BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"hello from boto3"}]}],"system":[{"text":"be brief"}],"inferenceConfig":{"maxTokens":32}}"#;

#[test]
fn aws_sdk_to_bedrock_is_forwarded_untouched() {
    let mock = Mock::start(&["--chunks", "3"]);
    let gw = drop_in_gateway(&mock);
    let r = converse(
        &gw,
        "/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        CONVERSE_BODY,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        "echo: hello from boto3"
    );
    assert_eq!(v["stopReason"], "end_turn");
    assert!(v.get("extra_fields").is_none(), "{v}");
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
    assert_eq!(
        sent["body"].as_str().map(str::as_bytes),
        Some(CONVERSE_BODY)
    );
    // ringway's own signature, not the client's.
    assert_signed(sent);

    // Streamed: the provider's event-stream messages reach the SDK as they are.
    mock.clear();
    let r = converse(
        &gw,
        "/bedrock/model/claude-haiku/converse-stream",
        CONVERSE_BODY,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    let events = frames(&r.body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"messageStart"));
    assert_eq!(&names[names.len() - 2..], ["messageStop", "metadata"]);
    let text: String = events
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: hello from boto3");
    let sent = &mock.requests()[0];
    assert_eq!(
        sent["path"],
        "/model/eu.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
    );
    assert_signed(sent);
}

#[test]
fn aws_sdk_to_openai_provider_translates_both_ways() {
    let mock = Mock::start(&["--chunks", "4"]);
    let gw = drop_in_gateway(&mock);
    let r = converse(
        &gw,
        "/bedrock/model/openai%2Fgpt-4o-mini/converse",
        CONVERSE_BODY,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["output"]["message"]["role"], "assistant");
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        "echo: hello from boto3"
    );
    assert_eq!(v["stopReason"], "end_turn");
    assert!(v["usage"]["inputTokens"].as_u64().is_some(), "{v}");
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
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(
        up["messages"][1],
        json!({"role": "user", "content": "hello from boto3"})
    );
    assert_eq!(up["max_completion_tokens"], 32);

    // Streamed: OpenAI chunks become ConverseStream messages.
    let r = converse(
        &gw,
        "/bedrock/model/openai%2Fgpt-4o-mini/converse-stream",
        CONVERSE_BODY,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    let events = frames(&r.body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"messageStart"), "{names:?}");
    assert_eq!(
        &names[names.len() - 3..],
        ["contentBlockStop", "messageStop", "metadata"]
    );
    let text: String = events
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: hello from boto3");
    let metadata = &events.last().expect("metadata").1;
    assert!(
        metadata["usage"]["outputTokens"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{metadata}"
    );
    let up = recorded_body(&mock.requests()[1]);
    assert_eq!(up["stream"], true);
    assert_eq!(up["stream_options"]["include_usage"], true);
}

#[test]
fn aws_sdk_errors_take_bedrocks_shape() {
    let mock = Mock::start(&[]);
    let gw = drop_in_gateway(&mock);
    let r = converse(&gw, "/bedrock/model/m-fail-429/converse", CONVERSE_BODY);
    assert_eq!(r.status, 429, "{}", r.text());
    // The provider's own error type is passed on (AWS suffixes it with a namespace URL).
    let kinds: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "x-amzn-errortype")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(kinds.len(), 1, "{kinds:?}");
    assert!(kinds[0].starts_with("ThrottlingException"), "{kinds:?}");
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("mock failure")),
        "{}",
        r.text()
    );
    let r = converse(&gw, "/bedrock/model/m/converse", b"{not json");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.header("x-amzn-errortype"), Some("ValidationException"));
    assert!(r.json()["message"].as_str().is_some());
    // A stream broken by the provider ends with an exception message.
    let r = converse(
        &gw,
        "/bedrock/model/m-stream-error/converse-stream",
        CONVERSE_BODY,
    );
    assert_eq!(r.status, 200);
    let events = frames(&r.body);
    assert_eq!(
        events.last().map(|(n, _)| n.as_str()),
        Some("!modelStreamErrorException")
    );
    // Cross-format: an OpenAI error event becomes an exception message too.
    let r = converse(
        &gw,
        "/bedrock/model/openai%2Fgpt-stream-error/converse-stream",
        CONVERSE_BODY,
    );
    assert_eq!(r.status, 200);
    let events = frames(&r.body);
    assert!(
        events.last().is_some_and(|(n, _)| n.starts_with('!')),
        "{events:?}"
    );
    let r = common::http::request(gw.addr, "GET", "/bedrock/model/m/converse", &[], b"");
    assert_eq!(r.status, 405);
}
