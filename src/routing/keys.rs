//! Key selection: which of a provider's keys serves a request.
//!
//! Bifrost's rules: a key must be enabled, have a value (unless the provider works without one),
//! not blacklist the model, and list the model in `models` (`"*"` = all; an empty list denies in
//! config version 2 and allows in version 1). Among those, `x-bf-api-key-id` / `x-bf-api-key` pin
//! one; otherwise a weighted random pick over `int(weight * 100)` (uniform when all weights are 0).

use foldhash::{HashMap, HashMapExt};

/// One usable key, compiled from the config.
#[derive(Clone, PartialEq)]
pub struct KeyEntry {
    /// Key id (`x-bf-api-key-id`).
    pub id: String,
    /// Key name (`x-bf-api-key`).
    pub name: String,
    /// The resolved secret.
    pub value: String,
    /// Models the key serves (`"*"` = all).
    pub models: Vec<String>,
    /// Models the key must never serve (wins over `models`).
    pub blacklisted_models: Vec<String>,
    /// Weight in hundredths, as Bifrost truncates it.
    pub weight_units: u64,
    /// Whether the key is enabled.
    pub enabled: bool,
    /// The only model this key serves (`vllm_key_config.model_name`: one server, one model).
    pub only_model: Option<String>,
    /// Models the key's `deployments` map (Azure, Bedrock, Vertex): when any are set, the key
    /// serves only those, as Bifrost's key filter does.
    pub deployed_models: Vec<String>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches logs.
        f.debug_struct("KeyEntry")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("models", &self.models)
            .field("weight_units", &self.weight_units)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// How an empty `models` list is read (config `version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyModels {
    /// Version 2 (default): an empty list allows nothing.
    Deny,
    /// Version 1: an empty list allows every model.
    Allow,
}

/// A key the client asked for by header.
#[derive(Debug, Clone, Copy)]
pub enum KeyPin<'a> {
    /// `x-bf-api-key-id`.
    Id(&'a str),
    /// `x-bf-api-key`.
    Name(&'a str),
}

/// Why no key could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key serves the model.
    #[error("no keys found that support model: {0}")]
    NoKeyForModel(String),
    /// The pinned key does not exist or cannot serve the model.
    #[error("key '{0}' not found or cannot serve the model")]
    PinnedNotFound(String),
    /// Every key serving the model was already tried and excluded.
    #[error("every key for the model was excluded")]
    Exhausted,
}

/// The keys of one provider, ready for selection.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<KeyEntry>,
    empty_models: EmptyModels,
    allows_empty_value: bool,
    /// Keys serving each model some key names (in `models`, `blacklisted_models` or as its only
    /// model), precomputed so a request scans its candidates instead of every key's lists.
    named: HashMap<Box<str>, Vec<usize>>,
    /// Keys serving every model no key names.
    wildcard: Vec<usize>,
}

impl KeyRing {
    /// Builds a ring; `allows_empty_value` is true for providers that work without a key value.
    pub fn new(keys: Vec<KeyEntry>, empty_models: EmptyModels, allows_empty_value: bool) -> Self {
        let mut ring = Self {
            keys,
            empty_models,
            allows_empty_value,
            named: HashMap::new(),
            wildcard: Vec::new(),
        };
        let mut names: Vec<&str> = Vec::new();
        for k in &ring.keys {
            names.extend(k.models.iter().map(String::as_str).filter(|m| *m != "*"));
            names.extend(k.blacklisted_models.iter().map(String::as_str));
            names.extend(k.only_model.as_deref());
            names.extend(k.deployed_models.iter().map(String::as_str));
        }
        let named: HashMap<Box<str>, Vec<usize>> = names
            .iter()
            .map(|m| (Box::from(*m), ring.serving(m)))
            .collect();
        // A model named nowhere is served exactly by the keys that serve any unnamed model.
        let wildcard = ring.serving("\u{0}unnamed model\u{0}");
        ring.named = named;
        ring.wildcard = wildcard;
        ring
    }

    fn serving(&self, model: &str) -> Vec<usize> {
        (0..self.keys.len())
            .filter(|&i| self.serves(&self.keys[i], model))
            .collect()
    }

