//! One core's hook chain, and one request's run through it.
//!
//! A [`HookChain`] holds this core's instances of a [`PluginSet`], in execution order. A request
//! starts a [`ChainRun`], which runs pre-hooks in order and post-hooks in reverse, the latter
//! only for plugins whose pre-hook was reached (Bifrost's rule: after a short-circuit at plugin
//! `i`, post-hooks run for plugins `i..=0`). The HTTP transport pair and the LLM pair count
//! separately.
//!
//! Cost: a plugin that changes nothing costs one indirect call, a few stores into stack structs
//! and no allocation. Header lists are exposed to plugins through a per-core scratch array,
//! filled once per hook pass (and again only after a plugin changed headers).

use std::cell::{Cell, RefCell, RefMut};
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use ringway_plugins_abi::abi::{
    RW_CONTINUE, RW_FAIL, RW_FLAG_ERROR, RW_FLAG_STREAM, RW_REJECT, RW_RESPOND, RW_SKIP, RW_STREAM,
    RwBytes, RwCall, RwHeader, RwHttpRequest, RwHttpResponse, RwLlmRequest, RwLlmResponse, RwStr,
    RwStreamChunk, size_u32,
};

use super::error::{Hook, PluginError};
use super::host_api::OutState;
use super::instance::PluginInstance;
use super::render;
use super::set::PluginSet;
use super::views::{
    ChunkOutcome, HeaderPairs, HttpPreOutcome, HttpRequestView, LlmRequestView, PluginReject,
    PluginStream, PreLlmOutcome, RequestEdits, apply_header_edits, apply_request_header_edits,
    reply_from,
};
use crate::error::ErrorContext;
use crate::server::reply::{Reply, ReplyBody};

/// Default headers of a reply a plugin builds.
const JSON_HEADERS: &[(&str, &str)] = &[("content-type", "application/json")];
/// Default headers of a stream a plugin answers with.
const SSE_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
];
/// Per-request slots kept inline (more plugins than this use one allocation per request).
const INLINE_SLOTS: usize = 8;

/// This core's plugin instances for one [`PluginSet`], in execution order (`!Send`).
pub struct HookChain {
    core: u32,
    set: Arc<PluginSet>,
    instances: Box<[Rc<PluginInstance>]>,
    next_request: Cell<u64>,
    request_headers: RefCell<Vec<RwHeader>>,
    response_headers: RefCell<Vec<RwHeader>>,
}

impl HookChain {
    /// A chain without plugins.
    pub fn empty(core: u32) -> Self {
        Self::with_instances(core, Arc::new(PluginSet::empty()), Vec::new())
    }

    /// Builds the chain of `set` for worker `core`, on that worker's thread. Instances of
    /// plugins that `previous` already has (the same loaded plugin) carry over with their
    /// state; the others are created. A plugin whose instance cannot be created is left out of
    /// this core's chain and its error returned (it is also counted on the plugin).
    pub fn build(
        set: &Arc<PluginSet>,
        core: u32,
        previous: Option<&HookChain>,
    ) -> (HookChain, Vec<PluginError>) {
        let mut instances = Vec::with_capacity(set.len());
        let mut errors = Vec::new();
        for entry in set.entries() {
            let carried = previous.and_then(|p| {
                p.instances
                    .iter()
                    .find(|i| Arc::ptr_eq(i.plugin(), &entry.plugin))
            });
            if let Some(inst) = carried {
                instances.push(Rc::clone(inst));
                continue;
            }
            match entry.plugin.instance_for_core(core) {
                Ok(inst) => instances.push(Rc::new(inst)),
                Err(e) => errors.push(e),
            }
        }
        (
            Self::with_instances(core, Arc::clone(set), instances),
            errors,
        )
    }

    fn with_instances(core: u32, set: Arc<PluginSet>, instances: Vec<Rc<PluginInstance>>) -> Self {
        HookChain {
            core,
            set,
            instances: instances.into_boxed_slice(),
            next_request: Cell::new(0),
            request_headers: RefCell::new(Vec::new()),
            response_headers: RefCell::new(Vec::new()),
        }
    }

    /// The worker this chain belongs to.
    pub fn core(&self) -> u32 {
        self.core
    }

    /// The set the chain was built from.
    pub fn set(&self) -> &Arc<PluginSet> {
        &self.set
    }

