//! `noop`: every hook present, none doing anything. Measures the hook chain's own cost
//! (`benches/plugin_chain.rs`).
//!
//! Build: `cargo build --release -p ringway-plugins-abi --example noop`.

use ringway_plugins_abi::export_plugin;
use ringway_plugins_abi::sdk::{Config, Fault, HookSet, Host, Instance, Plugin};

/// The plugin (no state).
struct Noop;

/// One core's instance (no state); every hook keeps its default: continue, no edits.
struct NoopCore;

impl Plugin for Noop {
    const NAME: &'static str = "noop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HOOKS: HookSet = HookSet::ALL;
    type Instance = NoopCore;

    fn new(_config: Config<'_>, _host: &Host<'_>) -> Result<Self, Fault> {
        Ok(Noop)
    }

    fn instance(&self, _core: u32) -> Result<NoopCore, Fault> {
        Ok(NoopCore)
    }
}

impl Instance for NoopCore {}

export_plugin!(Noop);