    fn candidates(&self, model: &str) -> &[usize] {
        self.named.get(model).map_or(&self.wildcard, Vec::as_slice)
    }

    /// All keys, usable or not.
    pub fn keys(&self) -> &[KeyEntry] {
        &self.keys
    }

    /// The key at `index`.
    pub fn get(&self, index: usize) -> Option<&KeyEntry> {
        self.keys.get(index)
    }

    /// Whether key `k` may serve `model` at all.
    pub fn serves(&self, k: &KeyEntry, model: &str) -> bool {
        if !k.enabled || (k.value.is_empty() && !self.allows_empty_value) {
            return false;
        }
        if k.blacklisted_models.iter().any(|m| m == model) {
            return false;
        }
        if k.only_model.as_deref().is_some_and(|only| only != model) {
            return false;
        }
        if !k.deployed_models.is_empty() && !k.deployed_models.iter().any(|m| m == model) {
            return false;
        }
        if k.models.is_empty() {
            return self.empty_models == EmptyModels::Allow;
        }
        k.models.iter().any(|m| m == "*" || m == model)
    }

    /// How many keys may serve `model`.
    pub fn count_serving(&self, model: &str) -> usize {
        self.candidates(model).len()
    }

    /// Picks a key index for `model`, skipping the indices in `exclude` (keys already failed).
    pub fn select(
        &self,
        model: &str,
        pin: Option<KeyPin<'_>>,
        exclude: &[usize],
    ) -> Result<usize, KeyError> {
        if let Some(pin) = pin {
            let (found, label) = match pin {
                KeyPin::Id(id) => (self.keys.iter().position(|k| k.id == id), id),
                KeyPin::Name(name) => (self.keys.iter().position(|k| k.name == name), name),
            };
            return match found {
                Some(i) if self.serves(&self.keys[i], model) => {
                    if exclude.contains(&i) {
                        Err(KeyError::Exhausted)
                    } else {
                        Ok(i)
                    }
                }
                _ => Err(KeyError::PinnedNotFound(label.to_string())),
            };
        }
        let candidates = self.candidates(model);
        let usable = |i: &&usize| !exclude.contains(i);
        let mut count = 0usize;
        let mut total = 0u64;
        let mut only = 0usize;
        for &i in candidates.iter().filter(usable) {
            count += 1;
            total += self.keys[i].weight_units;
            only = i;
        }
        match count {
            0 if exclude.is_empty() => Err(KeyError::NoKeyForModel(model.to_string())),
            0 => Err(KeyError::Exhausted),
            1 => Ok(only),
            _ if total == 0 => candidates
                .iter()
                .filter(usable)
                .nth(fastrand::usize(..count))
                .copied()
                .ok_or(KeyError::Exhausted),
            _ => {
                let mut r = fastrand::u64(..total);
                for &i in candidates.iter().filter(usable) {
                    let w = self.keys[i].weight_units;
                    if r < w {
                        return Ok(i);
                    }
                    r -= w;
                }
                Ok(only)
            }
        }
    }
}

