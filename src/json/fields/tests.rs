#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use serde_json::Value;

use super::*;
use crate::json::{rewrite, rewrite_segments};

fn parse(body: &str) -> Value {
    serde_json::from_str(body).expect("test body is valid JSON")
}

/// Rewrites `body` and returns the new text, asserting that both rewrite paths agree.
fn rewritten(body: &str, new_model: Option<&str>) -> String {
    let bytes = Bytes::copy_from_slice(body.as_bytes());
    let fields = read_fields(&bytes).expect("read_fields");
    let out = rewrite(&bytes, &fields, new_model);
    let joined: Vec<u8> = rewrite_segments(&bytes, &fields, new_model).concat();
    assert_eq!(out.as_ref(), joined.as_slice());
    String::from_utf8(out.to_vec()).expect("utf-8")
}

/// What the rewrite must produce, computed on serde_json values.
fn expected(body: &str, new_model: Option<&str>) -> Value {
    let mut v = parse(body);
    let obj = v.as_object_mut().expect("object");
    obj.shift_remove("fallbacks");
    if let (Some(m), Some(Value::String(_))) = (new_model, obj.get("model")) {
        obj.insert("model".into(), Value::String(m.into()));
    }
    v
}

fn check(body: &str, new_model: Option<&str>) -> String {
    let out = rewritten(body, new_model);
    let got: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("rewrite of {body:?} gave invalid JSON {out:?}: {e}"));
    assert_eq!(got, expected(body, new_model), "body {body:?} -> {out:?}");
    out
}

