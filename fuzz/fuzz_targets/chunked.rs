//! The chunked body decoder on arbitrary bytes in arbitrary splits: never panics, and the decoded
//! body does not depend on how the input was split.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ringway::http::chunked::{ChunkedDecoder, ChunkedError};

/// Decodes `input` fed in pieces whose sizes follow `step`; returns body, leftover and done.
fn decode(input: &[u8], mut step: usize) -> Result<(Vec<u8>, Vec<u8>, bool), ChunkedError> {
    let mut dec = ChunkedDecoder::new();
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = step.min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        step = (step * 5 + 1) % 13 + 1;
        while let Some(data) = dec.decode(&mut buf)? {
            assert!(!data.is_empty());
            body.extend_from_slice(&data);
        }
    }
    Ok((body, buf.to_vec(), dec.is_done()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let whole = decode(input, input.len().max(1));
    let split = decode(input, usize::from(seed % 11) + 1);
    match (whole, split) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.2, b.2);
            if a.2 {
                // Once done, body and leftover are fully determined by the input.
                assert_eq!(a, b);
                assert!(a.0.len() + a.1.len() <= input.len());
            } else {
                // Not done yet: the body so far is the same however it was split.
                assert_eq!(a.0, b.0);
            }
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("split changed the outcome: {a:?} vs {b:?}"),
    }
});
