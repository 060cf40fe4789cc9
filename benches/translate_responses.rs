//! OpenAI Responses API <-> chat translation (how `/v1/responses` reaches providers without a
//! Responses API): the request, the response, and a 50-event chat stream re-framed as Responses
//! events.

mod support;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringway::providers::responses::{
    ChatToResponsesStream, request_from_responses, response_from_chat,
};

const REQUEST: &str = include_str!("../tests/fixtures/responses/request_items.json");
const CHAT_TOOLS: &str = include_str!("../tests/fixtures/responses/chat_tool_calls.json");
const CHAT_TEXT: &str = include_str!("../tests/fixtures/responses/chat_text.json");

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate_responses");

    g.throughput(Throughput::Bytes(REQUEST.len() as u64));
    g.bench_function("request_responses_to_chat", |b| {
        b.iter(|| request_from_responses(black_box(REQUEST.as_bytes())).expect("translates"));
    });
    g.throughput(Throughput::Bytes(CHAT_TEXT.len() as u64));
    g.bench_function("response_chat_text_to_responses", |b| {
        b.iter(|| response_from_chat(black_box(CHAT_TEXT.as_bytes())).expect("ok"));
    });
    g.throughput(Throughput::Bytes(CHAT_TOOLS.len() as u64));
    g.bench_function("response_chat_tools_to_responses", |b| {
        b.iter(|| response_from_chat(black_box(CHAT_TOOLS.as_bytes())).expect("ok"));
    });

    let events = support::openai_stream();
    assert_eq!(events.len(), 50);
    g.throughput(Throughput::Elements(50));
    g.bench_function("stream_50_chat_to_responses", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            let mut t = ChatToResponsesStream::new("gpt-4o-mini");
            for ev in black_box(&events) {
                t.push(ev, &mut out);
            }
            t.finish(&mut out);
            out.len()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
