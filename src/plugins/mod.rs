//! Native plugins: loading libraries behind the stable C ABI (`ringway-plugins-abi`), one
//! instance per core, and the hook chain a request runs through.
//!
//! ```text
//! control thread   PluginSet::load(&specs) / LoadedPlugin::load(path, &config)
//!                    copy to a unique temp path -> dlopen -> ABI check -> config_new
//!                  publish Arc<PluginSet> with the config generation
//! each worker      CorePlugins::chain_for(&set) -> Rc<HookChain>   (instances built on first
//!                    use of a new set, unchanged plugins carried over)
//! each request     let mut run = chain.start();
//!                  run.http_pre(&req)    Continue(edits) | Respond(reply) | Reject | Err
//!                  run.pre_llm(&llm)     Continue{body} | Respond | Reject | Stream | Err
//!                  (provider call unless short-circuited; fallbacks call pre_llm again)
//!                  run.post_llm(&ctx, &mut reply)       reverse, plugins pre_llm reached
//!                  run.stream_chunk(&event)             per SSE event of a streamed reply
//!                  run.http_post(&req, &mut reply)      reverse, plugins http_pre reached
//! ```
//!
//! A plugin that panics or reports a failure gets its instance disabled on that core and
//! counted ([`LoadedPlugin::failures`]); the request gets Bifrost's error JSON with status 500
//! ([`PluginError::reply`]); the process and the other requests go on. A deliberate refusal
//! ([`PluginReject`]) keeps the status the plugin chose.
//!
//! Libraries are unloaded only when nothing can reach them: a request's [`ChainRun`] holds its
//! chain, a chain holds its instances and its set, and every instance and set entry holds an
//! `Arc` of its [`LoadedPlugin`], which owns the library.

mod chain;
mod error;
mod host_api;
mod instance;
mod library;
mod loaded;
mod render;
mod set;
mod spec;
mod views;

#[cfg(test)]
mod tests;

pub use chain::{ChainRun, CorePlugins, HookChain};
pub use error::{Hook, PluginError};
pub use instance::PluginInstance;
pub use loaded::LoadedPlugin;
pub use set::{PluginSet, SetEntry};
pub use spec::{Placement, PluginSpec};
pub use views::{
    ChunkOutcome, HeaderPairs, HttpPreOutcome, HttpRequestView, LlmRequestView, PluginReject,
    PluginStream, PreLlmOutcome, RequestEdits,
};
