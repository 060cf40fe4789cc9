//! Bedrock Converse <-> unified translation: requests and responses both ways (OpenAI <->
//! Converse), 50-event streams both ways (ConverseStream pre-framed, raw bytes through the
//! event-stream framer, and OpenAI chunks re-framed as ConverseStream), and the SigV4 signature
//! of a request.

mod support;

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringway::providers::bedrock::sigv4::{self, Credentials, SignRequest};
use ringway::providers::bedrock::{
    BedrockToOpenAiStream, EventStreamFramer, OpenAiToBedrockStream, request_from_bedrock,
    request_to_bedrock, response_from_bedrock, response_to_bedrock, stream_from_lines,
};
use ringway::providers::unified::ChatRequest;

const OPENAI_REQUEST: &str = include_str!("../tests/fixtures/bedrock/openai_request.json");
const CONVERSE_RESPONSE: &str =
    include_str!("../tests/fixtures/bedrock/converse_response_tools.json");
const CONVERSE_REQUEST: &str = include_str!("../tests/fixtures/bedrock/converse_request.json");
const OPENAI_RESPONSE: &str = include_str!("../tests/fixtures/bedrock/openai_response_tools.json");

/// A 50-message ConverseStream: start, 46 text deltas, block stop, stop, metadata.
fn converse_stream() -> Vec<u8> {
    let mut lines = vec![r#"messageStart {"p":"abcdefghijklmnop","role":"assistant"}"#.to_string()];
    for i in 0..46 {
        lines.push(format!(
            r#"contentBlockDelta {{"contentBlockIndex":0,"delta":{{"text":" token{i} with \"quotes\""}},"p":"abcdefgh"}}"#
        ));
    }
    lines.push(
        r#"contentBlockStop {"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyz"}"#.into(),
    );
    lines.push(
        r#"messageStop {"p":"abcdefghijklmnopqrstuvwxyzABCDEF","stopReason":"end_turn"}"#.into(),
    );
    lines.push(r#"metadata {"metrics":{"latencyMs":812},"p":"abcdef","usage":{"inputTokens":250,"outputTokens":138,"totalTokens":388}}"#.into());
    stream_from_lines(&lines.join("\n"))
}

fn frames(stream: &[u8]) -> Vec<Bytes> {
    let mut f = EventStreamFramer::new();
    f.push(stream);
    let mut out = Vec::new();
    while let Some(frame) = f.next_message().expect("valid stream") {
        out.push(frame);
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("translate_bedrock");

    g.throughput(Throughput::Bytes(OPENAI_REQUEST.len() as u64));
    g.bench_function("request_openai_to_converse", |b| {
        b.iter(|| {
            let req = ChatRequest::from_slice(black_box(OPENAI_REQUEST.as_bytes())).expect("req");
            request_to_bedrock(&req).expect("translates")
        });
    });
    g.throughput(Throughput::Bytes(CONVERSE_RESPONSE.len() as u64));
    g.bench_function("response_converse_to_openai", |b| {
        b.iter(|| {
            response_from_bedrock(black_box(CONVERSE_RESPONSE.as_bytes()), "claude").expect("ok")
        });
    });

    let stream = converse_stream();
    let messages = frames(&stream);
    assert_eq!(messages.len(), 50);
    g.throughput(Throughput::Elements(50));
    g.bench_function("stream_50_converse_to_openai", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = BedrockToOpenAiStream::new(true, "anthropic.claude-3-5-sonnet");
            for m in black_box(&messages) {
                t.push(m, &mut out);
            }
            t.finish(&mut out);
            assert!(t.is_done());
            out.len()
        });
    });
    g.bench_function("stream_50_frame_and_translate", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut f = EventStreamFramer::new();
            let mut t = BedrockToOpenAiStream::new(true, "anthropic.claude-3-5-sonnet");
            // Bytes arrive in network-sized pieces that do not line up with messages.
            for piece in black_box(&stream).chunks(1400) {
                f.push(piece);
                while let Some(m) = f.next_message().expect("valid") {
                    t.push(&m, &mut out);
                }
            }
            t.finish(&mut out);
            out.len()
        });
    });

    g.throughput(Throughput::Bytes(CONVERSE_REQUEST.len() as u64));
    g.bench_function("request_converse_to_openai", |b| {
        b.iter(|| request_from_bedrock(black_box(CONVERSE_REQUEST.as_bytes()), false).expect("ok"));
    });
    g.throughput(Throughput::Bytes(OPENAI_RESPONSE.len() as u64));
    g.bench_function("response_openai_to_converse", |b| {
        b.iter(|| response_to_bedrock(black_box(OPENAI_RESPONSE.as_bytes())).expect("ok"));
    });
    let events = support::openai_stream();
    assert_eq!(events.len(), 50);
    g.throughput(Throughput::Elements(50));
    g.bench_function("stream_50_openai_to_converse", |b| {
        let mut out: Vec<Bytes> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            let mut t = OpenAiToBedrockStream::new();
            for ev in black_box(&events) {
                t.push(ev, &mut out);
            }
            t.finish(&mut out);
            out.len()
        });
    });

    let body =
        request_to_bedrock(&ChatRequest::from_slice(OPENAI_REQUEST.as_bytes()).expect("req"))
            .expect("translates");
    let creds = Credentials {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        session_token: Some("FwoGZXIvYXdzEXAMPLETOKEN".into()),
    };
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("sigv4_sign_request", |b| {
        b.iter(|| {
            sigv4::sign(
                &creds,
                &SignRequest {
                    method: "POST",
                    host: "bedrock-runtime.us-west-2.amazonaws.com",
                    path: "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
                    content_type: "application/json",
                    body: black_box(&body),
                    region: "us-west-2",
                    service: "bedrock",
                },
                UNIX_EPOCH + Duration::from_secs(1_714_566_645),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
