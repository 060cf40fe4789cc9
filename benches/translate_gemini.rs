//! Gemini <-> unified translation: requests and responses both ways on realistic bodies, and
//! 50-event streams both ways (events already framed, so only translation is measured).

mod support;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringway::providers::gemini::{
    GeminiToOpenAiStream, OpenAiToGeminiStream, request_from_gemini, request_to_gemini,
    response_from_gemini, response_to_gemini,
};
use ringway::providers::unified::ChatRequest;

const OPENAI_REQUEST: &str = include_str!("../tests/fixtures/gemini/openai_request.json");
const GEMINI_REQUEST: &str = include_str!("../tests/fixtures/gemini/gemini_request.json");
const GEMINI_RESPONSE: &str = include_str!("../tests/fixtures/gemini/gemini_response_tools.json");
const OPENAI_RESPONSE: &str = include_str!("../tests/fixtures/gemini/openai_response_tools.json");

/// A 50-event Gemini stream: 49 text chunks, then one with the finish reason and usage.
fn gemini_stream() -> Vec<Vec<u8>> {
    let chunk = |text: &str, tail: &str| {
        format!(
            r#"data: {{"candidates":[{{"content":{{"parts":[{{"text":"{text}"}}],"role":"model"}},"index":0{tail}}}],"usageMetadata":{{"promptTokenCount":250,"totalTokenCount":250}},"modelVersion":"gemini-2.5-flash","responseId":"resp-bench-1"}}"#
        ) + "\r\n\r\n"
    };
    let mut events: Vec<Vec<u8>> = (0..49)
        .map(|i| chunk(&format!(" token{i} with \\\"quotes\\\""), "").into_bytes())
        .collect();
    events.push(chunk(" end.", r#","finishReason":"STOP""#).into_bytes());
    events
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate_gemini");

    g.throughput(Throughput::Bytes(OPENAI_REQUEST.len() as u64));
    g.bench_function("request_openai_to_gemini", |b| {
        b.iter(|| {
            let req = ChatRequest::from_slice(black_box(OPENAI_REQUEST.as_bytes())).expect("req");
            request_to_gemini(&req, "gemini-2.5-flash").expect("translates")
        });
    });
    g.throughput(Throughput::Bytes(GEMINI_REQUEST.len() as u64));
    g.bench_function("request_gemini_to_openai", |b| {
        b.iter(|| {
            request_from_gemini(black_box(GEMINI_REQUEST.as_bytes()), false)
                .expect("translates")
                .to_vec()
        });
    });
    g.throughput(Throughput::Bytes(GEMINI_RESPONSE.len() as u64));
    g.bench_function("response_gemini_to_openai", |b| {
        b.iter(|| response_from_gemini(black_box(GEMINI_RESPONSE.as_bytes())).expect("ok"));
    });
    g.throughput(Throughput::Bytes(OPENAI_RESPONSE.len() as u64));
    g.bench_function("response_openai_to_gemini", |b| {
        b.iter(|| response_to_gemini(black_box(OPENAI_RESPONSE.as_bytes())).expect("ok"));
    });

    let events = gemini_stream();
    assert_eq!(events.len(), 50);
    g.throughput(Throughput::Elements(50));
    g.bench_function("stream_50_gemini_to_openai", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = GeminiToOpenAiStream::new(true, "gemini-2.5-flash");
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
    g.bench_function("stream_50_openai_to_gemini", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = OpenAiToGeminiStream::new("gpt-4o-mini");
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