    /// The instances, in execution order.
    #[inline]
    pub fn instances(&self) -> &[Rc<PluginInstance>] {
        &self.instances
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether the chain has no instances (callers may skip the hooks entirely).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Starts one request's run through the chain (keeps the chain, and so its libraries, alive
    /// until the run is dropped).
    pub fn start(self: &Rc<Self>) -> ChainRun {
        let n = self.next_request.get();
        self.next_request.set(n.wrapping_add(1));
        ChainRun {
            chain: Rc::clone(self),
            // Unique per process: the core in the top bits, a per-core counter below.
            id: (u64::from(self.core) << 40) | (n & ((1 << 40) - 1)),
            slots: Slots::new(self.instances.len()),
            http_ran: 0,
            llm_ran: 0,
            failure: None,
        }
    }
}

/// One core's current chain, rebuilt when a new [`PluginSet`] is published (`!Send`).
pub struct CorePlugins {
    core: u32,
    current: RefCell<Rc<HookChain>>,
}

impl CorePlugins {
    /// Starts with an empty chain.
    pub fn new(core: u32) -> Self {
        CorePlugins {
            core,
            current: RefCell::new(Rc::new(HookChain::empty(core))),
        }
    }

    /// The chain for `set`: the current one if it was built from this very set (one pointer
    /// comparison), else a new one built now on this thread, carrying over unchanged instances.
    pub fn chain_for(&self, set: &Arc<PluginSet>) -> Rc<HookChain> {
        let previous = Rc::clone(&self.current.borrow());
        if Arc::ptr_eq(previous.set(), set) {
            return previous;
        }
        let (next, errors) = HookChain::build(set, self.core, Some(&previous));
        for e in errors {
            tracing::error!(core = self.core, "plugin left out on this core: {e}");
        }
        let next = Rc::new(next);
        *self.current.borrow_mut() = Rc::clone(&next);
        next
    }

    /// Installs a chain prepared with [`HookChain::build`] (two-phase reloads).
    pub fn install(&self, chain: Rc<HookChain>) {
        *self.current.borrow_mut() = chain;
    }

    /// The current chain.
    pub fn current(&self) -> Rc<HookChain> {
        Rc::clone(&self.current.borrow())
    }
}

/// Per-request words, one per plugin (`RwCall::slot`).
enum Slots {
    Inline([u64; INLINE_SLOTS]),
    Heap(Box<[u64]>),
}

impl Slots {
    fn new(n: usize) -> Self {
        if n <= INLINE_SLOTS {
            Slots::Inline([0; INLINE_SLOTS])
        } else {
            Slots::Heap(vec![0; n].into_boxed_slice())
        }
    }

    #[inline]
    fn ptr(&mut self, i: usize) -> *mut u64 {
        let slot = match self {
            Slots::Inline(a) => a.get_mut(i),
            Slots::Heap(b) => b.get_mut(i),
        };
        slot.map_or(ptr::null_mut(), |s| s as *mut u64)
    }
}

/// A header array lent to plugins; emptied when dropped so no pointer outlives the pass.
struct Scratch<'a> {
    shared: Option<RefMut<'a, Vec<RwHeader>>>,
    own: Vec<RwHeader>,
}

impl<'a> Scratch<'a> {
    #[inline]
    fn new(cell: &'a RefCell<Vec<RwHeader>>) -> Self {
        // Never busy (hooks cannot re-enter the chain); a private array keeps this panic-free.
        Scratch {
            shared: cell.try_borrow_mut().ok(),
            own: Vec::new(),
        }
    }

    #[inline]
    fn vec(&mut self) -> &mut Vec<RwHeader> {
        match &mut self.shared {
            Some(v) => v,
            None => &mut self.own,
        }
    }

    /// Points the array at `headers`, which must outlive every use of the array.
    fn fill<H: HeaderPairs + ?Sized>(&mut self, headers: &H) {
        let v = self.vec();
        v.clear();
        v.extend(headers.pairs().map(|(n, val)| RwHeader {
            name: RwStr::new(n),
            value: RwStr::new(val),
        }));
    }

    #[inline]
    fn raw(&mut self) -> (*const RwHeader, usize) {
        let v = self.vec();
        (v.as_ptr(), v.len())
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        self.vec().clear();
    }
}

