use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Number, Value, json};

use super::to_vec;

fn same<T: Serialize + ?Sized>(v: &T) {
    let theirs = serde_json::to_vec(v).map_err(|e| e.to_string());
    let ours = to_vec(v).map_err(|e| e.to_string());
    assert_eq!(
        ours.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        theirs
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    );
}

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Newtype(u8);

#[derive(Serialize)]
struct Tuple(u8, &'static str);

#[derive(Serialize)]
enum Kinds {
    Unit,
    Newtype(i32),
    Tuple(i32, String),
    Struct { a: f64, b: Option<bool> },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tagged {
    Text { text: String },
    Empty,
}

#[derive(Serialize)]
struct Flat {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[test]
fn writes_what_serde_json_writes() {
    same(&json!(null));
    same(&json!({"a": [1, -2, 3.5, 1e300, -0.0, 18446744073709551615u64, true, null, "x"]}));
    same(&json!({"": {}, "e": [], "n": {"m": [[], [{}]]}}));
    same(&"quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} del \u{7f} é 日本 😀");
    same(&'\n');
    same(&Unit);
    same(&Newtype(7));
    same(&Tuple(1, "t"));
    same(&(1u8, "two", 3.0f32));
    same(&[Kinds::Unit, Kinds::Newtype(-1)]);
    same(&Kinds::Tuple(2, "s\"".into()));
    same(&Kinds::Struct { a: 0.1, b: None });
    same(&vec![
        Tagged::Text {
            text: "hi\n".into(),
        },
        Tagged::Empty,
    ]);
    same(&Flat {
        name: "n".into(),
        skipped: None,
        extra: json!({"k\"ey": 1, "z": {"nested": "v"}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    });
    same(&serde_bytes_like());
    let numeric_keys: BTreeMap<i32, &str> = [(-1, "a"), (20, "b")].into_iter().collect();
    same(&numeric_keys);
    let bool_keys: BTreeMap<bool, u8> = [(true, 1)].into_iter().collect();
    same(&bool_keys);
    let char_keys: BTreeMap<char, u8> = [('"', 1), ('k', 2)].into_iter().collect();
    same(&char_keys);
    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    enum KeyVariant {
        First,
    }
    let variant_keys: BTreeMap<KeyVariant, u8> = [(KeyVariant::First, 1)].into_iter().collect();
    same(&variant_keys);
    #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
    struct Name(String);
    let newtype_keys: BTreeMap<Name, u8> = [(Name("n\n".into()), 1)].into_iter().collect();
    same(&newtype_keys);
    same(&f64::NAN);
    same(&Number::from_f64(2.5));
}

/// A type that calls `serialize_bytes`.
fn serde_bytes_like() -> impl Serialize {
    struct Bytes;
    impl Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&[0, 1, 255])
        }
    }
    Bytes
}

#[test]
fn refuses_what_serde_json_refuses() {
    let bad_keys: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
    assert!(serde_json::to_vec(&bad_keys).is_err());
    assert!(to_vec(&bad_keys).is_err());
}

#[test]
fn random_values_encode_identically() {
    let mut rng = fastrand::Rng::with_seed(0x5eed_0e0c);
    for _ in 0..5_000 {
        same(&random_value(&mut rng, 0));
    }
}

fn random_string(rng: &mut fastrand::Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "plain text ",
        "\"",
        "\\",
        "\n",
        "\r\n",
        "\t",
        "\u{1}",
        "\u{1f}",
        "\u{7f}",
        "é",
        "日本",
        "😀",
        "/",
        " ",
    ];
    let n = rng.usize(0..40);
    (0..n).map(|_| PIECES[rng.usize(0..PIECES.len())]).collect()
}

fn random_value(rng: &mut fastrand::Rng, depth: usize) -> Value {
    let pick = if depth > 4 {
        rng.u8(0..5)
    } else {
        rng.u8(0..7)
    };
    match pick {
        0 => Value::Null,
        1 => Value::Bool(rng.bool()),
        2 => json!(rng.i64(..)),
        3 => Number::from_f64(f64::from_bits(rng.u64(..)))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        4 => Value::String(random_string(rng)),
        5 => Value::Array(
            (0..rng.usize(0..5))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.usize(0..5))
                .map(|_| (random_string(rng), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}
