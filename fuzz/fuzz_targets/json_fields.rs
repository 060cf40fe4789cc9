//! Depth check, field read and rewrite on arbitrary bytes: never crashes, and a rewrite of an
//! accepted body is valid JSON equal to the original minus the rewritten fields.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ringway::json::{MAX_DEPTH, check_depth, read_fields, rewrite};

fuzz_target!(|data: &[u8]| {
    let _ = check_depth(data, 8);
    let Ok(fields) = read_fields(data) else {
        return;
    };
    assert!(check_depth(data, MAX_DEPTH).is_ok());
    let body = Bytes::copy_from_slice(data);
    // serde_json must agree the body is valid, except where it is stricter than JSON itself:
    // lone surrogate escapes (Go accepts them), numbers beyond f64, and its own depth limit of
    // 127 (ours is 128). Then only check that the rewrite is still accepted.
    let original: serde_json::Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(e) => {
            let msg = e.to_string();
            assert!(
                ["surrogate", "hex escape", "out of range", "recursion limit"]
                    .iter()
                    .any(|s| msg.contains(s)),
                "read_fields accepted what serde_json rejects: {msg}"
            );
            for new_model in [None, Some("gpt-4o")] {
                assert!(read_fields(&rewrite(&body, &fields, new_model)).is_ok());
            }
            return;
        }
    };
    for new_model in [None, Some("gpt-4o"), Some("q\"\\\n\u{1}é")] {
        let out = rewrite(&body, &fields, new_model);
        let got: serde_json::Value = match serde_json::from_slice(&out) {
            Ok(v) => v,
            Err(e) => panic!(
                "rewrite produced invalid JSON ({e}): {:?}",
                String::from_utf8_lossy(&out)
            ),
        };
        let mut want = original.clone();
        let obj = want
            .as_object_mut()
            .expect("read_fields accepted a non-object");
        obj.remove("fallbacks");
        if let (Some(m), Some(serde_json::Value::String(_))) = (new_model, obj.get("model")) {
            obj.insert("model".into(), serde_json::Value::String(m.into()));
        }
        assert!(read_fields(&out).is_ok());
        // Duplicate keys make serde_json keep the last value: compare only when unambiguous.
        if fields.extra_model_spans.is_empty() && fields.extra_fallbacks_spans.is_empty() {
            assert_eq!(got, want);
        }
    }
});