/// Checks a hook's result code against what the hook may answer; a failure disables the
/// instance and becomes the error.
#[inline]
fn check(
    inst: &PluginInstance,
    hook: Hook,
    code: u32,
    allowed: &[u32],
    out: &mut OutState<'_>,
) -> Result<u32, PluginError> {
    if allowed.contains(&code) {
        return Ok(code);
    }
    let message = if code == RW_FAIL {
        out.error
            .take()
            .map_or_else(|| "the hook reported a failure".to_string(), |e| e.message)
    } else {
        format!("returned {code}, which {hook} does not accept")
    };
    Err(inst.fail(hook, message))
}

/// A full body's bytes, or none for a stream.
#[inline]
fn reply_body(reply: &Reply) -> (&[u8], bool) {
    match &reply.body {
        ReplyBody::Full(b) => (b, false),
        ReplyBody::Stream(_) => (&[], true),
    }
}

/// Applies a post-hook's edits (status, headers, body) to `reply`; true if headers changed.
fn edit_reply(out: &mut OutState<'_>, reply: &mut Reply) -> bool {
    if let Some(status) = out.status.take() {
        reply.status = status;
    }
    let headers_changed = !out.headers.is_empty();
    apply_header_edits(&mut reply.headers, &out.headers);
    if let Some(body) = out.body.take() {
        reply.body = ReplyBody::Full(body);
    }
    headers_changed
}

/// One request's passage through a [`HookChain`] (`!Send`; lives as long as the request).
///
/// Call order: [`ChainRun::http_pre`] -> [`ChainRun::pre_llm`] -> (provider) ->
/// [`ChainRun::post_llm`] (and [`ChainRun::stream_chunk`] per event) -> [`ChainRun::http_post`].
/// Post-hooks run only for plugins the matching pre-hook pass reached, so skip nothing: call
/// the post pass even after a short-circuit or an error (it is a no-op when the pre pass was
/// never run).
pub struct ChainRun {
    chain: Rc<HookChain>,
    id: u64,
    slots: Slots,
    http_ran: usize,
    llm_ran: usize,
    failure: Option<PluginError>,
}

impl ChainRun {
    /// The request id plugins see.
    pub fn request_id(&self) -> u64 {
        self.id
    }

    /// The last plugin failure a post pass turned into an error reply (for logs and metrics).
    pub fn failure(&self) -> Option<&PluginError> {
        self.failure.as_ref()
    }

    #[inline]
    fn call(&mut self, i: usize) -> RwCall {
        RwCall {
            size: size_u32::<RwCall>(),
            core: self.chain.core,
            request_id: self.id,
            slot: self.slots.ptr(i),
        }
    }

    /// HTTP transport pre-hooks, in order. A plugin may edit the request (later plugins see
    /// the edits; the caller applies [`RequestEdits`]), answer it, or refuse it. `Err` means a
    /// plugin failed (it is now disabled on this core): answer with [`PluginError::reply`], then
    /// still run [`ChainRun::http_post`].
    pub fn http_pre<H: HeaderPairs + ?Sized>(
        &mut self,
        req: &HttpRequestView<'_, H>,
    ) -> Result<HttpPreOutcome, PluginError> {
        let chain = Rc::clone(&self.chain);
        if chain.instances.is_empty() {
            return Ok(HttpPreOutcome::Continue(RequestEdits::default()));
        }
        let mut headers: Option<Vec<(String, String)>> = None;
        let mut body: Option<Bytes> = None;
        let mut scratch = Scratch::new(&chain.request_headers);
        let mut filled = false;
        let mut out = OutState::new("");
        for (i, inst) in chain.instances.iter().enumerate() {
            self.http_ran = i + 1;
            let Some(hook) = inst.plugin().fns().http_pre else {
                continue;
            };
            if inst.is_disabled() {
                continue;
            }
            if !filled {
                match &headers {
                    Some(h) => scratch.fill(h.as_slice()),
                    None => scratch.fill(req.headers),
                }
                filled = true;
            }
            let (hp, hn) = scratch.raw();
            let raw = RwHttpRequest {
                size: size_u32::<RwHttpRequest>(),
                flags: 0,
                method: RwStr::new(req.method),
                path: RwStr::new(req.path),
                query: RwStr::new(req.query),
                headers: hp,
                headers_len: hn,
                body: RwBytes::new(body.as_deref().unwrap_or(req.body)),
            };
            let call = self.call(i);
            out.plugin = inst.plugin().name();
            // SAFETY: per the ABI, everything passed is valid for the call: the instance made on
            // this thread, the call facts, the request (pointing into `req`, `headers`, `body`
            // and the scratch array, all alive and unchanged until the call returns) and `out`.
            let code = unsafe { hook(inst.raw(), &call, &raw, out.as_out()) };
            let allowed = [RW_CONTINUE, RW_RESPOND, RW_REJECT];
            let code = match check(inst, Hook::HttpPre, code, &allowed, &mut out) {
                Ok(c) => c,
                Err(e) => {
                    self.http_ran = i;
                    return Err(e);
                }
            };
            match code {
                RW_CONTINUE => {
                    if !out.headers.is_empty() {
                        let list = headers.get_or_insert_with(|| {
                            req.headers
                                .pairs()
                                .map(|(n, v)| (n.to_string(), v.to_string()))
                                .collect()
                        });
                        apply_request_header_edits(list, &out.headers);
                        filled = false;
                    }
                    if let Some(b) = out.body.take() {
                        body = Some(b);
                    }
                    out.clear();
                }
                RW_RESPOND => {
                    let (status, headers, body) =
                        reply_from(out.status, &out.headers, out.body.take(), JSON_HEADERS);
                    return Ok(HttpPreOutcome::Respond(Reply {
                        status,
                        headers,
                        body,
                    }));
                }
                _ => {
                    let reject = PluginReject::from_parts(inst.plugin().name(), out.error.take());
                    return Ok(HttpPreOutcome::Reject(reject));
                }
            }
        }
        Ok(HttpPreOutcome::Continue(RequestEdits { headers, body }))
    }

