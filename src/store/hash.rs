//! Change detection for `config.json` sections: a keyed 128-bit hash of canonical JSON.
//!
//! Like Bifrost's `config_hash`, the hash only tells whether a section of the file changed since it
//! was last seeded. It is keyed with a random per-store secret so that a hash shown in an API
//! response says nothing about the secrets inside the section.

use serde_json::Value;

/// Hashes JSON values independently of object member order and formatting.
#[derive(Clone)]
pub struct SectionHasher {
    k1: u64,
    k2: u64,
}

impl SectionHasher {
    /// A hasher keyed with 16 secret bytes.
    pub fn new(key: [u8; 16]) -> Self {
        let (a, b) = key.split_at(8);
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        };
        // Mixed into FNV's offset bases so that two stores hash the same section differently.
        Self {
            k1: 0xcbf2_9ce4_8422_2325 ^ word(a),
            k2: 0x6c62_272e_07bb_0142 ^ word(b),
        }
    }

    /// 32 hex digits identifying `v` (object members in any order hash the same).
    pub fn hash(&self, v: &Value) -> String {
        let mut bytes = Vec::with_capacity(256);
        canonical(v, &mut bytes);
        // The key is absorbed again at the end so that appended bytes cannot be forged.
        let h1 = fnv1a(fnv1a(self.k1, &bytes), &self.k2.to_le_bytes());
        let h2 = fnv1a(fnv1a(self.k2, &bytes), &self.k1.to_le_bytes());
        format!("{h1:016x}{h2:016x}")
    }
}

impl std::fmt::Debug for SectionHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SectionHasher(<keyed>)")
    }
}

fn fnv1a(basis: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(basis, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Writes `v` as JSON with object members sorted by name (input depth is bounded by the JSON
/// parser that produced `v`).
fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String(k.clone()).to_string().as_bytes());
                out.push(b':');
                canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_order_does_not_matter_values_do() {
        let h = SectionHasher::new([7; 16]);
        let a = json!({"keys": [{"value": "x", "models": ["*"]}], "network_config": {"max_retries": 1}});
        let b = json!({"network_config": {"max_retries": 1}, "keys": [{"models": ["*"], "value": "x"}]});
        assert_eq!(h.hash(&a), h.hash(&b));
        let c = json!({"network_config": {"max_retries": 2}, "keys": [{"models": ["*"], "value": "x"}]});
        assert_ne!(h.hash(&a), h.hash(&c));
        assert_eq!(h.hash(&a).len(), 32);
        // Array order is meaningful (key order decides generated ids and ties).
        assert_ne!(h.hash(&json!([1, 2])), h.hash(&json!([2, 1])));
    }

    #[test]
    fn keyed_per_store() {
        let v = json!({"value": "sk-secret"});
        assert_ne!(
            SectionHasher::new([1; 16]).hash(&v),
            SectionHasher::new([2; 16]).hash(&v)
        );
    }
}
