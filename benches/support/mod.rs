//! Inputs shared by the translator benches, and the gateway's allocator: the translators
//! allocate for every string they decode, so glibc's malloc would measure a different cost.

#[global_allocator]
static GLOBAL: ringway::alloc::Mimalloc = ringway::alloc::Mimalloc;

/// A 50-event OpenAI chat stream as a provider sends it: role, 46 content chunks (with escaped
/// quotes, as real text has), finish, usage, `[DONE]`; each event framed with its blank line.
pub fn openai_stream() -> Vec<Vec<u8>> {
    let prefix = r#"data: {"id":"chatcmpl-AbCdEf123","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":"#;
    let mut events = vec![format!(
        r#"{prefix}{{"role":"assistant","content":"","refusal":null}},"logprobs":null,"finish_reason":null}}]}}"#
    )];
    for i in 0..46 {
        events.push(format!(
            r#"{prefix}{{"content":" token{i} with \"quotes\""}},"logprobs":null,"finish_reason":null}}]}}"#
        ));
    }
    events.push(format!(
        r#"{prefix}{{}},"logprobs":null,"finish_reason":"stop"}}]}}"#
    ));
    events.push(r#"data: {"id":"chatcmpl-AbCdEf123","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":250,"completion_tokens":138,"total_tokens":388}}"#.to_string());
    events.push("data: [DONE]".to_string());
    events
        .into_iter()
        .map(|e| format!("{e}\n\n").into_bytes())
        .collect()
}