    /// Pre-LLM hooks, in order. A plugin may replace the body (later plugins see it; the
    /// caller re-reads the request fields from [`PreLlmOutcome::Continue`]'s body) or
    /// short-circuit with a reply, a refusal or a stream; then the provider is not called, but
    /// [`ChainRun::post_llm`] still runs. `Err`: a plugin failed (now disabled on this core);
    /// answer with [`PluginError::reply`] and still run the post-hooks. On a fallback, call it
    /// again for the next provider.
    pub fn pre_llm<H: HeaderPairs + ?Sized>(
        &mut self,
        req: &LlmRequestView<'_, H>,
    ) -> Result<PreLlmOutcome, PluginError> {
        let chain = Rc::clone(&self.chain);
        self.llm_ran = 0;
        if chain.instances.is_empty() {
            return Ok(PreLlmOutcome::Continue { body: None });
        }
        let mut body: Option<Bytes> = None;
        let mut scratch = Scratch::new(&chain.request_headers);
        let mut filled = false;
        let mut out = OutState::new("");
        for (i, inst) in chain.instances.iter().enumerate() {
            self.llm_ran = i + 1;
            let Some(hook) = inst.plugin().fns().pre_llm else {
                continue;
            };
            if inst.is_disabled() {
                continue;
            }
            if !filled {
                scratch.fill(req.headers);
                filled = true;
            }
            let (hp, hn) = scratch.raw();
            let raw = RwLlmRequest {
                size: size_u32::<RwLlmRequest>(),
                flags: if req.stream { RW_FLAG_STREAM } else { 0 },
                request_type: RwStr::new(req.request_type),
                provider: RwStr::new(req.provider),
                model: RwStr::new(req.model),
                headers: hp,
                headers_len: hn,
                body: RwBytes::new(body.as_ref().unwrap_or(req.body)),
            };
            let call = self.call(i);
            out.plugin = inst.plugin().name();
            // SAFETY: as in `http_pre`.
            let code = unsafe { hook(inst.raw(), &call, &raw, out.as_out()) };
            let allowed = [RW_CONTINUE, RW_RESPOND, RW_REJECT, RW_STREAM];
            let code = match check(inst, Hook::PreLlm, code, &allowed, &mut out) {
                Ok(c) => c,
                Err(e) => {
                    self.llm_ran = i;
                    return Err(e);
                }
            };
            match code {
                RW_CONTINUE => {
                    if let Some(b) = out.body.take() {
                        body = Some(b);
                    }
                    out.clear();
                }
                RW_RESPOND => {
                    let (status, headers, body) =
                        reply_from(out.status, &out.headers, out.body.take(), JSON_HEADERS);
                    return Ok(PreLlmOutcome::Respond(Reply {
                        status,
                        headers,
                        body,
                    }));
                }
                RW_STREAM => {
                    let (status, headers, _) =
                        reply_from(out.status, &out.headers, None, SSE_HEADERS);
                    return Ok(PreLlmOutcome::Stream(PluginStream {
                        status,
                        headers,
                        events: std::mem::take(&mut out.chunks),
                    }));
                }
                _ => {
                    let reject = PluginReject::from_parts(inst.plugin().name(), out.error.take());
                    return Ok(PreLlmOutcome::Reject(reject));
                }
            }
        }
        Ok(PreLlmOutcome::Continue { body })
    }

