//! OpenAI <-> Cohere v2 translation: chat requests and responses both ways, embed requests and
//! responses, and 50-event streams both ways, on realistic bodies (stream events already framed,
//! so only translation is measured).

mod support;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringway::providers::cohere::{
    CohereToOpenAiStream, OpenAiToCohereStream, embed_request_to_cohere,
    embed_response_from_cohere, request_from_cohere, request_to_cohere, response_from_cohere,
    response_to_cohere,
};
use ringway::providers::unified::ChatRequest;

const OPENAI_REQUEST: &str = include_str!("../tests/fixtures/cohere/openai_request.json");
const COHERE_RESPONSE: &str = include_str!("../tests/fixtures/cohere/cohere_response_tools.json");
const COHERE_REQUEST: &str = include_str!("../tests/fixtures/cohere/cohere_request.json");
const OPENAI_RESPONSE: &str = include_str!("../tests/fixtures/cohere/openai_response_tools.json");

/// A 50-event Cohere stream: start, content start, 46 text deltas, content end, message end.
fn cohere_stream() -> Vec<Vec<u8>> {
    let mut events = vec![
        br#"event: message-start
data: {"id":"5a16c4e1-0f42-4a63-8e5b-6d1a0c1f4b3e","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}

"#
        .to_vec(),
        b"event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n".to_vec(),
    ];
    for i in 0..46 {
        events.push(format!(
            "event: content-delta\ndata: {{\"type\":\"content-delta\",\"index\":0,\"delta\":{{\"message\":{{\"content\":{{\"text\":\" token{i} with \\\"quotes\\\"\"}}}}}}}}\n\n"
        ).into_bytes());
    }
    events.push(b"event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n".to_vec());
    events.push(b"event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"billed_units\":{\"input_tokens\":250,\"output_tokens\":138},\"tokens\":{\"input_tokens\":318,\"output_tokens\":138}}}}\n\n".to_vec());
    events
}

/// An OpenAI embeddings request of 16 short texts.
fn embed_request() -> Vec<u8> {
    let input: Vec<String> = (0..16)
        .map(|i| format!("document number {i} about \"gateways\""))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "model": "cohere/embed-v4.0", "input": input, "dimensions": 1024, "encoding_format": "base64"
    }))
    .expect("json")
}

/// A Cohere embed answer: 16 vectors of 1024 floats.
fn embed_response() -> Vec<u8> {
    let vectors: Vec<Vec<f64>> = (0..16)
        .map(|i| {
            (0..1024)
                .map(|k| f64::from((i * 1024 + k) % 2048) / 1024.0 - 1.0)
                .collect()
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "id": "bench", "embeddings": { "float": vectors }, "response_type": "embeddings_by_type",
        "meta": { "billed_units": { "input_tokens": 96 } }
    }))
    .expect("json")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate_cohere");

    g.throughput(Throughput::Bytes(OPENAI_REQUEST.len() as u64));
    g.bench_function("request_openai_to_cohere", |b| {
        b.iter(|| {
            let req = ChatRequest::from_slice(black_box(OPENAI_REQUEST.as_bytes())).expect("req");
            request_to_cohere(&req, "command-a-03-2025").expect("translates")
        });
    });
    g.throughput(Throughput::Bytes(COHERE_RESPONSE.len() as u64));
    g.bench_function("response_cohere_to_openai", |b| {
        b.iter(|| {
            response_from_cohere(black_box(COHERE_RESPONSE.as_bytes()), "command-a-03-2025")
                .expect("ok")
        });
    });

    g.throughput(Throughput::Bytes(COHERE_REQUEST.len() as u64));
    g.bench_function("request_cohere_to_openai", |b| {
        b.iter(|| {
            request_from_cohere(black_box(COHERE_REQUEST.as_bytes()))
                .expect("translates")
                .to_vec()
        });
    });
    g.throughput(Throughput::Bytes(OPENAI_RESPONSE.len() as u64));
    g.bench_function("response_openai_to_cohere", |b| {
        b.iter(|| response_to_cohere(black_box(OPENAI_RESPONSE.as_bytes())).expect("ok"));
    });

    let request = embed_request();
    g.throughput(Throughput::Bytes(request.len() as u64));
    g.bench_function("embed_request_openai_to_cohere", |b| {
        b.iter(|| embed_request_to_cohere(black_box(&request), "embed-v4.0").expect("ok"));
    });
    let response = embed_response();
    g.throughput(Throughput::Bytes(response.len() as u64));
    g.bench_function("embed_response_16x1024_cohere_to_openai_floats", |b| {
        b.iter(|| {
            embed_response_from_cohere(black_box(&response), "embed-v4.0", false).expect("ok")
        });
    });
    g.bench_function("embed_response_16x1024_cohere_to_openai_base64", |b| {
        b.iter(|| {
            embed_response_from_cohere(black_box(&response), "embed-v4.0", true).expect("ok")
        });
    });

    let events = cohere_stream();
    assert_eq!(events.len(), 50);
    g.throughput(Throughput::Elements(50));
    g.bench_function("stream_50_cohere_to_openai", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = CohereToOpenAiStream::new(true, "command-a-03-2025");
            for ev in black_box(&events) {
                t.push(ev, &mut out);
            }
            t.finish(&mut out);
            assert!(t.is_done());
            out.len()
        });
    });

    let events = support::openai_stream();
    assert_eq!(events.len(), 50);
    g.bench_function("stream_50_openai_to_cohere", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = OpenAiToCohereStream::new();
            for ev in black_box(&events) {
                t.push(ev, &mut out);
            }
            t.finish(&mut out);
            assert!(t.is_done());
            out.len()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
