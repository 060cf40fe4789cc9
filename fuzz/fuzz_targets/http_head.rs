//! `parse_request_head` on arbitrary bytes: never panics, and whatever it accepts is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringway::http::head::{HeadLimits, parse_request_head};

fuzz_target!(|data: &[u8]| {
    // The first byte picks small limits so the limit paths get exercised too.
    let Some((&knob, input)) = data.split_first() else {
        return;
    };
    let limits = HeadLimits {
        max_head_bytes: 64 + usize::from(knob) * 16,
        max_headers: usize::from(knob % 16) * 10,
    };
    if let Ok(Some((head, len))) = parse_request_head(input, &limits) {
        assert!(len <= input.len() && len <= limits.max_head_bytes);
        assert!(head.headers.len() <= limits.max_headers);
        assert!(!(head.chunked && head.content_length.is_some()));
        assert!(!head.chunked || head.version == 1);
        // A complete head stays complete (and identical) when more bytes follow it.
        let mut longer = input[..len].to_vec();
        longer.extend_from_slice(b"trailing body bytes");
        let again = parse_request_head(&longer, &limits);
        assert_eq!(again, Ok(Some((head, len))));
    }
});
