use super::*;

fn members(body: &str) -> Result<Vec<Member>, JsonError> {
    let mut out = Vec::new();
    scan_object(body.as_bytes(), 128, |m| {
        out.push(m.clone());
        Ok(())
    })?;
    Ok(out)
}

fn text<'a>(body: &'a str, span: &Range<usize>) -> &'a str {
    &body[span.clone()]
}

#[test]
fn reports_each_top_level_member_with_its_spans() {
    let body = r#" { "model" : "a\"b", "n":-1.5e+3,"o":{"x":[1,{}]} , "a":[ ],"t":true,"f":false,"z":null,"k\u0041":"" } "#;
    let got = members(body).expect("valid");
    let seen: Vec<(&str, &str, Kind, bool)> = got
        .iter()
        .map(|m| {
            (
                text(body, &m.key),
                text(body, &m.value),
                m.kind,
                m.value_escaped,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (r#""model""#, r#""a\"b""#, Kind::String, true),
            (r#""n""#, "-1.5e+3", Kind::Number, false),
            (r#""o""#, r#"{"x":[1,{}]}"#, Kind::Object, false),
            (r#""a""#, "[ ]", Kind::Array, false),
            (r#""t""#, "true", Kind::Bool, false),
            (r#""f""#, "false", Kind::Bool, false),
            (r#""z""#, "null", Kind::Null, false),
            (r#""k\u0041""#, r#""""#, Kind::String, false),
        ]
    );
    assert!(got[7].key_escaped && !got[0].key_escaped);
    assert_eq!(members("{}").expect("empty"), vec![]);
    assert_eq!(members(" {\n}\r\n").expect("empty"), vec![]);
}

#[test]
fn long_strings_cross_vector_boundaries() {
    for len in 0..70 {
        for tail in ["", "\\n", "é", "\\u00e9x"] {
            let s = format!("{}{tail}", "a".repeat(len));
            let body = format!(r#"{{"k":"{s}","after":1}}"#);
            let got = members(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(text(&body, &got[0].value), format!("\"{s}\""));
            assert_eq!(got[0].value_escaped, tail.starts_with('\\'));
            assert_eq!(text(&body, &got[1].key), "\"after\"");
        }
    }
}

#[test]
fn rejects_malformed_bodies() {
    for bad in [
        "",
        "   ",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,\"a\":1}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":[1,]}",
        "{\"a\":[1 2]}",
        "{\"a\":[}",
        "{\"a\":{]}",
        "{\"a\":1}}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":-}",
        "{\"a\":+1}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":True}",
        "{\"a\":\"x}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"nl\nhere\"}",
        "{\"a\":NaN}",
        "{\"a\":1}\u{0}",
    ] {
        let err = members(bad).expect_err(bad);
        assert!(matches!(err, JsonError::Invalid(_)), "{bad:?}: {err:?}");
    }
    for not_object in ["[]", "1", "\"s\"", "null", "[{\"a\":1}]"] {
        assert_eq!(members(not_object), Err(JsonError::NotObject));
    }
}

#[test]
fn checks_utf8_only_where_it_matters() {
    assert!(members("{\"é\":\"ünïcødé ✓ 𝄞\"}").is_ok());
    let mut raw = b"{\"k\":\"abc".to_vec();
    raw.extend_from_slice(&[0xff, 0xfe]);
    raw.extend_from_slice(b"\"}");
    assert!(scan_object(&raw, 128, |_| Ok(())).is_err());
    // An overlong encoding, long enough for the vector path.
    let mut raw = b"{\"k\":\"0123456789abcdef".to_vec();
    raw.extend_from_slice(&[0xc0, 0xaf]);
    raw.extend_from_slice(b"0123456789abcdef\"}");
    assert!(scan_object(&raw, 128, |_| Ok(())).is_err());
    // Lone surrogate escapes are accepted, as Go accepts them.
    assert!(members(r#"{"k":"\ud800"}"#).is_ok());
}

#[test]
fn refuses_nesting_past_the_limit() {
    let nest = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
    let ok = |b: &str, max| scan_object(b.as_bytes(), max, |_| Ok(()));
    assert!(ok(&nest(128), 128).is_ok());
    assert_eq!(ok(&nest(129), 128), Err(JsonError::TooDeep { max: 128 }));
    assert!(ok(&nest(300), 300).is_ok(), "heap bit stack");
    assert_eq!(ok(&nest(301), 300), Err(JsonError::TooDeep { max: 300 }));
    assert_eq!(ok("{}", 0), Err(JsonError::TooDeep { max: 0 }));
    // Objects and arrays alternate correctly across the 64-bit words of the stack.
    let mixed = format!("{}1{}", "{\"a\":[".repeat(60), "]}".repeat(60));
    assert!(ok(&mixed, 128).is_ok());
    let wrong = format!("{}1{}", "{\"a\":[".repeat(60), "}]".repeat(60));
    assert!(ok(&wrong, 128).is_err());
}

#[test]
fn huge_nesting_is_refused_on_a_small_stack() {
    let body = format!("{{\"a\":{}", "[".repeat(1_000_000));
    let handle = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || scan_object(body.as_bytes(), 128, |_| Ok(())))
        .expect("spawn");
    assert_eq!(
        handle.join().expect("no overflow"),
        Err(JsonError::TooDeep { max: 128 })
    );
}

#[test]
fn a_member_error_stops_the_scan() {
    let mut seen = 0;
    let err = scan_object(br#"{"a":1,"b":2,"c":3}"#, 128, |m| {
        seen += 1;
        if m.key.len() == 3 && seen == 2 {
            return Err(JsonError::NotObject);
        }
        Ok(())
    });
    assert_eq!(err, Err(JsonError::NotObject));
    assert_eq!(seen, 2);
}

/// A random JSON value, with random whitespace, at most `depth` containers deep.
fn random_value(rng: &mut fastrand::Rng, depth: usize, out: &mut String) {
    let ws = |rng: &mut fastrand::Rng, out: &mut String| {
        for _ in 0..rng.usize(0..3) {
            out.push([' ', '\n', '\t', '\r'][rng.usize(0..4)]);
        }
    };
    let pick = if depth == 0 {
        rng.usize(2..7)
    } else {
        rng.usize(0..7)
    };
    match pick {
        0 | 1 => {
            let object = pick == 0;
            out.push(if object { '{' } else { '[' });
            ws(rng, out);
            for i in 0..rng.usize(0..4) {
                if i > 0 {
                    out.push(',');
                    ws(rng, out);
                }
                if object {
                    random_string(rng, out);
                    ws(rng, out);
                    out.push(':');
                    ws(rng, out);
                }
                random_value(rng, depth - 1, out);
                ws(rng, out);
            }
            out.push(if object { '}' } else { ']' });
        }
        2 => random_string(rng, out),
        3 => {
            let n = [
                "0", "-0", "12", "-3.25", "1e5", "2E-3", "6.02e+23", "-0.0e0",
            ];
            out.push_str(n[rng.usize(0..n.len())]);
        }
        4 => out.push_str("true"),
        5 => out.push_str("false"),
        _ => out.push_str("null"),
    }
}

fn random_string(rng: &mut fastrand::Rng, out: &mut String) {
    const PIECES: &[&str] = &[
        "a",
        "model",
        " ",
        "é",
        "✓",
        "𝄞",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\u00e9",
        "\\uD834\\uDD1E",
        "{",
        "]",
        ",",
        ":",
        "0123456789abcdef",
    ];
    out.push('"');
    for _ in 0..rng.usize(0..12) {
        out.push_str(PIECES[rng.usize(0..PIECES.len())]);
    }
    out.push('"');
}

/// Mutations and random bodies: the scan accepts exactly what serde_json accepts as an object
/// and is valid UTF-8 (serde_json is the reference for the grammar).
#[test]
fn agrees_with_serde_json_on_random_bodies() {
    const BYTES: &[u8] = b"{}[]\":,\\ \n0123456789.eE+-truefalsnxu\x01\x7f\xc3\xa9\xff";
    let mut rng = fastrand::Rng::with_seed(0x5ca1_ab1e);
    let mut accepted = 0;
    for round in 0..40_000 {
        let mut text = String::from("{");
        for i in 0..rng.usize(0..5) {
            if i > 0 {
                text.push(',');
            }
            random_string(&mut rng, &mut text);
            text.push(':');
            random_value(&mut rng, 5, &mut text);
        }
        text.push('}');
        let mut body = text.into_bytes();
        if round % 4 != 0 {
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(0..=body.len());
                let b = BYTES[rng.usize(0..BYTES.len())];
                match rng.usize(0..3) {
                    0 if at < body.len() => {
                        body.remove(at);
                    }
                    1 if at < body.len() => body[at] = b,
                    _ => body.insert(at, b),
                }
            }
        }
        let ours = scan_object(&body, 128, |_| Ok(()));
        // serde_json skips strings without checking their UTF-8; the gateway refuses it.
        let reference = serde_json::from_slice::<serde::de::IgnoredAny>(&body).and_then(|v| {
            std::str::from_utf8(&body)
                .map(|_| v)
                .map_err(|_| serde::de::Error::custom("invalid UTF-8"))
        });
        let object = body
            .iter()
            .find(|b| !b" \t\n\r".contains(b))
            .is_some_and(|&b| b == b'{');
        let text = String::from_utf8_lossy(&body);
        match (&ours, &reference) {
            (Ok(()), Ok(_)) => {
                assert!(object, "{text}");
                accepted += 1;
            }
            (Err(JsonError::NotObject), Ok(_)) => assert!(!object, "{text}"),
            (Err(e), Ok(_)) => panic!("scan rejected valid {text:?}: {e}"),
            (Ok(()), Err(e)) => panic!("scan accepted invalid {text:?}: {e}"),
            (Err(_), Err(_)) => {}
        }
    }
    assert!(
        accepted > 10_000,
        "the generator must make valid bodies too: {accepted}"
    );
}