#[test]
fn reads_the_three_fields() {
    let body = br#"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"fallbacks":["anthropic/claude-3","groq/llama"]}"#;
    let f = read_fields(body).expect("valid");
    assert_eq!(f.model.as_deref(), Some("openai/gpt-4o"));
    assert_eq!(&body[f.model_span.clone().unwrap()], br#""openai/gpt-4o""#);
    assert!(f.stream);
    assert_eq!(f.fallbacks, ["anthropic/claude-3", "groq/llama"]);
    assert_eq!(
        &body[f.fallbacks_span.clone().unwrap()],
        br#","fallbacks":["anthropic/claude-3","groq/llama"]"#
    );
    assert!(f.extra_model_spans.is_empty() && f.extra_fallbacks_spans.is_empty());
}

#[test]
fn absent_and_null_fields() {
    let f = read_fields(b"{}").expect("valid");
    assert_eq!(f, RequestFields::default());
    let f = read_fields(br#" { "model" : null , "stream" : null , "fallbacks" : null } "#)
        .expect("valid");
    assert_eq!(f.model, None);
    assert_eq!(f.model_span, None);
    assert!(!f.stream);
    assert!(f.fallbacks.is_empty());
    // A null fallbacks member is still removed before forwarding.
    assert!(f.fallbacks_span.is_some());
    let f = read_fields(br#"{"stream":false}"#).expect("valid");
    assert!(!f.stream);
}

#[test]
fn fallbacks_position_shapes() {
    let cases = [
        // (body, expected output with model rewritten to "m")
        (
            r#"{"fallbacks":["a/b"],"model":"x/y","n":1}"#,
            r#"{"model":"m","n":1}"#,
        ),
        (
            r#"{"model":"x/y","fallbacks":["a/b"],"n":1}"#,
            r#"{"model":"m","n":1}"#,
        ),
        (
            r#"{"model":"x/y","n":1,"fallbacks":["a/b"]}"#,
            r#"{"model":"m","n":1}"#,
        ),
        (r#"{"fallbacks":["a/b"]}"#, r#"{}"#),
        (r#"{ "fallbacks" : [ "a/b" ] }"#, r#"{  }"#),
        (
            "{\n  \"model\": \"x/y\",\n  \"fallbacks\": [\"a/b\"],\n  \"n\": 1\n}",
            "{\n  \"model\": \"m\",\n  \"n\": 1\n}",
        ),
        (
            "{\n  \"model\": \"x/y\",\n  \"fallbacks\": [\"a/b\"]\n}",
            "{\n  \"model\": \"m\"\n}",
        ),
        (
            "{\n  \"fallbacks\": [],\n  \"model\": \"x/y\"\n}",
            "{\n  \"model\": \"m\"\n}",
        ),
        (
            r#"{"model":"x/y" ,"fallbacks":[] , "z":{}}"#,
            r#"{"model":"m" ,"z":{}}"#,
        ),
        (r#"{"model":"x/y","fallbacks":null}"#, r#"{"model":"m"}"#),
    ];
    for (body, want) in cases {
        assert_eq!(check(body, Some("m")), want, "body {body:?}");
    }
}

#[test]
fn nested_model_and_fallbacks_keys_are_untouched() {
    let body = r#"{"messages":[{"model":"inner","fallbacks":["keep"]}],"metadata":{"model":"meta","fallbacks":[1]},"model":"openai/gpt-4o","tools":[{"function":{"parameters":{"properties":{"model":{"type":"string"}}}}}]}"#;
    let f = read_fields(body.as_bytes()).expect("valid");
    assert_eq!(f.model.as_deref(), Some("openai/gpt-4o"));
    assert_eq!(f.fallbacks_span, None);
    let out = check(body, Some("gpt-4o"));
    assert_eq!(
        out,
        body.replace(r#""model":"openai/gpt-4o""#, r#""model":"gpt-4o""#)
    );
}

#[test]
fn model_inside_strings_is_untouched() {
    let body = r#"{"content":"{\"model\":\"x\",\"fallbacks\":[]}","model":"a/b"}"#;
    let out = check(body, Some("b"));
    assert!(out.starts_with(r#"{"content":"{\"model\":\"x\",\"fallbacks\":[]}","#));
}

#[test]
fn escaped_and_unicode_models() {
    let body = r#"{"model":"open\u0061i\/gpt-4o \"q\" \\ caf\u00e9 \ud83d\ude00"}"#;
    let f = read_fields(body.as_bytes()).expect("valid");
    assert_eq!(f.model.as_deref(), Some("openai/gpt-4o \"q\" \\ café 😀"));
    // Replacing with something needing escapes yields the same string back after parsing.
    let tricky = "x\"y\\z\n\t\u{1}\u{1f}é😀/";
    check(body, Some(tricky));
    // Raw (unescaped) unicode in the body.
    let body = r#"{"model":"модель/名前","fallbacks":["ü/ö"],"note":"日本語"}"#;
    let f = read_fields(body.as_bytes()).expect("valid");
    assert_eq!(f.model.as_deref(), Some("модель/名前"));
    assert_eq!(f.fallbacks, ["ü/ö"]);
    assert_eq!(
        check(body, Some("名前")),
        r#"{"model":"名前","note":"日本語"}"#
    );
}

#[test]
fn escaped_keys_match_after_unescaping() {
    let body = r#"{"mod\u0065l":"a/b","fallback\u0073":["c/d"],"k\"ey":"\\"}"#;
    let f = read_fields(body.as_bytes()).expect("valid");
    assert_eq!(f.model.as_deref(), Some("a/b"));
    assert_eq!(f.fallbacks, ["c/d"]);
    assert_eq!(check(body, Some("b")), r#"{"mod\u0065l":"b","k\"ey":"\\"}"#);
    // A key ending in an escaped backslash right before the fallbacks member.
    let body = r#"{"a\\":1,"fallbacks":[]}"#;
    assert_eq!(check(body, None), r#"{"a\\":1}"#);
}

#[test]
fn unchanged_body_is_not_copied() {
    for (body, model) in [
        (r#"{"model":"a/b","messages":[]}"#, Some("a/b")),
        (r#"{"model":"a/b"}"#, None),
        (r#"{"messages":[]}"#, Some("x")),
    ] {
        let bytes = Bytes::copy_from_slice(body.as_bytes());
        let fields = read_fields(&bytes).expect("valid");
        let out = rewrite(&bytes, &fields, model);
        assert_eq!(out.as_ptr(), bytes.as_ptr(), "copied {body:?}");
        assert_eq!(out.len(), bytes.len());
    }
}

#[test]
fn duplicate_keys_last_wins_and_all_are_rewritten() {
    let body = r#"{"model":"first/one","stream":true,"model":"second/two","stream":false}"#;
    let f = read_fields(body.as_bytes()).expect("valid");
    assert_eq!(f.model.as_deref(), Some("second/two"));
    assert!(!f.stream);
    assert_eq!(f.extra_model_spans.len(), 1);
    assert_eq!(
        rewritten(body, Some("two")),
        r#"{"model":"two","stream":true,"model":"two","stream":false}"#
    );
    // Even when the last value already equals the new model, earlier duplicates are rewritten.
    assert_eq!(
        rewritten(body, Some("second/two")),
        r#"{"model":"second/two","stream":true,"model":"second/two","stream":false}"#
    );

    let f = read_fields(br#"{"fallbacks":["a"],"fallbacks":["b"]}"#).expect("valid");
    assert_eq!(f.fallbacks, ["b"]);
    let dup_cases = [
        (r#"{"fallbacks":["a"],"fallbacks":["b"]}"#, "{}"),
        (
            r#"{"fallbacks":["a"],"fallbacks":["b"],"n":1}"#,
            r#"{"n":1}"#,
        ),
        (
            r#"{"n":1,"fallbacks":["a"],"fallbacks":["b"]}"#,
            r#"{"n":1}"#,
        ),
        (
            r#"{"fallbacks":["a"],"n":1,"fallbacks":["b"]}"#,
            r#"{"n":1}"#,
        ),
        (
            r#"{"fallbacks":["a"], "n":1, "fallbacks":["b"], "m":2, "fallbacks":[]}"#,
            r#"{"n":1, "m":2}"#,
        ),
        (
            r#"{"n":0,"fallbacks":[],"n":1,"fallbacks":[],"fallbacks":[],"o":2}"#,
            r#"{"n":0,"n":1,"o":2}"#,
        ),
    ];
    for (body, want) in dup_cases {
        assert_eq!(rewritten(body, None), want, "body {body:?}");
    }
}

#[test]
fn wrong_types_name_the_field() {
    let cases: [(&str, &str); 9] = [
        (r#"{"model":1}"#, "model"),
        (r#"{"model":["a"]}"#, "model"),
        (r#"{"model":{"a":1}}"#, "model"),
        (r#"{"stream":"true"}"#, "stream"),
        (r#"{"stream":1}"#, "stream"),
        (r#"{"fallbacks":"a/b"}"#, "fallbacks"),
        (r#"{"fallbacks":["a/b",1]}"#, "fallbacks"),
        (r#"{"fallbacks":[null]}"#, "fallbacks"),
        (r#"{"fallbacks":{"a":"b"}}"#, "fallbacks"),
    ];
    for (body, field) in cases {
        match read_fields(body.as_bytes()) {
            Err(JsonError::WrongType { field: f, .. }) => assert_eq!(f, field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn malformed_json_is_rejected() {
    let cases = [
        "",
        "   ",
        "{",
        "{\"model\":\"a\"",
        "{\"model\":\"a\",}",
        "{\"model\" \"a\"}",
        "{\"model\":}",
        "{model:\"a\"}",
        "{\"a\":1}}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{\"a\":[1,]}",
        "{\"a\":[1 2]}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{\"a\":+1}",
        "{\"a\":.5}",
        "{\"a\":\"\t\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\uZZZZ\"}",
        "{\"a\":'x'}",
        "{\"a\":NaN}",
        "{\"a\":[}",
        "{\"a\":{\"b\"}}",
        "{\"a\":{\"b\":1,}}",
        "{\"a\":1,\"b\":[{\"c\":[1,2,{]}]}",
    ];
    for body in cases {
        match read_fields(body.as_bytes()) {
            Err(JsonError::Invalid(_)) => {}
            other => panic!("{body:?} -> {other:?}"),
        }
    }
    // Invalid UTF-8 anywhere, even deep inside an ignored value.
    let mut bad = br#"{"model":"a","x":["#.to_vec();
    bad.extend_from_slice(b"\"\xff\xfe\"]}");
    assert!(matches!(read_fields(&bad), Err(JsonError::Invalid(_))));
}

#[test]
fn non_objects_are_rejected() {
    for body in [
        "[]",
        "[{\"model\":\"a\"}]",
        "\"model\"",
        "1",
        "null",
        "true",
        " [1",
    ] {
        assert_eq!(
            read_fields(body.as_bytes()),
            Err(JsonError::NotObject),
            "{body:?}"
        );
    }
}

#[test]
fn deep_nesting_is_rejected_without_crashing() {
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let arrays = format!(r#"{{"model":"a","x":{}}}"#, "[".repeat(100_000));
            let closed = format!(
                r#"{{"model":"a","x":{}{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            );
            let objects = format!(r#"{{"model":"a","x":{}}}"#, r#"{"a":"#.repeat(100_000));
            [
                read_fields(arrays.as_bytes()),
                read_fields(closed.as_bytes()),
                read_fields(objects.as_bytes()),
            ]
            .map(|r| r.map(|_| ()))
        })
        .expect("spawn");
    for r in handle.join().expect("thread must not crash") {
        assert_eq!(r, Err(JsonError::TooDeep { max: MAX_DEPTH }));
    }
    // A deep top-level array is refused at its first byte: a body must be an object.
    assert_eq!(
        read_fields("[".repeat(100_000).as_bytes()),
        Err(JsonError::NotObject)
    );
    // Just under the limit parses fine. Unoptimised sonic-rs needs ~50 KiB of stack per level
    // (about 200 B optimised), hence the big stack here.
    let ok = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let ok = format!(
                r#"{{"x":{}{}}}"#,
                "[".repeat(MAX_DEPTH - 1),
                "]".repeat(MAX_DEPTH - 1)
            );
            read_fields(ok.as_bytes()).map(|_| ())
        })
        .expect("spawn")
        .join()
        .expect("no crash");
    assert_eq!(ok, Ok(()));
    let too_deep = format!(
        r#"{{"x":{}{}}}"#,
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    assert_eq!(
        read_fields(too_deep.as_bytes()),
        Err(JsonError::TooDeep { max: MAX_DEPTH })
    );
}

#[test]
fn read_string_field_reads_top_level_only() {
    let body = br#"{"input":{"model":"inner"},"model":"outer","n":null}"#;
    assert_eq!(
        read_string_field(body, "model").expect("ok").as_deref(),
        Some("outer")
    );
    assert_eq!(read_string_field(body, "n").expect("ok"), None);
    assert_eq!(read_string_field(body, "absent").expect("ok"), None);
    assert!(matches!(
        read_string_field(br#"{"input":{}}"#, "input"),
        Err(JsonError::WrongType { field: "input", .. })
    ));
    assert_eq!(read_string_field(b"[]", "model"), Err(JsonError::NotObject));
    assert!(read_string_field(br#"{"model":"a"} x"#, "model").is_err());
}

/// Generates random JSON text with random whitespace, for the property test.
struct Gen {
    rng: fastrand::Rng,
}

impl Gen {
    fn ws(&mut self) -> &'static str {
        const WS: [&str; 6] = ["", "", "", " ", "\n  ", "\t\r\n "];
        WS[self.rng.usize(..WS.len())]
    }

    fn string(&mut self) -> String {
        const PIECES: [&str; 14] = [
            "a",
            "gpt-4o",
            "/",
            "model",
            "fallbacks",
            "\\\"",
            "\\\\",
            "\\n",
            "\\u00e9",
            "é",
            "😀",
            "\\ud83d\\ude00",
            "[{",
            "}]",
        ];
        let n = self.rng.usize(0..5);
        let mut s = String::from("\"");
        for _ in 0..n {
            s.push_str(PIECES[self.rng.usize(..PIECES.len())]);
        }
        s.push('"');
        s
    }

    fn value(&mut self, depth: usize) -> String {
        let pick = if depth > 3 {
            self.rng.usize(0..4)
        } else {
            self.rng.usize(0..6)
        };
        match pick {
            0 => self.string(),
            1 => ["0", "-1.5e3", "42", "3.25"][self.rng.usize(..4)].to_string(),
            2 => ["true", "false", "null"][self.rng.usize(..3)].to_string(),
            3 => self.string(),
            4 => {
                let items: Vec<String> = (0..self.rng.usize(0..4))
                    .map(|_| self.value(depth + 1))
                    .collect();
                let sep = format!("{},{}", self.ws(), self.ws());
                format!("[{}{}{}]", self.ws(), items.join(&sep), self.ws())
            }
            _ => {
                let keys = ["model", "fallbacks", "stream", "x", "messages"];
                let n = self.rng.usize(0..4);
                let mut members = Vec::new();
                for k in keys.iter().take(n) {
                    members.push(format!(
                        "\"{k}\"{}:{}{}",
                        self.ws(),
                        self.ws(),
                        self.value(depth + 1)
                    ));
                }
                let sep = format!("{},{}", self.ws(), self.ws());
                format!("{{{}{}{}}}", self.ws(), members.join(&sep), self.ws())
            }
        }
    }

    /// A request object with unique top-level keys in random order.
    fn request(&mut self) -> String {
        let mut members = Vec::new();
        if self.rng.bool() {
            members.push(format!("\"model\":{}{}", self.ws(), self.string()));
        }
        if self.rng.bool() {
            let fb: Vec<String> = (0..self.rng.usize(0..3)).map(|_| self.string()).collect();
            let value = if self.rng.u8(..8) == 0 {
                "null".to_string()
            } else {
                format!("[{}]", fb.join(","))
            };
            members.push(format!("\"fallbacks\"{}:{}", self.ws(), value));
        }
        if self.rng.bool() {
            members.push(format!(
                "\"stream\":{}",
                ["true", "false"][self.rng.usize(..2)]
            ));
        }
        for i in 0..self.rng.usize(0..4) {
            members.push(format!(
                "\"k{i}\"{}:{}{}",
                self.ws(),
                self.ws(),
                self.value(0)
            ));
        }
        self.rng.shuffle(&mut members);
        let sep = format!("{},{}", self.ws(), self.ws());
        format!(
            "{}{{{}{}{}}}{}",
            self.ws(),
            self.ws(),
            members.join(&sep),
            self.ws(),
            self.ws()
        )
    }
}

#[test]
fn property_rewrite_equals_original_minus_changes() {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(0x5eed),
    };
    for _ in 0..5000 {
        let body = g.request();
        let parsed = parse(&body);
        let f = read_fields(body.as_bytes()).unwrap_or_else(|e| panic!("{body:?}: {e}"));
        assert_eq!(
            f.model.as_deref(),
            parsed.get("model").and_then(Value::as_str),
            "{body:?}"
        );
        assert_eq!(
            f.stream,
            parsed
                .get("stream")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        );
        let fb: Vec<String> = parsed
            .get("fallbacks")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        assert_eq!(f.fallbacks, fb);
        let model = ["gpt-4o", "a\"b", "é/😀"][g.rng.usize(..3)];
        let out = check(&body, Some(model));
        check(&body, None);
        // Nothing outside the edited spans changed: prefix before the first edit is identical.
        let first_edit = [
            f.model_span.as_ref().map(|s| s.start),
            f.fallbacks_span.as_ref().map(|s| s.start),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(body.len());
        assert_eq!(
            &out.as_bytes()[..first_edit],
            &body.as_bytes()[..first_edit]
        );
    }
}

#[test]
fn property_truncations_never_panic_and_never_pass() {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(99),
    };
    for _ in 0..300 {
        let body = g.request();
        let trimmed = body.trim_end();
        for end in 0..trimmed.len() {
            if !trimmed.is_char_boundary(end) {
                continue;
            }
            let prefix = &trimmed[..end];
            if serde_json::from_str::<Value>(prefix).is_err() {
                assert!(
                    read_fields(prefix.as_bytes()).is_err(),
                    "accepted {prefix:?}"
                );
            }
        }
    }
}