    /// Post-LLM hooks, in reverse, for the plugins the last [`ChainRun::pre_llm`] pass reached.
    /// `reply` is the provider's answer, the short-circuit reply, or an error reply
    /// (`status >= 400` counts as an error). Plugins may edit it, replace it with an error, or
    /// turn an error into a success. A plugin failure replaces `reply` with the 500 plugin error
    /// (see [`ChainRun::failure`]) and the remaining post-hooks still run.
    pub fn post_llm(&mut self, ctx: &ErrorContext, reply: &mut Reply) {
        let chain = Rc::clone(&self.chain);
        if self.llm_ran == 0 {
            return;
        }
        let mut scratch = Scratch::new(&chain.response_headers);
        let mut filled = false;
        let mut out = OutState::new("");
        let request_type = ctx.request_type.unwrap_or("");
        let provider = ctx.provider.as_deref().unwrap_or("");
        let model = ctx.model_requested.as_deref().unwrap_or("");
        for i in (0..self.llm_ran.min(chain.instances.len())).rev() {
            let inst = &chain.instances[i];
            let Some(hook) = inst.plugin().fns().post_llm else {
                continue;
            };
            if inst.is_disabled() {
                continue;
            }
            if !filled {
                scratch.fill(reply.headers.as_slice());
                filled = true;
            }
            let (hp, hn) = scratch.raw();
            let (body, stream) = reply_body(reply);
            let mut flags = if stream { RW_FLAG_STREAM } else { 0 };
            if reply.status >= 400 {
                flags |= RW_FLAG_ERROR;
            }
            let raw = RwLlmResponse {
                size: size_u32::<RwLlmResponse>(),
                status: u32::from(reply.status),
                flags,
                reserved: 0,
                request_type: RwStr::new(request_type),
                provider: RwStr::new(provider),
                model: RwStr::new(model),
                headers: hp,
                headers_len: hn,
                body: RwBytes::new(body),
            };
            let call = self.call(i);
            out.plugin = inst.plugin().name();
            // SAFETY: as in `http_pre`; `reply` is not touched until the call returns.
            let code = unsafe { hook(inst.raw(), &call, &raw, out.as_out()) };
            let allowed = [RW_CONTINUE, RW_RESPOND, RW_REJECT];
            match check(inst, Hook::PostLlm, code, &allowed, &mut out) {
                Ok(RW_CONTINUE) => {
                    if out.touched {
                        filled &= !edit_reply(&mut out, reply);
                    }
                }
                Ok(RW_RESPOND) => {
                    let status_set = out.status.is_some();
                    filled &= !edit_reply(&mut out, reply);
                    if !status_set && reply.status >= 400 {
                        reply.status = 200;
                    }
                }
                Ok(_) => {
                    let reject = PluginReject::from_parts(inst.plugin().name(), out.error.take());
                    *reply = reject.reply(ctx);
                    filled = false;
                }
                Err(e) => {
                    *reply = e.reply(ctx);
                    self.failure = Some(e);
                    filled = false;
                }
            }
            out.clear();
        }
    }

