//! A plugin entry as configured (`plugins[]` in config.json, or a stored row), and its placement.

use serde::Deserialize;

/// Where a plugin runs relative to the built-in plugins (Bifrost's `placement`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Before every built-in plugin.
    PreBuiltin,
    /// Among the built-in plugins, by `order`.
    Builtin,
    /// After every built-in plugin (the default for custom plugins).
    #[default]
    PostBuiltin,
}

impl Placement {
    /// Bifrost's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::PreBuiltin => "pre_builtin",
            Placement::Builtin => "builtin",
            Placement::PostBuiltin => "post_builtin",
        }
    }

    /// Parses Bifrost's spelling.
    pub fn parse(s: &str) -> Option<Placement> {
        match s {
            "pre_builtin" => Some(Placement::PreBuiltin),
            "builtin" => Some(Placement::Builtin),
            "post_builtin" => Some(Placement::PostBuiltin),
            _ => None,
        }
    }
}

/// One plugin entry: `{name, enabled, path?, config?, placement?, order?}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginSpec {
    /// Name of the entry (the key of `/api/plugins/{name}`).
    pub name: String,
    /// Whether the plugin runs (Go's zero value when absent: false).
    #[serde(default)]
    pub enabled: bool,
    /// Path of the library (contains a `/`); `None` for built-in plugins.
    #[serde(default)]
    pub path: Option<String>,
    /// Plugin-specific config, passed to `config_new` as JSON (`null` when absent).
    #[serde(default)]
    pub config: serde_json::Value,
    /// Placement group (DB-backed metadata; default `post_builtin`).
    #[serde(default)]
    pub placement: Option<Placement>,
    /// Position within the group, lower first (DB-backed metadata; default 0).
    #[serde(default)]
    pub order: Option<i32>,
}
