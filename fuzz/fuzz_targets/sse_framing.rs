//! SSE framing under arbitrary chunking: the events plus the rest are exactly the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringway::sse::{SseFramer, event_data, event_name, is_done};

fuzz_target!(|data: &[u8]| {
    // The first bytes choose the split sizes; the rest is the stream.
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let mut framer = SseFramer::with_limit(1 << 16);
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    let mut step = usize::from(seed % 17) + 1;
    while !rest.is_empty() {
        let n = step.min(rest.len());
        framer.push(&rest[..n]);
        rest = &rest[n..];
        step = (step * 7 + 3) % 23 + 1;
        while let Some(event) = framer.next_event().expect("inputs are under the limit") {
            let _ = (event_data(&event), event_name(&event), is_done(&event));
            out.extend_from_slice(&event);
        }
    }
    if let Some(tail) = framer.take_rest() {
        out.extend_from_slice(&tail);
    }
    assert_eq!(out, input);
});