    /// Stream hooks for one event, in reverse, for the plugins the last pre-LLM pass reached.
    pub fn stream_chunk(&mut self, event: &Bytes) -> ChunkOutcome {
        let chain = Rc::clone(&self.chain);
        let mut current: Option<Bytes> = None;
        let mut out = OutState::new("");
        for i in (0..self.llm_ran.min(chain.instances.len())).rev() {
            let inst = &chain.instances[i];
            let Some(hook) = inst.plugin().fns().stream_chunk else {
                continue;
            };
            if inst.is_disabled() {
                continue;
            }
            let raw = RwStreamChunk {
                size: size_u32::<RwStreamChunk>(),
                reserved: 0,
                event: RwBytes::new(current.as_ref().unwrap_or(event)),
            };
            let call = self.call(i);
            out.plugin = inst.plugin().name();
            // SAFETY: as in `http_pre`.
            let code = unsafe { hook(inst.raw(), &call, &raw, out.as_out()) };
            let allowed = [RW_CONTINUE, RW_SKIP, RW_REJECT];
            match check(inst, Hook::StreamChunk, code, &allowed, &mut out) {
                Ok(RW_CONTINUE) => {
                    if let Some(b) = out.body.take() {
                        current = Some(b);
                    }
                }
                Ok(RW_SKIP) => return ChunkOutcome::Skip,
                Ok(_) => {
                    let reject = PluginReject::from_parts(inst.plugin().name(), out.error.take());
                    let body = reject.to_bifrost(&ErrorContext::default());
                    return ChunkOutcome::End(render::error_event(&body));
                }
                Err(e) => {
                    let body = e.to_bifrost(&ErrorContext::default());
                    self.failure = Some(e);
                    return ChunkOutcome::End(render::error_event(&body));
                }
            }
            out.clear();
        }
        match current {
            Some(b) => ChunkOutcome::Replace(b),
            None => ChunkOutcome::Send,
        }
    }

    /// HTTP transport post-hooks, in reverse, for the plugins the [`ChainRun::http_pre`] pass
    /// reached. Plugins may change the status, headers and body of `reply` (for a streamed
    /// reply, only status and headers matter unless a plugin replaces the body), or replace
    /// it with an error. A failure replaces `reply` with the 500 plugin error.
    pub fn http_post<H: HeaderPairs + ?Sized>(
        &mut self,
        req: &HttpRequestView<'_, H>,
        reply: &mut Reply,
    ) {
        let chain = Rc::clone(&self.chain);
        if self.http_ran == 0 {
            return;
        }
        let mut req_scratch = Scratch::new(&chain.request_headers);
        let mut res_scratch = Scratch::new(&chain.response_headers);
        let mut req_filled = false;
        let mut res_filled = false;
        let mut out = OutState::new("");
        for i in (0..self.http_ran.min(chain.instances.len())).rev() {
            let inst = &chain.instances[i];
            let Some(hook) = inst.plugin().fns().http_post else {
                continue;
            };
            if inst.is_disabled() {
                continue;
            }
            if !req_filled {
                req_scratch.fill(req.headers);
                req_filled = true;
            }
            if !res_filled {
                res_scratch.fill(reply.headers.as_slice());
                res_filled = true;
            }
            let (qp, qn) = req_scratch.raw();
            let (sp, sn) = res_scratch.raw();
            let raw_req = RwHttpRequest {
                size: size_u32::<RwHttpRequest>(),
                flags: 0,
                method: RwStr::new(req.method),
                path: RwStr::new(req.path),
                query: RwStr::new(req.query),
                headers: qp,
                headers_len: qn,
                body: RwBytes::new(req.body),
            };
            let (body, stream) = reply_body(reply);
            let raw_res = RwHttpResponse {
                size: size_u32::<RwHttpResponse>(),
                status: u32::from(reply.status),
                flags: if stream { RW_FLAG_STREAM } else { 0 },
                reserved: 0,
                headers: sp,
                headers_len: sn,
                body: RwBytes::new(body),
            };
            let call = self.call(i);
            out.plugin = inst.plugin().name();
            // SAFETY: as in `http_pre`; `reply` is not touched until the call returns.
            let code = unsafe { hook(inst.raw(), &call, &raw_req, &raw_res, out.as_out()) };
            let allowed = [RW_CONTINUE, RW_RESPOND, RW_REJECT];
            match check(inst, Hook::HttpPost, code, &allowed, &mut out) {
                Ok(RW_CONTINUE | RW_RESPOND) => {
                    if out.touched {
                        res_filled &= !edit_reply(&mut out, reply);
                    }
                }
                Ok(_) => {
                    let reject = PluginReject::from_parts(inst.plugin().name(), out.error.take());
                    *reply = reject.reply(&ErrorContext::default());
                    res_filled = false;
                }
                Err(e) => {
                    *reply = e.reply(&ErrorContext::default());
                    self.failure = Some(e);
                    res_filled = false;
                }
            }
            out.clear();
        }
    }
}
