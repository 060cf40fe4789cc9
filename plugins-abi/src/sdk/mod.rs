//! The safe Rust SDK: implement [`Plugin`] and [`Instance`], then `export_plugin!(MyPlugin)`.
//!
//! ```ignore
//! use ringway_plugins_abi::sdk::{Action, Config, Cx, Fault, Host, HookSet, Instance, Plugin};
//! use ringway_plugins_abi::sdk::{HttpRequest, HttpResponse};
//!
//! struct Hello;
//! struct HelloCore;
//!
//! impl Plugin for Hello {
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = "0.1.0";
//!     const HOOKS: HookSet = HookSet::HTTP_POST;
//!     type Instance = HelloCore;
//!     fn new(_config: Config<'_>, _host: &Host<'_>) -> Result<Self, Fault> { Ok(Hello) }
//!     fn instance(&self, _core: u32) -> Result<HelloCore, Fault> { Ok(HelloCore) }
//! }
//!
//! impl Instance for HelloCore {
//!     fn http_post(&mut self, cx: &mut Cx<'_>, _: &HttpRequest<'_>, _: &HttpResponse<'_>)
//!         -> Result<Action, Fault> {
//!         cx.set_header("x-hello", "world");
//!         Ok(Action::Continue)
//!     }
//! }
//!
//! ringway_plugins_abi::export_plugin!(Hello);
//! ```
//!
//! The macro exports `ringway_plugin_entry`; every function the descriptor points at is a
//! generic wrapper of [`export`] that catches panics (a panic becomes [`Action`]-level failure:
//! the host answers 500 and disables the instance on that core).

mod cx;
pub mod export;
mod views;

pub use cx::{Cx, Host, Level};
pub use views::{Config, HttpRequest, HttpResponse, LlmRequest, LlmResponse, StreamChunk};

use crate::abi;

/// What a hook asks the host to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Go on; edits made through [`Cx`] apply to the message at hand.
    Continue,
    /// Answer with the response built through [`Cx`] (short-circuit in pre hooks).
    Respond,
    /// Answer with the error set by [`Cx::reject`].
    Reject,
    /// (`pre_llm`) answer with the events pushed through [`Cx::push_chunk`].
    Stream,
    /// (`stream_chunk`) drop this event.
    Skip,
}

impl Action {
    /// The ABI code of the action.
    #[inline]
    pub const fn code(self) -> u32 {
        match self {
            Action::Continue => abi::RW_CONTINUE,
            Action::Respond => abi::RW_RESPOND,
            Action::Reject => abi::RW_REJECT,
            Action::Stream => abi::RW_STREAM,
            Action::Skip => abi::RW_SKIP,
        }
    }
}

/// A plugin failure (not a deliberate refusal: use [`Cx::reject`] for that). The host answers
/// 500, disables the instance on that core and counts it. `?` converts any displayable error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault(pub String);

impl Fault {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Fault(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

// `Fault` is deliberately not `Display`, so this does not overlap with `From<Fault> for Fault`.
impl<E: core::fmt::Display> From<E> for Fault {
    fn from(e: E) -> Self {
        Fault(e.to_string())
    }
}

/// The hooks a plugin implements: the others are exported as null, so the host skips them at
/// no cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookSet(u32);

impl HookSet {
    /// No hook.
    pub const NONE: HookSet = HookSet(0);
    /// [`Instance::http_pre`].
    pub const HTTP_PRE: HookSet = HookSet(1);
    /// [`Instance::pre_llm`].
    pub const PRE_LLM: HookSet = HookSet(2);
    /// [`Instance::post_llm`].
    pub const POST_LLM: HookSet = HookSet(4);
    /// [`Instance::http_post`].
    pub const HTTP_POST: HookSet = HookSet(8);
    /// [`Instance::stream_chunk`].
    pub const STREAM_CHUNK: HookSet = HookSet(16);
    /// Every hook.
    pub const ALL: HookSet = HookSet(31);

    /// Both sets.
    pub const fn with(self, other: HookSet) -> HookSet {
        HookSet(self.0 | other.0)
    }

    /// Whether every hook of `other` is in `self`.
    pub const fn contains(self, other: HookSet) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A plugin's shared state, built once from its config on a control thread and read by every
/// core (hence `Send + Sync`).
pub trait Plugin: Sized + Send + Sync + 'static {
    /// The plugin's name.
    const NAME: &'static str;
    /// The plugin's version string.
    const VERSION: &'static str;
    /// The hooks [`Plugin::Instance`] implements (default: all).
    const HOOKS: HookSet = HookSet::ALL;
    /// The per-core instance type.
    type Instance: Instance;

    /// Builds the plugin from its JSON config (`null` when none was given).
    fn new(config: Config<'_>, host: &Host<'_>) -> Result<Self, Fault>;

    /// Builds the instance for worker `core`, on that worker's thread.
    fn instance(&self, core: u32) -> Result<Self::Instance, Fault>;
}

/// One core's instance: hooks run on that core only, one at a time (hence `&mut self`).
///
/// Every hook defaults to [`Action::Continue`] without edits.
pub trait Instance: 'static {
    /// HTTP transport pre-hook (before the request is parsed): may edit the request's headers and
    /// body, or answer it ([`Action::Respond`], [`Action::Reject`]).
    fn http_pre(&mut self, cx: &mut Cx<'_>, req: &HttpRequest<'_>) -> Result<Action, Fault> {
        let _ = (cx, req);
        Ok(Action::Continue)
    }

    /// Pre-LLM hook: may replace the request body ([`Cx::set_body`] + [`Action::Continue`]) or
    /// short-circuit with a response, an error or a stream.
    fn pre_llm(&mut self, cx: &mut Cx<'_>, req: &LlmRequest<'_>) -> Result<Action, Fault> {
        let _ = (cx, req);
        Ok(Action::Continue)
    }

    /// Post-LLM hook: may edit or replace the response, or turn it into an error (and back).
    fn post_llm(&mut self, cx: &mut Cx<'_>, res: &LlmResponse<'_>) -> Result<Action, Fault> {
        let _ = (cx, res);
        Ok(Action::Continue)
    }

    /// HTTP transport post-hook: may add or change response headers, status and body.
    fn http_post(
        &mut self,
        cx: &mut Cx<'_>,
        req: &HttpRequest<'_>,
        res: &HttpResponse<'_>,
    ) -> Result<Action, Fault> {
        let _ = (cx, req, res);
        Ok(Action::Continue)
    }

    /// Once per event of a streamed response: may replace it, drop it, or end the stream with an
    /// error.
    fn stream_chunk(&mut self, cx: &mut Cx<'_>, chunk: &StreamChunk<'_>) -> Result<Action, Fault> {
        let _ = (cx, chunk);
        Ok(Action::Continue)
    }
}
