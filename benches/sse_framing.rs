//! SSE framing of a 50-event OpenAI chat stream pushed in 1 KB chunks.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringway::sse::{SseFramer, is_done};

/// A 50-event OpenAI-style chat completion stream, ending with `data: [DONE]`.
fn stream() -> Vec<u8> {
    let mut s = String::new();
    for i in 0..49 {
        s.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-AbCdEf123\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" token{i}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        ));
    }
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let input = stream();
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("frame_50_events_1KB_chunks", |b| {
        b.iter(|| {
            let mut framer = SseFramer::new();
            let mut events = 0usize;
            let mut done = false;
            for chunk in black_box(&input).chunks(1024) {
                framer.push(chunk);
                while let Ok(Some(event)) = framer.next_event() {
                    events += 1;
                    done |= is_done(&event);
                }
            }
            assert!(done && events == 50);
            events
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
