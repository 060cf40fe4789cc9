//! The stable C ABI between ringway and its native plugins, and a safe Rust SDK to write them.
//!
//! - [`abi`]: the `#[repr(C)]` types, constants and function tables (the C header
//!   `include/ringway_plugin.h` mirrors it, checked by a test).
//! - [`sdk`]: the [`sdk::Plugin`] / [`sdk::Instance`] traits and [`export_plugin!`], which
//!   generates the exports with `catch_unwind` around each.
//!
//! A plugin is a shared library exporting one symbol, `ringway_plugin_entry`, that returns a
//! size-prefixed, versioned [`abi::RwPluginDescriptor`]. The host refuses another ABI major and
//! accepts any minor: fields and functions are only ever appended, and a function missing from
//! an older plugin counts as not implemented. Data flows host -> plugin as borrowed views and
//! plugin -> host through host callbacks that copy, so neither side frees the other's memory.
//!
//! Example plugins (`cargo build --release -p ringway-plugins-abi --example stamp`): `stamp`,
//! `noop`, and a C plugin in `examples/c/`.

pub mod abi;
pub mod sdk;
