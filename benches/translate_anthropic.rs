//! Anthropic <-> unified translation: requests and responses both ways on realistic bodies, and
//! 50-event streams both ways (events already framed, so only translation is measured).

mod support;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringway::providers::anthropic::{
    AnthropicToOpenAiStream, OpenAiToAnthropicStream, request_from_anthropic, request_to_anthropic,
    response_from_anthropic, response_to_anthropic,
};
use ringway::providers::unified::ChatRequest;

const OPENAI_REQUEST: &str = include_str!("../tests/fixtures/anthropic/openai_request.json");
const ANTHROPIC_REQUEST: &str = include_str!("../tests/fixtures/anthropic/anthropic_request.json");
const ANTHROPIC_RESPONSE: &str =
    include_str!("../tests/fixtures/anthropic/anthropic_response_tools.json");
const OPENAI_RESPONSE: &str =
    include_str!("../tests/fixtures/anthropic/openai_response_tools.json");

/// A 50-event Anthropic stream: start, block start, ping, 44 text deltas, stop, delta, stop.
fn anthropic_stream() -> Vec<Vec<u8>> {
    let mut events = vec![
        br#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01Bench","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":250,"cache_read_input_tokens":0,"output_tokens":1}}}

"#
        .to_vec(),
        b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_vec(),
        b"event: ping\ndata: {\"type\": \"ping\"}\n\n".to_vec(),
    ];
    for i in 0..44 {
        events.push(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\" token{i} with \\\"quotes\\\"\"}}}}\n\n"
        ).into_bytes());
    }
    events.push(
        b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            .to_vec(),
    );
    events.push(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":132}}\n\n".to_vec());
    events.push(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_vec());
    events
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate_anthropic");

    g.throughput(Throughput::Bytes(OPENAI_REQUEST.len() as u64));
    g.bench_function("request_openai_to_anthropic", |b| {
        b.iter(|| {
            let req = ChatRequest::from_slice(black_box(OPENAI_REQUEST.as_bytes())).expect("req");
            request_to_anthropic(&req, "claude-sonnet-4-5").expect("translates")
        });
    });
    g.throughput(Throughput::Bytes(ANTHROPIC_REQUEST.len() as u64));
    g.bench_function("request_anthropic_to_openai", |b| {
        b.iter(|| {
            request_from_anthropic(black_box(ANTHROPIC_REQUEST.as_bytes()))
                .expect("translates")
                .to_vec()
        });
    });
    g.throughput(Throughput::Bytes(ANTHROPIC_RESPONSE.len() as u64));
    g.bench_function("response_anthropic_to_openai", |b| {
        b.iter(|| response_from_anthropic(black_box(ANTHROPIC_RESPONSE.as_bytes())).expect("ok"));
    });
    g.throughput(Throughput::Bytes(OPENAI_RESPONSE.len() as u64));
    g.bench_function("response_openai_to_anthropic", |b| {
        b.iter(|| response_to_anthropic(black_box(OPENAI_RESPONSE.as_bytes())).expect("ok"));
    });

    let events = anthropic_stream();
    assert_eq!(events.len(), 50);
    g.throughput(Throughput::Elements(50));
    g.bench_function("stream_50_anthropic_to_openai", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = AnthropicToOpenAiStream::new(true);
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
    g.bench_function("stream_50_openai_to_anthropic", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = OpenAiToAnthropicStream::new("gpt-4o-mini");
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
