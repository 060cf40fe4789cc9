//! Seeding the store from `config.json`, section by section, like Bifrost's `config_hash`.
//!
//! The store remembers, per section, the hash of what `config.json` had when it last seeded it.
//! On start:
//!
//! ```text
//! file section, hash differs from the remembered one (or none) -> re-seed it from the file
//! file section, same hash                                      -> keep the store (admin edits,
//!                                                                 deletions included)
//! remembered section the file no longer has                     -> drop it from the store
//! section the file never had (created through the API)          -> keep it
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::SectionWrite;
use super::hash::SectionHasher;
use super::sections::{AUTH, is_file_section};

/// What seeding will do.
#[derive(Debug, Default)]
pub struct SeedPlan {
    /// The writes, to apply in one transaction.
    pub writes: Vec<SectionWrite>,
    /// Sections (re)written from the file.
    pub reseeded: Vec<String>,
    /// Sections removed because the file no longer has them.
    pub dropped: Vec<String>,
}

/// Plans the seeding of `file` (from [`super::sections::split`]) over the remembered `hashes`.
/// The `auth` section is left to the caller (its password is compared through its hash).
pub fn plan(
    file: &BTreeMap<String, Value>,
    hashes: &BTreeMap<String, String>,
    hasher: &SectionHasher,
) -> SeedPlan {
    let mut p = SeedPlan::default();
    for (name, v) in file {
        let h = hasher.hash(v);
        if hashes.get(name) != Some(&h) {
            p.writes.push(SectionWrite::Put(name.clone(), v.clone()));
            p.writes.push(SectionWrite::SetHash(name.clone(), h));
            p.reseeded.push(name.clone());
        }
    }
    for name in hashes.keys() {
        if name != AUTH && is_file_section(name) && !file.contains_key(name) {
            p.writes.push(SectionWrite::Delete(name.clone()));
            p.writes.push(SectionWrite::ForgetHash(name.clone()));
            p.dropped.push(name.clone());
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn first_start_seeds_everything() {
        let h = SectionHasher::new([3; 16]);
        let f = file(&[
            ("client", json!({})),
            ("providers/openai", json!({"keys": []})),
        ]);
        let p = plan(&f, &BTreeMap::new(), &h);
        assert_eq!(p.reseeded, ["client", "providers/openai"]);
        assert!(p.dropped.is_empty());
        assert_eq!(p.writes.len(), 4);
    }

    #[test]
    fn unchanged_sections_keep_the_store_changed_ones_reseed() {
        let h = SectionHasher::new([3; 16]);
        let old = file(&[
            ("client", json!({})),
            ("providers/openai", json!({"keys": []})),
            ("providers/groq", json!({"keys": []})),
        ]);
        let hashes: BTreeMap<String, String> = old
            .iter()
            .map(|(k, v)| (k.clone(), h.hash(v)))
            .chain([("proxy_config".to_string(), "x".to_string())])
            .collect();
        let new = file(&[
            ("client", json!({})),
            ("providers/openai", json!({"keys": [{"value": "sk-new"}]})),
            ("providers/mistral", json!({"keys": []})),
        ]);
        let p = plan(&new, &hashes, &h);
        assert_eq!(p.reseeded, ["providers/mistral", "providers/openai"]);
        assert_eq!(p.dropped, ["providers/groq"], "removed from the file");
        assert!(
            p.writes
                .iter()
                .all(|w| !matches!(w, SectionWrite::Put(n, _) if n == "client"))
        );
    }
}
