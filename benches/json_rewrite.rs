//! The zero-copy request path: depth pre-scan, lazy field read and body splice.
//!
//! Bodies: a realistic ~1 KB OpenAI chat request and a ~100 KB one (long message history).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringway::json::{MAX_DEPTH, check_depth, read_fields, rewrite, rewrite_segments};

/// A chat request with `turns` user/assistant turns of `words` words each, plus fallbacks.
fn chat_body(turns: usize, words: usize) -> Bytes {
    let text = |i: usize| {
        (0..words)
            .map(|w| {
                [
                    "the",
                    "model",
                    "answer:",
                    "{\\\"json\\\"}",
                    "café",
                    "tokens",
                ][(i + w) % 6]
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut messages = vec![
        r#"{"role":"system","content":"You are a helpful assistant. Answer briefly."}"#.to_string(),
    ];
    for i in 0..turns {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        messages.push(format!(r#"{{"role":"{role}","content":"{}"}}"#, text(i)));
    }
    let body = format!(
        r#"{{"model":"openai/gpt-4o-mini","messages":[{}],"temperature":0.7,"max_tokens":512,"top_p":1,"stream":false,"user":"user-1234","metadata":{{"trace":"abc","model":"not-this-one"}},"fallbacks":["anthropic/claude-3-5-sonnet-20241022","groq/llama-3.1-70b-versatile"],"tools":[{{"type":"function","function":{{"name":"get_weather","parameters":{{"type":"object","properties":{{"city":{{"type":"string"}}}}}}}}}}]}}"#,
        messages.join(",")
    );
    Bytes::from(body)
}

fn bench(c: &mut Criterion) {
    let bodies = [("1KB", chat_body(4, 22)), ("100KB", chat_body(200, 90))];
    for (name, body) in &bodies {
        assert!(read_fields(body).is_ok(), "bench body must be valid");
        let mut g = c.benchmark_group(format!("json/{name}"));
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("check_depth", |b| {
            b.iter(|| check_depth(black_box(body), MAX_DEPTH));
        });
        g.bench_function("read_fields", |b| b.iter(|| read_fields(black_box(body))));
        g.bench_function("read_fields+rewrite", |b| {
            b.iter(|| {
                let fields = read_fields(black_box(body)).ok();
                fields.map(|f| rewrite(body, &f, Some("gpt-4o-mini")))
            });
        });
        g.bench_function("read_fields+rewrite_segments", |b| {
            b.iter(|| {
                let fields = read_fields(black_box(body)).ok();
                fields.map(|f| rewrite_segments(body, &f, Some("gpt-4o-mini")))
            });
        });
        // For scale: a full serde_json DOM parse of the same body.
        g.bench_function("serde_json_value", |b| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)).ok());
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