/// Converts a config weight to Bifrost's integer units (weights below 0.01 truncate to 0).
pub fn weight_units(weight: f64) -> u64 {
    if weight.is_finite() && weight > 0.0 {
        (weight * 100.0) as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, models: &[&str], weight: f64) -> KeyEntry {
        KeyEntry {
            id: format!("id-{name}"),
            name: name.to_string(),
            value: format!("sk-{name}"),
            models: models.iter().map(|s| s.to_string()).collect(),
            blacklisted_models: vec![],
            weight_units: weight_units(weight),
            enabled: true,
            only_model: None,
            deployed_models: vec![],
        }
    }

    #[test]
    fn filters_by_models_and_blacklist() {
        let mut b = key("b", &["*"], 1.0);
        b.blacklisted_models = vec!["gpt-4o".into()];
        let ring = KeyRing::new(
            vec![key("a", &["gpt-4o-mini"], 1.0), b, key("c", &[], 1.0)],
            EmptyModels::Deny,
            false,
        );
        assert_eq!(ring.count_serving("gpt-4o"), 0);
        assert_eq!(ring.count_serving("gpt-4o-mini"), 2);
        assert_eq!(
            ring.select("gpt-4o", None, &[]),
            Err(KeyError::NoKeyForModel("gpt-4o".into()))
        );
        let v1 = KeyRing::new(vec![key("c", &[], 1.0)], EmptyModels::Allow, false);
        assert_eq!(v1.select("anything", None, &[]), Ok(0));
    }

    #[test]
    fn disabled_and_empty_values_skipped() {
        let mut a = key("a", &["*"], 1.0);
        a.enabled = false;
        let mut b = key("b", &["*"], 1.0);
        b.value.clear();
        let ring = KeyRing::new(vec![a.clone(), b.clone()], EmptyModels::Deny, false);
        assert!(ring.select("m", None, &[]).is_err());
        let keyless = KeyRing::new(vec![a, b], EmptyModels::Deny, true);
        assert_eq!(keyless.select("m", None, &[]), Ok(1));
    }

    #[test]
    fn weighted_pick_follows_weights() {
        let ring = KeyRing::new(
            vec![key("a", &["*"], 3.0), key("b", &["*"], 1.0)],
            EmptyModels::Deny,
            false,
        );
        let mut hits = [0u32; 2];
        for _ in 0..20_000 {
            hits[ring.select("m", None, &[]).expect("key")] += 1;
        }
        let share = f64::from(hits[0]) / 20_000.0;
        assert!((0.70..0.80).contains(&share), "share of a = {share}");
    }

    #[test]
    fn zero_weights_are_uniform_and_exclusion_rotates() {
        let ring = KeyRing::new(
            vec![key("a", &["*"], 0.0), key("b", &["*"], 0.0)],
            EmptyModels::Deny,
            false,
        );
        let mut seen = [false; 2];
        for _ in 0..200 {
            seen[ring.select("m", None, &[]).expect("key")] = true;
        }
        assert_eq!(seen, [true, true]);
        assert_eq!(ring.select("m", None, &[0]), Ok(1));
        assert_eq!(ring.select("m", None, &[0, 1]), Err(KeyError::Exhausted));
    }

    #[test]
    fn pins_by_name_and_id() {
        let ring = KeyRing::new(
            vec![key("a", &["*"], 1.0), key("b", &["x"], 1.0)],
            EmptyModels::Deny,
            false,
        );
        assert_eq!(ring.select("m", Some(KeyPin::Name("a")), &[]), Ok(0));
        assert_eq!(ring.select("x", Some(KeyPin::Id("id-b")), &[]), Ok(1));
        assert_eq!(
            ring.select("m", Some(KeyPin::Name("b")), &[]),
            Err(KeyError::PinnedNotFound("b".into()))
        );
        assert_eq!(
            ring.select("m", Some(KeyPin::Name("zzz")), &[]),
            Err(KeyError::PinnedNotFound("zzz".into()))
        );
    }

    #[test]
    fn single_model_keys_serve_only_their_model() {
        let mut a = key("a", &["*"], 1.0);
        a.only_model = Some("llama".into());
        let ring = KeyRing::new(vec![a, key("b", &["*"], 1.0)], EmptyModels::Deny, true);
        assert_eq!(ring.count_serving("llama"), 2);
        assert_eq!(ring.select("qwen", None, &[]), Ok(1));
    }

    #[test]
    fn keys_with_deployments_serve_only_the_models_they_map() {
        let mut a = key("a", &["*"], 1.0);
        a.deployed_models = vec!["gpt-4o".into(), "gpt-4o-mini".into()];
        let ring = KeyRing::new(vec![a, key("b", &["gpt-4o"], 1.0)], EmptyModels::Deny, true);
        assert_eq!(ring.count_serving("gpt-4o"), 2);
        assert_eq!(ring.count_serving("gpt-4o-mini"), 1);
        assert_eq!(ring.select("gpt-4o-mini", None, &[]), Ok(0));
        // `models: ["*"]` does not widen a deployments map.
        assert_eq!(ring.count_serving("o3"), 0);
    }

    #[test]
    fn debug_hides_secret() {
        let k = key("a", &["*"], 1.0);
        assert!(!format!("{k:?}").contains("sk-a"));
    }
}
