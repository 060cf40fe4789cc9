//! The loaded plugins of one config generation, in execution order.

use std::sync::Arc;

use super::error::PluginError;
use super::loaded::LoadedPlugin;
use super::spec::{Placement, PluginSpec};

/// One plugin of a set, with its entry name and position.
#[derive(Debug, Clone)]
pub struct SetEntry {
    /// Name of the entry (may differ from the name the plugin declares).
    pub name: String,
    /// The loaded plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// Placement group.
    pub placement: Placement,
    /// Position within the group, lower first.
    pub order: i32,
    /// Registration sequence: breaks ties within a group.
    seq: u64,
}

impl SetEntry {
    /// An entry (its registration position is decided by the set it joins).
    pub fn new(
        name: impl Into<String>,
        plugin: Arc<LoadedPlugin>,
        placement: Placement,
        order: i32,
    ) -> Self {
        SetEntry {
            name: name.into(),
            plugin,
            placement,
            order,
            seq: 0,
        }
    }
}

/// An immutable set of loaded plugins, sorted for execution: by placement group
/// (`pre_builtin`, `builtin`, `post_builtin`), then ascending `order`, ties in registration
/// order. Publish a new set to change plugins; cores pick it up at their next request.
#[derive(Debug, Default)]
pub struct PluginSet {
    entries: Vec<SetEntry>,
}

impl PluginSet {
    /// A set without plugins.
    pub fn empty() -> Self {
        PluginSet::default()
    }

    /// A set of `entries`, given in registration order.
    pub fn new(entries: Vec<SetEntry>) -> Self {
        let mut entries: Vec<SetEntry> = entries
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e.seq = i as u64;
                e
            })
            .collect();
        sort(&mut entries);
        PluginSet { entries }
    }

    /// Loads every enabled entry that has a `path`, in order (blocking: a control thread's
    /// job). Entries without a path are built-ins and are not loaded here. Any failure fails the
    /// whole set, as Bifrost fails start-up when an enabled custom plugin does not load.
    pub fn load(specs: &[PluginSpec]) -> Result<Self, PluginError> {
        let mut entries = Vec::new();
        for spec in specs.iter().filter(|s| s.enabled) {
            let Some(path) = spec.path.as_deref() else {
                continue;
            };
            let plugin = LoadedPlugin::load(path, &spec.config)?;
            entries.push(SetEntry::new(
                spec.name.clone(),
                plugin,
                spec.placement.unwrap_or_default(),
                spec.order.unwrap_or(0),
            ));
        }
        Ok(PluginSet::new(entries))
    }

    /// The entries, in execution order (pre-hooks run in this order, post-hooks in reverse).
    pub fn entries(&self) -> &[SetEntry] {
        &self.entries
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&SetEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Number of plugins.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set has no plugins.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A new set where `entry` replaces the entry of the same name (keeping its registration
    /// position) or is registered last.
    pub fn with_entry(&self, mut entry: SetEntry) -> PluginSet {
        let mut entries = self.entries.clone();
        match entries.iter_mut().find(|e| e.name == entry.name) {
            Some(old) => {
                entry.seq = old.seq;
                *old = entry;
            }
            None => {
                entry.seq = entries.iter().map(|e| e.seq + 1).max().unwrap_or(0);
                entries.push(entry);
            }
        }
        sort(&mut entries);
        PluginSet { entries }
    }

    /// A new set without the entry named `name`.
    pub fn without(&self, name: &str) -> PluginSet {
        PluginSet {
            entries: self
                .entries
                .iter()
                .filter(|e| e.name != name)
                .cloned()
                .collect(),
        }
    }
}

fn sort(entries: &mut [SetEntry]) {
    entries.sort_by_key(|e| (e.placement, e.order, e.seq));
}
